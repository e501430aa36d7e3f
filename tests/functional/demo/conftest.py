"""Helpers for the demo LMS tests: set the demo up, follow its auto-submitting forms, serve it on loopback."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import jwt
import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from lti_app import create_app
from lti_app.crypto import SecretBox
from lti_app.demo_lms import store
from lti_app.extensions import db
from tests.conftest import make_settings

TOOL = "http://tool.test"
ISSUER = f"{TOOL}/demo"


@dataclass(frozen=True)
class Form:
    action: str
    method: str
    fields: dict[str, str]

    @property
    def path(self) -> str:
        """The action as a path the test client can request (the app is both tool and platform)."""
        parts = urlsplit(self.action)
        return parts.path + (f"?{parts.query}" if parts.query else "")


def form_of(page: str) -> Form:
    match = re.search(r'<form method="([^"]+)" action="([^"]+)" id="lti-handoff"', page)
    assert match, f"no hand-off form in: {page[:500]}"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
    return Form(unescape(match.group(2)), match.group(1), {k: unescape(v) for k, v in fields.items()})


@pytest.fixture()
def demo(app):  # type: ignore[no-untyped-def]
    setup = store.ensure_demo(db.session, app.extensions["tandem.settings"])
    db.session.commit()
    return setup


@pytest.fixture()
def tool_box(app) -> SecretBox:  # type: ignore[no-untyped-def]
    return SecretBox(app.extensions["tandem.settings"].secret_key)


def auth_request(login: Form, **overrides: str) -> dict[str, str]:
    """The OIDC authentication request a tool answers a login initiation with (Security Framework
    §5.1.1.2)."""
    params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": login.fields["client_id"],
        "redirect_uri": f"{TOOL}/lti/launch",
        "login_hint": login.fields["login_hint"],
        "lti_message_hint": login.fields["lti_message_hint"],
        "nonce": "nonce-123",
        "state": "state-456",
    }
    params.update(overrides)
    return params


def verify_id_token(client, token: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Check the id_token against the demo platform's published JWKS, as a tool does."""
    key_set = client.get("/demo/jwks").get_json()
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in key_set["keys"] if k["kid"] == kid)
    public = jwt.PyJWK(jwk).key
    return jwt.decode(token, public, algorithms=["RS256"], audience=store.CLIENT_ID, issuer=ISSUER)


def start_launch(client, user: str, **query: str) -> Form:  # type: ignore[no-untyped-def]
    response = client.get("/demo/launch", query_string={"user": user, **query})
    assert response.status_code == 200, response.data[:500]
    return form_of(response.get_data(as_text=True))


@contextmanager
def serving(database_url: str, tmp_path: Path, prepare: Callable[[Flask], object]) -> Iterator[str]:
    """Tandem with its demo LMS served on 127.0.0.1, as ``make run`` serves it (the tool fetches the demo's
    key set over HTTP, from itself); ``prepare`` sets the demo up in the served app first. Tables come from
    the ``app`` fixture, which also empties them afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    served = create_app(make_settings(database_url, tmp_path, base_url=base_url))
    with served.app_context():
        prepare(served)
        db.session.remove()
    server = make_server("127.0.0.1", port, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with served.app_context():
            db.session.remove()
            db.engine.dispose()


def follow(session: requests.Session, response: requests.Response) -> requests.Response:
    """Submit auto-submitting forms and follow redirects until a page that is neither."""
    for _ in range(10):
        if response.is_redirect:
            response = session.get(urljoin(response.url, response.headers["Location"]), allow_redirects=False)
            continue
        if 'id="lti-handoff"' in response.text:
            form = form_of(response.text)
            url = urljoin(response.url, form.action)
            if form.method == "get":
                response = session.get(url, params=form.fields, allow_redirects=False)
            else:
                response = session.post(url, data=form.fields, allow_redirects=False)
            continue
        return response
    raise AssertionError("too many hops")


def launch_in_browser(base_url: str, user_id: str, link: str = "demo-link-1") -> requests.Response:
    """Click "Open" on the demo page as ``user_id`` and land on Tandem's page (a fresh browser each time)."""
    with requests.Session() as browser:
        start = browser.get(f"{base_url}/demo/launch", params={"user": user_id, "link": link},
                            allow_redirects=False, timeout=30)
        return follow(browser, start)
