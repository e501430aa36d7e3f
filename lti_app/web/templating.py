"""Template helpers: links and forms that carry the launch token, so pages work without cookies."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from lti_app.web.launch_session import TOKEN_PARAM


def launch_url(endpoint: str, **values: Any) -> str:
    token = getattr(g, "launch_token", None)
    if token:
        values.setdefault(TOKEN_PARAM, token)
    return url_for(endpoint, **values)


def form_tokens() -> Markup:
    """Hidden fields every form needs: the CSRF token and, inside a launch, the launch token."""
    parts = [f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">']
    token = getattr(g, "launch_token", None)
    if token:
        parts.append(f'<input type="hidden" name="{TOKEN_PARAM}" value="{escape(token)}">')
    # Both values are escaped above; Markup only stops Jinja escaping the tags a second time.
    return Markup("".join(parts))  # noqa: S704


def init_templating(app: Flask) -> None:
    app.jinja_env.globals.update(launch_url=launch_url, form_tokens=form_tokens)
    app.jinja_env.autoescape = True
