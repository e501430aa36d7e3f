"""Driving the mentoring pages as a launched person: links and forms carry the launch token, forms the
CSRF token a page of that launch would carry."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, g
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf

from lti_app.services.access import Actor
from tests.support.launch import launch_token


class Browser:
    def __init__(
        self, app: Flask, client: FlaskClient, actor: Actor | None = None, *, token: str = ""
    ) -> None:
        """Signed in as ``actor`` (a token made for the test) or with the ``token`` a real launch issued."""
        self.app, self.client, self.actor = app, client, actor
        self.token = token or launch_token(app, actor)  # type: ignore[arg-type]
        with app.test_request_context("/home", query_string={"lt": self.token}):
            # The test's app context is shared, and Flask-WTF caches the token on ``g``: forget the last one.
            g.pop("csrf_token", None)
            self.csrf = generate_csrf()
            g.pop("csrf_token", None)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, query_string={"lt": self.token, **params})

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True) -> Any:
        form: dict[str, Any] = {"lt": self.token, **(data or {})}
        if csrf:
            form["csrf_token"] = self.csrf
        return self.client.post(path, data=form)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        return getattr(self.client, method)(path, headers=headers, **kwargs)


def text(response: Any) -> str:
    """The page's visible text, tags dropped and spaces folded, for asserting on what people read."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()


def redirect_path(response: Any) -> str:
    return response.headers["Location"].split("?")[0]
