"""Helpers for the demo LMS tests: set the demo up, follow its auto-submitting forms."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest

from lti_app.crypto import SecretBox
from lti_app.demo_lms import store
from lti_app.extensions import db

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
