"""Security headers. Tandem lives in the LMS iframe, so framing is allowed, but only by the registered
platforms (``frame-ancestors``), never ``X-Frame-Options: DENY``."""

from __future__ import annotations

import logging
import secrets
import time
from urllib.parse import urlparse

import jwt
from flask import Flask, Response, g, request, session
from sqlalchemy import select

from lti_app.errors import RequestTooLarge
from lti_app.extensions import db
from lti_app.models.registration import Registration

log = logging.getLogger(__name__)

_ORIGINS_TTL = 60.0
# Pages outside a launch list every active platform; past this many origins, or characters, the header
# grows beyond what proxies accept (nginx answers 502 for response headers over its proxy_buffer_size).
MAX_ORIGINS = 200
MAX_ORIGIN_CHARS = 4000


def _origin(url: str) -> str | None:
    parts = urlparse(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


class PlatformOrigins:
    """Origins of the active platforms, which may frame Tandem and receive its forms.

    A page of a launch lists only its own platform's origins (:meth:`for_registration`), a login or launch
    only those of the issuer it names (:meth:`for_issuer`): the header stays a few hundred bytes however
    many platforms are registered, and one platform cannot frame another's pages. Other pages (an expired
    launch token, the demo) list every active platform, oldest first, up to ``limit`` origins and
    ``max_chars`` characters, with a warning in the log when some are left out.

    Kept for a minute per process: a new registration is framed within that minute on every worker, and a
    page view costs no query.
    """

    def __init__(self, limit: int = MAX_ORIGINS, max_chars: int = MAX_ORIGIN_CHARS) -> None:
        self.limit = limit
        self.max_chars = max_chars
        self._origins: tuple[str, ...] = ()
        self._by_registration: dict[int, tuple[str, ...]] = {}
        self._by_issuer: dict[str, tuple[str, ...]] = {}
        self._loaded_at = 0.0

    def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > _ORIGINS_TTL:
            self.refresh()

    def get(self) -> tuple[str, ...]:
        self._fresh()
        return self._origins

    def for_registration(self, registration_id: int) -> tuple[str, ...] | None:
        self._fresh()
        return self._by_registration.get(registration_id)

    def for_issuer(self, issuer: str) -> tuple[str, ...] | None:
        self._fresh()
        return self._by_issuer.get(issuer)

    def invalidate(self) -> None:
        """Reload on the next use (after the registrations changed in this process)."""
        self._loaded_at = 0.0

    def refresh(self) -> None:
        rows = db.session.execute(
            select(Registration.id, Registration.issuer, Registration.auth_login_url)
            .where(Registration.is_active.is_(True))
            .order_by(Registration.id)
        ).all()
        every: dict[str, None] = {}  # insertion-ordered set: the oldest platforms keep their place
        by_registration: dict[int, tuple[str, ...]] = {}
        by_issuer: dict[str, dict[str, None]] = {}
        for registration_id, issuer, login_url in rows:
            found = tuple(dict.fromkeys(o for o in (_origin(issuer), _origin(login_url)) if o))
            by_registration[registration_id] = found
            by_issuer.setdefault(issuer, {}).update(dict.fromkeys(found))
            every.update(dict.fromkeys(found))
        listed = _within(tuple(every), self.limit, self.max_chars)
        if len(listed) < len(every):
            log.warning(
                "%d platform origins, more than a header lists (%d origins, %d characters): pages outside "
                "a launch list the %d oldest (deactivate or remove unused registrations)",
                len(every), self.limit, self.max_chars, len(listed),
            )
        self._origins = listed
        self._by_registration = by_registration
        self._by_issuer = {issuer: tuple(found) for issuer, found in by_issuer.items()}
        self._loaded_at = time.monotonic()

    def for_request(self) -> tuple[str, ...]:
        """The origins this response may be framed by and post forms to."""
        actor = getattr(session, "actor", None)
        if actor is not None and actor.platform_urls:
            # Checked against the database in this very request: fresh, and no query of its own.
            return tuple(dict.fromkeys(o for o in (_origin(u) for u in actor.platform_urls) if o))
        registration_id = session.get("registration_id") if getattr(session, "from_launch", False) else None
        if registration_id is not None:
            own = self.for_registration(int(registration_id))
            if own is not None:
                return own
        issuer = _named_issuer()
        if issuer:
            named = self.for_issuer(issuer)
            if named is not None:
                return named
        return self.get()


def _within(origins: tuple[str, ...], limit: int, max_chars: int) -> tuple[str, ...]:
    kept: list[str] = []
    used = 0
    for origin in origins[:limit]:
        used += len(origin) + 1
        if used > max_chars:
            break
        kept.append(origin)
    return tuple(kept)


def _named_issuer() -> str | None:
    """The issuer a login initiation (``iss``, as query or form) or a launch (the ``iss`` of its
    ``id_token``, read unverified: it only picks which registered origins to list) names. Never reads a
    body the size check refused."""
    if "iss" in request.args:
        return request.args["iss"]
    limit = request.max_content_length
    if request.mimetype != "application/x-www-form-urlencoded" or (
        limit is not None and (request.content_length or 0) > limit
    ):
        return None
    if "iss" in request.form:
        return request.form["iss"]
    id_token = request.form.get("id_token")
    if not id_token:
        return None
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    issuer = claims.get("iss")
    return issuer if isinstance(issuer, str) else None


def csp_nonce() -> str:
    if not hasattr(g, "csp_nonce"):
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def init_security_headers(app: Flask) -> None:
    origins = PlatformOrigins()
    app.extensions["tandem.platform_origins"] = origins
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.before_request
    def _refuse_oversized_body() -> None:
        # Checked before any view reads the body, so an oversized launch or upload is a clean 413 everywhere.
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length and request.content_length > limit:
            raise RequestTooLarge(f"The request is larger than {limit // 1024} KiB.")

    @app.after_request
    def _headers(response: Response) -> Response:
        try:
            allowed = " ".join(origins.for_request())
        except Exception:  # noqa: BLE001 - a header must never turn a response into an error
            allowed = ""
        nonce = csp_nonce()
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
            f"script-src 'self' 'nonce-{nonce}'; object-src 'none'; base-uri 'self'; "
            f"form-action 'self' {allowed}; frame-ancestors 'self' {allowed}".strip(),
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Launch tokens ride in URLs: never leak them to other sites through Referer.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
