"""The tool's own RSA signing keys: created, rotated, retired and published.

Platforms verify what Tandem signs (client assertions for AGS/NRPS tokens, deep linking responses) with the
keys at ``/lti/jwks``, which they fetch and cache for a while. So a rotation must never pull a key out from
under them: the new key signs at once, the old one stays published for a grace period (Security Framework
§6.3), and only then drops out of the JWKS. Private keys are sealed with ``SecretBox`` so a database dump
alone signs nothing.

Statuses: ``active`` (published; the newest active key signs), ``retiring`` (no longer signs, still
published until ``retired_at + grace``), ``retired`` (unpublished, private half destroyed).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lms_clients.token import SigningKey
from lti_app.crypto import SecretBox
from lti_app.models.base import utcnow
from lti_app.models.registration import ToolKey

ACTIVE = "active"
RETIRING = "retiring"
RETIRED = "retired"

KEY_SIZE = 2048
# Long enough for every platform to refetch the JWKS (Moodle and Canvas cache it for minutes to hours).
RETIREMENT_GRACE = timedelta(days=7)

__all__ = [
    "ACTIVE",
    "RETIRED",
    "RETIREMENT_GRACE",
    "RETIRING",
    "SigningKey",
    "ensure_key",
    "list_keys",
    "published_jwks",
    "retire_expired",
    "rotate",
    "signing_key",
]


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: a kid that names the key itself, so two keys can never share one."""
    canonical = json.dumps({k: jwk[k] for k in ("e", "kty", "n")}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _new_key(box: SecretBox, now: datetime) -> ToolKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public: dict[str, Any] = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    kid = _thumbprint(public)
    jwk = {"kty": "RSA", "e": public["e"], "n": public["n"], "kid": kid, "alg": "RS256", "use": "sig"}
    return ToolKey(
        kid=kid, private_key_sealed=box.seal(pem), public_jwk=jwk, status=ACTIVE,
        created_at=now, updated_at=now,
    )


def _newest_active(session: Session) -> ToolKey | None:
    return session.scalars(
        select(ToolKey).where(ToolKey.status == ACTIVE).order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
    ).first()


def ensure_key(session: Session, box: SecretBox, *, now: datetime | None = None) -> tuple[ToolKey, bool]:
    """The signing key, created when the tool has none; ``True`` when it was just created."""
    key = _newest_active(session)
    if key is not None:
        return key, False
    key = _new_key(box, now or utcnow())
    session.add(key)
    session.flush()
    return key, True


def rotate(session: Session, box: SecretBox, *, now: datetime | None = None) -> ToolKey:
    """Add a new signing key; every previously active key keeps being published for the grace period."""
    moment = now or utcnow()
    for old in session.scalars(select(ToolKey).where(ToolKey.status == ACTIVE)):
        old.status = RETIRING
        old.retired_at = moment
    key = _new_key(box, moment)
    session.add(key)
    session.flush()
    return key


def retire_expired(
    session: Session, now: datetime | None = None, *, grace: timedelta = RETIREMENT_GRACE
) -> list[ToolKey]:
    """Unpublish keys whose grace period has passed and destroy their private half (nothing signs with
    them any more, so keeping it would only be a liability)."""
    cutoff = (now or utcnow()) - grace
    expired = list(
        session.scalars(select(ToolKey).where(ToolKey.status == RETIRING, ToolKey.retired_at <= cutoff))
    )
    for key in expired:
        key.status = RETIRED
        key.private_key_sealed = ""
    session.flush()
    return expired


def signing_key(session: Session, box: SecretBox) -> SigningKey:
    """The newest active key, opened for signing. Created on first use, so a fresh install signs without
    a setup step (``tandem keys ensure`` does the same ahead of time)."""
    key, _ = ensure_key(session, box)
    return SigningKey(kid=key.kid, private_key_pem=box.open(key.private_key_sealed))


def published_jwks(
    session: Session, now: datetime | None = None, *, grace: timedelta = RETIREMENT_GRACE
) -> dict[str, list[dict[str, Any]]]:
    """The JWKS served at ``/lti/jwks``: active keys and keys still inside their grace period, newest first.

    The grace period is applied here as well as in :func:`retire_expired`, so an expired key drops out on
    time even when nobody ran the retirement.
    """
    cutoff = (now or utcnow()) - grace
    rows = session.scalars(
        select(ToolKey)
        .where(or_(ToolKey.status == ACTIVE, (ToolKey.status == RETIRING) & (ToolKey.retired_at > cutoff)))
        .order_by(ToolKey.created_at.desc(), ToolKey.id.desc())
    )
    return {"keys": [dict(row.public_jwk) for row in rows]}


@dataclass(frozen=True)
class KeyInfo:
    """What an admin may see of a key: never the private half."""

    kid: str
    created_at: datetime
    status: str
    retired_at: datetime | None
    unpublish_at: datetime | None
    signs: bool


def list_keys(
    session: Session, now: datetime | None = None, *, grace: timedelta = RETIREMENT_GRACE
) -> list[KeyInfo]:
    """Every key, newest first, with the status an admin acts on (a retiring key past its grace reads as
    retired even before ``tandem keys retire`` runs)."""
    moment = now or utcnow()
    rows = list(session.scalars(select(ToolKey).order_by(ToolKey.created_at.desc(), ToolKey.id.desc())))
    newest_active = next((row.id for row in rows if row.status == ACTIVE), None)
    found: list[KeyInfo] = []
    for row in rows:
        status = row.status
        unpublish_at = row.retired_at + grace if row.retired_at and status == RETIRING else None
        if unpublish_at is not None and unpublish_at <= moment:
            status, unpublish_at = RETIRED, None
        signs = row.id == newest_active
        found.append(KeyInfo(row.kid, row.created_at, status, row.retired_at, unpublish_at, signs))
    return found
