"""Invitations to register a platform by URL.

``/lti/register`` is opened by an LMS admin's browser, before Tandem knows the platform, so it cannot ask
who is calling. In production it therefore takes an invitation the people who run Tandem issued: a code
signed with the secret key, valid :data:`INVITATION_DAYS` days, carried in the registration URL
(``/lti/register?invite=…``; platforms keep the URL's own query when they add theirs). Without one anyone
could register platforms. An invitation may name the issuer it is for; one that does not is good for
any platform until it expires, so it is handed over like a password.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlparse

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from config.settings import Settings
from lti_app.errors import PermissionDenied, ValidationFailed
from lti_app.services.access import Actor
from lti_app.services.registrations import require_operator, tool_urls

INVITATION_DAYS = 7
SALT = "tandem-registration-invitation"
ASK = (
    "Ask the people who run Tandem for a registration URL (`tandem platform invite`) and paste it into "
    "your LMS."
)


class InvitationRefused(PermissionDenied):
    code = "invitation_invalid"


@dataclass(frozen=True)
class Invitation:
    """A checked invitation: ``issuer`` is the one platform it admits, or ``None`` for any."""

    issuer: str | None = None

    def admits(self, issuer: str) -> bool:
        return self.issuer is None or self.issuer == issuer.rstrip("/")


def normalise_issuer(issuer: str) -> str:
    """An issuer as platforms write it in ``iss`` (an http(s) URL), without a trailing slash."""
    value = issuer.strip().rstrip("/")
    parts = urlparse(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "The issuer must be the platform's address, e.g. https://moodle.example.edu.",
            details={"issuer": "must be an absolute http(s) URL"},
        )
    return value


class Invitations:
    """Issues and checks invitations. ``clock`` is injectable so tests can age one."""

    def __init__(
        self, secret_key: str, *, days: int = INVITATION_DAYS, clock: Callable[[], float] = time.time
    ) -> None:
        class _Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock())

        self.days = days
        self._clock = clock
        self._serializer = URLSafeTimedSerializer(secret_key, salt=SALT, signer=_Signer)

    @property
    def expires_at(self) -> datetime:
        """When an invitation issued now expires."""
        return datetime.fromtimestamp(self._clock(), UTC) + timedelta(days=self.days)

    def issue(self, issuer: str | None = None) -> str:
        return self._serializer.dumps({"iss": normalise_issuer(issuer) if issuer else None})

    def check(self, code: str) -> Invitation:
        try:
            payload = self._serializer.loads(code, max_age=self.days * 24 * 3600)
        except SignatureExpired:
            raise InvitationRefused(
                f"This registration URL has expired (invitations last {self.days} days). {ASK}",
                code="invitation_expired",
            ) from None
        except BadSignature:
            raise InvitationRefused(
                f"This registration URL is not valid: it may have been cut short when it was copied. {ASK}"
            ) from None
        issuer = payload.get("iss") if isinstance(payload, dict) else None
        return Invitation(issuer=issuer if isinstance(issuer, str) else None)


def invitation_url(base_url: str, code: str) -> str:
    """The URL an LMS admin pastes into the LMS's "register by URL" field."""
    return f"{tool_urls(base_url).register}?{urlencode({'invite': code})}"


@dataclass(frozen=True)
class IssuedInvitation:
    url: str
    issuer: str | None
    expires_at: datetime


def issue_invitation(settings: Settings, issuer: str | None = None) -> IssuedInvitation:
    """An invitation for the command line (the operator is whoever runs it)."""
    invitations = Invitations(settings.secret_key)
    named = normalise_issuer(issuer) if issuer else None
    code = invitations.issue(named)
    return IssuedInvitation(invitation_url(settings.base_url, code), named, invitations.expires_at)


def invite_for(
    session: Session, actor: Actor, settings: Settings, issuer: str | None = None
) -> IssuedInvitation:
    """An invitation issued from the administration page: operators only, since a registered platform
    is framed by Tandem and trusted for its people's launches."""
    require_operator(
        session, actor, settings,
        "Only the people who run Tandem invite new platforms: ask them for a registration URL.",
    )
    return issue_invitation(settings, issuer)
