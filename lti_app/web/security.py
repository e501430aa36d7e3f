"""Security headers. Tandem lives in the LMS iframe, so framing is allowed, but only by the registered
platforms (``frame-ancestors``), never ``X-Frame-Options: DENY``."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlparse

from flask import Flask, Response, g, request
from sqlalchemy import select

from lti_app.errors import RequestTooLarge
from lti_app.extensions import db
from lti_app.models.registration import Registration

_ORIGINS_TTL = 60.0


def _origin(url: str) -> str | None:
    parts = urlparse(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


class PlatformOrigins:
    """Origins of every registered platform. Kept for a minute per process: a new registration is framed
    within that minute on every worker, and a page view costs no query."""

    def __init__(self) -> None:
        self._origins: tuple[str, ...] = ()
        self._loaded_at = 0.0

    def get(self) -> tuple[str, ...]:
        if time.monotonic() - self._loaded_at > _ORIGINS_TTL:
            self.refresh()
        return self._origins

    def refresh(self) -> None:
        rows = db.session.execute(select(Registration.issuer, Registration.auth_login_url)).all()
        found = {o for row in rows for o in (_origin(row[0]), _origin(row[1])) if o}
        self._origins = tuple(sorted(found))
        self._loaded_at = time.monotonic()


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
            allowed = " ".join(origins.get())
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
