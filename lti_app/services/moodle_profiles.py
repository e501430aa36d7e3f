"""Moodle web services for what LTI does not carry: profile fields (department, interests, custom fields
such as skills) mapped onto Tandem profiles, and the per-platform settings that allow it.

Optional per registration: an LMS admin enters the site URL, a web service token (sealed at rest) and the
field mapping (``{moodle_field: profile_field}``). Roster sync then asks Moodle for each batch of members in
one ``core_user_get_users_by_field`` call and fills profiles, never overwriting what a person typed: the
last value taken from the LMS is remembered per field (in ``Profile.extra``, under the same key as launch
prefill, so both sources agree), and a field that no longer holds it belongs to the person.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms_clients import LMSHttp, LMSRequestError, MoodleUser, MoodleWebServiceClient
from lti_app.crypto import SecretBox
from lti_app.domain.tags import normalise_tags
from lti_app.errors import NotFound, PermissionDenied, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.profile import Profile
from lti_app.models.registration import Registration
from lti_app.services.access import Actor
from lti_app.services.launch import PREFILL_KEY

logger = logging.getLogger(__name__)

# Moodle user fields core_user_get_users_by_field returns that are worth mapping; anything else names a
# custom profile field by its shortname, written bare ("skills") or as Moodle's own ``profile_field_skills``.
STANDARD_FIELDS = ("department", "institution", "city", "country", "interests", "idnumber")
CUSTOM_PREFIX = "profile_field_"
# Tandem profile fields the LMS may fill: free text (with its length) and tag lists.
TEXT_TARGETS = {"headline": 200, "department": 200, "location": 200, "line_manager": 200, "time_zone": 64}
TAG_TARGETS = ("skills", "skills_wanted", "interests", "languages")
PROFILE_TARGETS = (*TEXT_TARGETS, *TAG_TARGETS)
MAX_TAGS = 50
MAX_MAPPINGS = 20

REQUIRED_FUNCTIONS = ("core_webservice_get_site_info", "core_user_get_users_by_field")
OPTIONAL_FUNCTIONS = ("core_completion_get_course_completion_status",)

_TAG = re.compile(r"<[^>]*>")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_TOKEN = re.compile(r"^[A-Za-z0-9]{8,128}$")  # Moodle issues 32 hexadecimal characters


# ------------------------------------------------------------------------------------------ field mapping


def parse_field_map(raw: Mapping[str, str] | Sequence[str]) -> dict[str, str]:
    """``{moodle_field: profile_field}`` from a mapping or ``moodle_field=profile_field`` strings,
    checked: every Moodle field named once, every target a profile field Tandem fills, each target fed
    by one Moodle field."""
    pairs: list[tuple[str, str]] = []
    errors: dict[str, str] = {}
    if isinstance(raw, Mapping):
        pairs = [(str(k), str(v)) for k, v in raw.items()]
    else:
        for item in raw:
            moodle_field, sep, target = str(item).partition("=")
            if not sep:
                errors[moodle_field.strip() or "(empty)"] = "Write it as moodle_field=profile_field."
                continue
            pairs.append((moodle_field, target))
    found: dict[str, str] = {}
    targets: set[str] = set()
    for moodle_field, target in pairs:
        moodle_field, target = moodle_field.strip().lower(), target.strip().lower()
        if not moodle_field and not target:
            continue
        if not _FIELD_NAME.match(moodle_field):
            errors[moodle_field or "(empty)"] = "Not a Moodle field name (letters, digits and underscores)."
        elif target not in PROFILE_TARGETS:
            errors[moodle_field] = f"Tandem profiles have no field {target!r}: use one of " + ", ".join(
                PROFILE_TARGETS
            ) + "."
        elif moodle_field in found:
            errors[moodle_field] = "This Moodle field is mapped twice."
        elif target in targets:
            errors[moodle_field] = f"Profile field {target!r} already takes another Moodle field."
        else:
            found[moodle_field] = target
            targets.add(target)
    if len(found) > MAX_MAPPINGS:
        errors["map"] = f"At most {MAX_MAPPINGS} mappings."
    if errors:
        raise ValidationFailed("The profile field mapping is not valid.", details=errors)
    return found


def moodle_value(user: MoodleUser, field: str) -> str | tuple[str, ...] | None:
    """The value of a standard field or custom profile field (by shortname) of a Moodle user."""
    if field in STANDARD_FIELDS:
        value: str | tuple[str, ...] | None = getattr(user, field)
        return value
    shortname = field[len(CUSTOM_PREFIX):] if field.startswith(CUSTOM_PREFIX) else field
    return user.custom_field(shortname)


def profile_value(target: str, raw: str | tuple[str, ...] | None) -> str | list[str] | None:
    """``raw`` made fit for the profile field ``target``, or None when there is nothing usable. Moodle
    textarea fields hold HTML: only their text is kept."""
    if raw is None:
        return None
    if isinstance(raw, tuple):
        raw = ", ".join(raw)
    text = " ".join(html.unescape(_TAG.sub(" ", raw)).split())
    if not text:
        return None
    if target in TAG_TARGETS:
        return normalise_tags(text)[:MAX_TAGS] or None
    if target == "time_zone":
        return text if _is_time_zone(text) else None
    return text[: TEXT_TARGETS[target]]


def _is_time_zone(value: str) -> bool:
    if len(value) > 64:
        return False
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# ---------------------------------------------------------------------------------------------- enrichment


class ProfileEnricher:
    """Fills profiles of one batch of people at a time from Moodle. After the first failed call it stops
    asking (a broken token should not cost one timeout per batch) and says why in ``failure``."""

    def __init__(self, client: MoodleWebServiceClient, field_map: Mapping[str, str]) -> None:
        self.client = client
        self.field_map = dict(field_map)
        self.targets = tuple(dict.fromkeys(self.field_map.values()))
        self.failure: str | None = None

    def offered(self, user: MoodleUser) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for moodle_field, target in self.field_map.items():
            value = profile_value(target, moodle_value(user, moodle_field))
            if value is not None:
                values[target] = value
        return values

    def enrich(self, session: Session, people: Sequence[tuple[int, str]]) -> int:
        """Enrich ``(person_id, sub)`` pairs; the sub is the Moodle user id (Moodle's LTI ``sub``).
        Returns how many profiles changed."""
        by_moodle_id = {sub: person_id for person_id, sub in people if sub.isdigit()}
        if self.failure is not None or not by_moodle_id:
            return 0
        try:
            users = self.client.users_by_field("id", list(by_moodle_id))
        except LMSRequestError as exc:
            self.failure = f"Profiles were not enriched from Moodle web services: {exc.message}"
            logger.warning("Moodle web services failed for %s: %s", self.client.site_url, exc)
            return 0
        offers: dict[int, dict[str, Any]] = {}
        for user in users:
            person_id = by_moodle_id.get(str(user.id))
            values = self.offered(user) if person_id is not None else {}
            if values:
                offers[person_id] = values  # type: ignore[index]
        return apply_lms_values(session, offers, self.targets)


def enricher_for(registration: Registration, box: SecretBox, http: LMSHttp) -> ProfileEnricher | None:
    """The enricher for a registration whose admin configured Moodle web services and a mapping."""
    url, sealed, field_map = (
        registration.moodle_ws_url, registration.moodle_ws_token_sealed, registration.moodle_field_map
    )
    if not (url and sealed and field_map):
        return None
    return ProfileEnricher(MoodleWebServiceClient(url, box.open(sealed), http), field_map)


def apply_lms_values(
    session: Session, offers: Mapping[int, Mapping[str, Any]], targets: Sequence[str]
) -> int:
    """Write LMS values into profiles (``{person_id: {field: value}}``) in three statements at most: read
    the profiles, insert the missing ones, update the changed ones. A field takes the LMS value when it
    is empty or still holds the last LMS value; otherwise the person changed it and it stays theirs."""
    if not offers:
        return 0
    table = cast(Table, Profile.__table__)
    columns = [table.c[t] for t in targets]
    rows = session.execute(
        select(table.c.id, table.c.person_id, table.c.extra, *columns)
        .where(table.c.person_id.in_(list(offers)))
    ).all()
    existing = {row.person_id: row for row in rows}
    inserts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    now = utcnow()
    for person_id, offered in offers.items():
        row = existing.get(person_id)
        current = {t: (row._mapping[t] if row is not None else _empty(t)) for t in targets}
        extra = dict((row.extra if row is not None else None) or {})
        remembered = dict(extra.get(PREFILL_KEY) or {})
        values = dict(current)
        for field, value in offered.items():
            if current[field] in ("", [], None) or current[field] == remembered.get(field):
                values[field] = value
                remembered[field] = value
        extra[PREFILL_KEY] = remembered
        if row is None:
            inserts.append(
                {"person_id": person_id, "extra": extra, "created_at": now, "updated_at": now, **values}
            )
        elif values != current or remembered != (row.extra or {}).get(PREFILL_KEY):
            changes.append({"b_id": row.id, "v_extra": extra, **{f"v_{k}": v for k, v in values.items()}})
    if inserts:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(table).on_conflict_do_nothing(index_elements=["person_id"]), inserts)
    if changes:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(extra=bindparam("v_extra"), **{t: bindparam(f"v_{t}") for t in targets}),
            changes,
        )
    return len(inserts) + len(changes)


def _empty(target: str) -> Any:
    return [] if target in TAG_TARGETS else ""


# ---------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class ConnectionCheck:
    """What ``core_webservice_get_site_info`` said about the token: never the token itself."""

    site_name: str
    release: str | None
    username: str
    missing_required: tuple[str, ...]
    missing_optional: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing_required

    @property
    def summary(self) -> str:
        release = self.release or "release unknown"
        text = f"Connected to {self.site_name} (Moodle {release}) as {self.username}."
        if self.missing_required:
            text += " The token may not call " + ", ".join(self.missing_required) + "; add them in Moodle."
        if self.missing_optional:
            text += " Not allowed (optional): " + ", ".join(self.missing_optional) + "."
        return text


@dataclass(frozen=True)
class MoodleWsSettings:
    """What the admin page shows of a registration's Moodle web service settings."""

    registration: Registration
    url: str
    has_token: bool
    field_map: dict[str, str]

    @property
    def configured(self) -> bool:
        return bool(self.url and self.has_token)


def check_connection(url: str, token: str, http: LMSHttp) -> ConnectionCheck:
    """Ask Moodle who the token is and which functions it may call."""
    info = MoodleWebServiceClient(url, token, http).site_info()
    allowed = set(info.functions)
    return ConnectionCheck(
        site_name=info.site_name,
        release=info.release,
        username=info.username,
        missing_required=tuple(f for f in REQUIRED_FUNCTIONS if f not in allowed),
        missing_optional=tuple(f for f in OPTIONAL_FUNCTIONS if f not in allowed),
    )


def check_stored(registration: Registration, box: SecretBox, http: LMSHttp) -> ConnectionCheck:
    """Check the stored URL and token again (after a change on the Moodle side, say)."""
    url, sealed = registration.moodle_ws_url, registration.moodle_ws_token_sealed
    if not (url and sealed):
        raise ValidationFailed("Nothing to check yet: enter the site URL and a token first.")
    return check_connection(url, box.open(sealed), http)


def admin_registration(session: Session, actor: Actor) -> Registration:
    """The actor's own platform, if they administer it."""
    if not actor.is_admin:
        raise PermissionDenied("Only LMS administrators can change Moodle web service settings.")
    registration = session.get(Registration, actor.registration_id)
    if registration is None:
        raise NotFound("This platform is no longer registered with Tandem.")
    return registration


def current_settings(registration: Registration) -> MoodleWsSettings:
    return MoodleWsSettings(
        registration=registration,
        url=registration.moodle_ws_url or "",
        has_token=bool(registration.moodle_ws_token_sealed),
        field_map=dict(registration.moodle_field_map or {}),
    )


def _valid_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not re.match(r"^https?://[^\s/?#]+(/[^\s?#]*)?$", url) or len(url) > 1000:
        raise ValidationFailed(
            "The Moodle site URL is not valid.",
            details={"url": "The site's address, e.g. https://moodle.example.edu"},
        )
    return url


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:  # a port out of range
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def _require_platform_origin(site_url: str, issuer: str) -> None:
    """Moodle's LTI issuer is its site URL (``$CFG->wwwroot``): the web service URL must be on that origin
    (scheme, host and port), so an admin page cannot be used to send the token to another host."""
    if _origin(site_url) != _origin(issuer):
        raise ValidationFailed(
            "The Moodle site URL must be the platform's own site: " + issuer + ".",
            details={"url": "Use the address of the Moodle this platform is registered from."},
        )


def configure(
    session: Session,
    registration: Registration,
    *,
    url: str,
    token: str | None,
    field_map: Mapping[str, str] | Sequence[str],
    box: SecretBox,
    http: LMSHttp | None,
) -> ConnectionCheck | None:
    """Store the site URL, the token (sealed; ``None`` keeps the stored one) and the mapping.

    The token is a Moodle credential, so it is only ever sent to the platform's own site: the URL must
    have the origin of the registration's issuer (Moodle's issuer is its site URL), and the stored token is
    kept only while the URL stays the same; a new URL needs the token pasted again. With ``http`` the
    connection is checked first and nothing is stored if Moodle refuses the token or the token may not
    call the functions enrichment needs."""
    site_url = _valid_url(url)
    _require_platform_origin(site_url, registration.issuer)
    mapping = parse_field_map(field_map)
    if token is not None and token.strip():
        token = token.strip()
        if not _TOKEN.match(token):
            raise ValidationFailed(
                "The web service token is not valid.",
                details={"token": "Paste the token Moodle showed (letters and digits)."},
            )
    elif registration.moodle_ws_token_sealed and registration.moodle_ws_url == site_url:
        token = box.open(registration.moodle_ws_token_sealed)
    elif registration.moodle_ws_token_sealed:
        raise ValidationFailed(
            "The site URL changed: paste the token again to send it there.",
            details={"token": "The stored token is only used with the URL it was saved for."},
        )
    else:
        raise ValidationFailed(
            "A web service token is required.", details={"token": "Paste the token Moodle created."}
        )
    check = None
    if http is not None:
        try:
            check = check_connection(site_url, token, http)
        except LMSRequestError as exc:
            raise ValidationFailed(
                "Moodle did not accept the connection: " + exc.message, details={"url": str(exc)}
            ) from None
        if not check.ok:
            raise ValidationFailed(
                "The token may not call every function Tandem needs. Add them to the web service in Moodle.",
                details={"token": "Missing: " + ", ".join(check.missing_required)},
            )
    registration.moodle_ws_url = site_url
    registration.moodle_ws_token_sealed = box.seal(token)
    registration.moodle_field_map = mapping
    session.flush()
    return check


def clear(session: Session, registration: Registration) -> None:
    """Forget the Moodle web service settings (the token is dropped, not kept aside)."""
    registration.moodle_ws_url = None
    registration.moodle_ws_token_sealed = None
    registration.moodle_field_map = None
    session.flush()
