"""Sessions that do not need a third-party cookie.

Inside the LMS iframe many browsers drop third-party cookies, so after a valid LTI launch the page carries a
short-lived signed *launch token* on its own links (``?lt=``), forms (hidden ``lt``) and API calls
(``Authorization: Bearer``). The Flask session is rebuilt from that token on every request; it carries the
CSRF secret, so Flask-WTF works unchanged and a forged cross-site form, which cannot know the token, fails.

A token in a URL can leak (a copied link, a proxy log), so it is bounded twice: it expires after
``launch_token_ttl_seconds`` unused (renewed while the page is used), and whatever the renewals it is
refused ``launch_token_max_age_seconds`` after the launch that issued it (``iat``, kept by every renewal).
No answer to a request under a launch token may be cached (``Cache-Control: no-store``). What the token
says about the person is only a claim: ``lti_app.web.auth.current_actor`` checks it against the database.

Pages outside the LMS (the demo LMS, the dynamic-registration page) have no launch token and fall back to an
ordinary first-party cookie session.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, Response, g
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from lti_app.errors import NotAuthenticated

if TYPE_CHECKING:
    from lti_app.services.access import Actor

TOKEN_PARAM = "lt"
TOKEN_HEADER = "X-Tandem-Launch"
SALT = "tandem-launch-token"
# When the launch that started the visit was accepted (epoch seconds); renewals keep it.
ISSUED_AT = "iat"


class LaunchTokens:
    def __init__(
        self,
        secret_key: str,
        ttl_seconds: int,
        max_age_seconds: int = 8 * 3600,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SALT, signer=_signer_on(clock))
        self.ttl_seconds = ttl_seconds
        self.max_age_seconds = max_age_seconds
        self._clock = clock

    def issue(self, payload: dict[str, Any]) -> str:
        """Sign ``payload``; a new visit gets its CSRF secret and issue time, a renewal keeps both."""
        body = dict(payload)
        body.setdefault("csrf_token", secrets.token_hex(20))
        body.setdefault(ISSUED_AT, int(self._clock()))
        return self._serializer.dumps(body)

    def verify(self, token: str) -> tuple[dict[str, Any], float]:
        """The payload and its age in seconds, or ``NotAuthenticated`` saying what to do about it."""
        try:
            payload, signed = self._serializer.loads(token, max_age=self.ttl_seconds, return_timestamp=True)
        except SignatureExpired as exc:
            raise NotAuthenticated(
                "Your Tandem session has expired. Open Tandem again from your course.", code="launch_expired"
            ) from exc
        except BadSignature as exc:
            raise NotAuthenticated(
                "This link is not valid. Open Tandem again from your course.", code="launch_invalid"
            ) from exc
        now = self._clock()
        issued_at = payload.get(ISSUED_AT) if isinstance(payload, dict) else None
        # A token without an issue time (from before tokens carried one) cannot show it is young enough.
        if type(issued_at) is not int or now - issued_at > self.max_age_seconds:
            raise NotAuthenticated(
                f"Your Tandem session has ended: it lasts at most {_duration(self.max_age_seconds)} after "
                "you open Tandem. Open Tandem again from your course.",
                code="launch_expired",
            )
        return payload, now - signed.timestamp()


def _signer_on(clock: Callable[[], float]) -> type[TimestampSigner]:
    """itsdangerous reads the wall clock itself; tests move a clock of their own instead of waiting."""

    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock())

    return ClockedSigner


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


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
    """A session whose contents came from a launch token; never written to a cookie. It lives for one
    request, so it also holds that request's verdict on the token: ``launch_error`` when it was refused,
    ``actor`` once ``lti_app.web.auth.current_actor`` has checked it."""

    from_launch = True

    def __init__(self, payload: dict[str, Any] | None = None, *, launch_error: NotAuthenticated | None = None):
        super().__init__(payload or {})
        self.launch_error = launch_error
        self.actor: Actor | None = None


class LaunchSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # ``g`` outlives a request when an app context is already pushed (tests, scripts): start clean.
        g.pop("launch_token", None)
        token = token_from_request(request)
        if not token:
            return super().open_session(app, request)
        tokens: LaunchTokens = app.extensions["tandem.launch_tokens"]
        try:
            payload, age = tokens.verify(token)
        except NotAuthenticated as exc:
            # Remembered, and raised by the first view that needs an actor: an expired link explains itself.
            return LaunchSession(launch_error=exc)
        session = LaunchSession(payload)
        # Sliding expiry: a page used for a while keeps working, an abandoned one expires. The renewal keeps
        # the launch's issue time, so the maximum age still counts from the launch.
        g.launch_token = tokens.issue(payload) if age > tokens.ttl_seconds / 2 else token
        return session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        # Called for every answer, errors included: one under a launch token may show that token in its
        # links and forms, or personal data, so no browser or proxy may keep it.
        under_token = getattr(session, "from_launch", False) or getattr(g, "launch_token", None)
        if under_token and "no-store" not in response.headers.get("Cache-Control", ""):
            response.headers["Cache-Control"] = "no-store"
        if getattr(session, "from_launch", False):
            return
        super().save_session(app, session, response)


def start_launch_session(app: Flask, payload: dict[str, Any]) -> str:
    """Called once a launch is verified: issue the token the rest of the visit carries."""
    tokens: LaunchTokens = app.extensions["tandem.launch_tokens"]
    token = tokens.issue(payload)
    g.launch_token = token
    return token
