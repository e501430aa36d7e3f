"""Sessions that do not need a third-party cookie.

Inside the LMS iframe many browsers drop third-party cookies, so after a valid LTI launch the page carries a
short-lived signed *launch token* on its own links (``?lt=``), forms (hidden ``lt``) and API calls
(``Authorization: Bearer``). The Flask session is rebuilt from that token on every request; it carries the
CSRF secret, so Flask-WTF works unchanged and a forged cross-site form, which cannot know the token, fails.

Pages outside the LMS (the demo LMS, the dynamic-registration page) have no launch token and fall back to an
ordinary first-party cookie session.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import Flask, Request, Response, g
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from lti_app.errors import NotAuthenticated

TOKEN_PARAM = "lt"
TOKEN_HEADER = "X-Tandem-Launch"
SALT = "tandem-launch-token"


class LaunchTokens:
    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SALT)
        self.ttl_seconds = ttl_seconds

    def issue(self, payload: dict[str, Any]) -> str:
        body = dict(payload)
        body.setdefault("csrf_token", secrets.token_hex(20))
        return self._serializer.dumps(body)

    def verify(self, token: str) -> tuple[dict[str, Any], float]:
        """The payload and its age in seconds, or ``NotAuthenticated`` saying what to do about it."""
        try:
            payload, issued = self._serializer.loads(token, max_age=self.ttl_seconds, return_timestamp=True)
        except SignatureExpired as exc:
            raise NotAuthenticated(
                "Your Tandem session has expired. Open Tandem again from your course.", code="launch_expired"
            ) from exc
        except BadSignature as exc:
            raise NotAuthenticated(
                "This link is not valid. Open Tandem again from your course.", code="launch_invalid"
            ) from exc
        return payload, time.time() - issued.timestamp()


def token_from_request(request: Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return (
        request.headers.get(TOKEN_HEADER)
        or request.args.get(TOKEN_PARAM)
        or (_form_token(request) if request.mimetype in _FORM_TYPES else None)
    )


def _form_token(request: Request) -> str | None:
    # The session opens before any view or before_request hook: reading an oversized body here would
    # escape the error handlers as a 500. Left unread, the body gets the clean 413 of web.security.
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        return None
    return request.form.get(TOKEN_PARAM)


_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


class LaunchSession(SecureCookieSession):
    """A session whose contents came from a launch token; never written to a cookie."""

    from_launch = True


class LaunchSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        token = token_from_request(request)
        if not token:
            return super().open_session(app, request)
        tokens: LaunchTokens = app.extensions["tandem.launch_tokens"]
        try:
            payload, age = tokens.verify(token)
        except NotAuthenticated as exc:
            # Remembered and raised by the first view that needs an actor: an expired link must explain itself.
            g.launch_error = exc
            return LaunchSession()
        session = LaunchSession(payload)
        # Sliding expiry: a page used for a while keeps working, an abandoned one expires.
        g.launch_token = tokens.issue(payload) if age > tokens.ttl_seconds / 2 else token
        return session

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        if getattr(session, "from_launch", False):
            return
        super().save_session(app, session, response)


def start_launch_session(app: Flask, payload: dict[str, Any]) -> str:
    """Called once a launch is verified: issue the token the rest of the visit carries."""
    tokens: LaunchTokens = app.extensions["tandem.launch_tokens"]
    token = tokens.issue(payload)
    g.launch_token = token
    return token
