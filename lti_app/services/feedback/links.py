"""Single-use answer links for raters outside the course.

Only the SHA-256 of a token is stored, so a copy of the database cannot be turned into working links. A
new token is issued each time an email is sent (the previous link stops working); the token is cleared when
the rater submits or declines, and when the cycle closes.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.errors import NotFound, TandemError
from lti_app.models.base import utcnow
from lti_app.models.feedback import CYCLE_OPEN, FeedbackRequest

LINK_TTL = timedelta(days=21)


class LinkExpired(TandemError):
    status = 410
    code = "link_expired"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link(session: Session, request: FeedbackRequest, now: datetime | None = None) -> str:
    """A fresh token for ``request`` (the previous one stops working); valid until the cycle closes, at most
    ``LINK_TTL``."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    request.token_hash = hash_token(token)
    request.token_expires_at = min(request.cycle.closes_at, now + LINK_TTL)
    session.flush()
    return token


def request_for_token(session: Session, token: str, now: datetime | None = None) -> FeedbackRequest:
    now = now or utcnow()
    if not token or len(token) > 200:
        raise NotFound("This link is not valid, or it has already been used.", code="link_invalid")
    request = session.scalar(select(FeedbackRequest).where(FeedbackRequest.token_hash == hash_token(token)))
    if request is None:
        raise NotFound("This link is not valid, or it has already been used.", code="link_invalid")
    expired = request.token_expires_at is None or request.token_expires_at <= now
    if expired or request.cycle.status != CYCLE_OPEN or request.cycle.closes_at <= now:
        raise LinkExpired(
            "This feedback link has expired. If you still want to give feedback, ask the person who "
            "invited you for a new link."
        )
    return request
