"""Helpers for driving the feedback pages like a browser: launch token headers and the CSRF field."""

from __future__ import annotations

import re

from flask import Flask, g

from lti_app.services.access import Actor
from tests.support.launch import launch_token

_CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')


def launch_headers(app: Flask, actor: Actor) -> dict[str, str]:
    """Pages accept the launch token as a header too, so tests need not thread ``?lt=`` through links."""
    return {"X-Tandem-Launch": launch_token(app, actor)}


def forget_csrf() -> None:
    """Call when the next page is seen by someone else. The test's app context is reused by every request
    (it is already pushed), so Flask-WTF's per-request cache in ``g`` would hand the previous person's CSRF
    token to the next one; in production each request has its own context."""
    g.pop("csrf_token", None)


def form_token(response) -> str:  # type: ignore[no-untyped-def]
    found = _CSRF.search(response.data)
    assert found, "the page has no form with a CSRF token"
    return found.group(1).decode()
