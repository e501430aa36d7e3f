"""A verified launch, mapped onto Tandem's records: platform + context → ``Course``, ``sub`` → ``Person``,
their ``Enrolment`` (Tandem roles, raw LTI roles, the people they mentor in the LMS), the resource link →
``Placement``, and a ``Profile`` prefilled from LTI custom parameters.

Takes the claims pylti1p3 verified (signature, nonce, state): nothing here re-checks the token, and nothing
here knows about HTTP. Everything is an upsert in the caller's transaction, so two first launches of the
same person or course at once (two workers) meet on the unique constraints instead of failing: rows are
inserted with ``ON CONFLICT DO NOTHING`` and read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lti_app.domain.tags import normalise_tags
from lti_app.errors import LaunchError
from lti_app.lti import claims as c
from lti_app.lti.roles import is_mentor_scope_role, tandem_roles
from lti_app.models.base import Base, utcnow
from lti_app.models.course import Course, Placement
from lti_app.models.person import ADMIN, Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.models.registration import Deployment, Registration

M = TypeVar("M", bound=Base)

# LTI Core §5.3.5/§5.3.6 and OIDC: ids are at most 255 ASCII characters. Longer ones are refused rather
# than truncated, because two different truncated ids would become one person or one course.
MAX_ID = 255
MAX_ROLES = 100

# Custom parameter (as named in the LMS, without LTI 1.1's "custom_" prefix) → profile field.
PROFILE_TEXT_PARAMS = {"department": 200, "location": 200, "headline": 200}
PROFILE_TAG_PARAMS = {
    "skills": "skills",
    "skills_wanted": "skills_wanted",
    "interests": "interests",
    "languages": "languages",
}
PROFILE_PARAMS = (*PROFILE_TEXT_PARAMS, *PROFILE_TAG_PARAMS, "timezone")
# Where the last value taken from the LMS is remembered, to tell it apart from what the person typed.
PREFILL_KEY = "lms_prefill"


@dataclass(frozen=True)
class LaunchResult:
    course: Course | None
    person: Person
    enrolment: Enrolment | None
    placement: Placement | None
    profile: Profile
    roles: tuple[str, ...]
    lti_roles: tuple[str, ...]
    message_type: str


def record_launch(
    session: Session,
    *,
    registration: Registration,
    deployment: Deployment | None,
    claims: Mapping[str, Any],
    now: datetime | None = None,
) -> LaunchResult:
    """Upsert everything the launch tells about its course, person, enrolment and placement."""
    moment = now or utcnow()
    lti_roles = tuple(r for r in _list(claims.get(c.ROLES)) if isinstance(r, str))[:MAX_ROLES]
    roles = tuple(tandem_roles(lti_roles))
    custom = {str(k): v for k, v in _dict(claims.get(c.CUSTOM)).items()}

    course = _upsert_course(session, registration, deployment, claims)
    if course is None and ADMIN not in roles:
        raise LaunchError(
            "This launch does not come from a course (no context claim). Add Tandem inside a course.",
            code="missing_context",
        )
    person = _upsert_person(session, registration, claims, roles, moment)
    enrolment = (
        _upsert_enrolment(session, course, person, roles, lti_roles, claims, moment) if course else None
    )
    placement = _upsert_placement(session, course, claims, custom) if course else None
    profile = _prefill_profile(session, person, custom)
    session.flush()
    return LaunchResult(
        course=course,
        person=person,
        enrolment=enrolment,
        placement=placement,
        profile=profile,
        roles=roles,
        lti_roles=lti_roles,
        message_type=str(claims.get(c.MESSAGE_TYPE) or ""),
    )


# ------------------------------------------------------------------------------------------- entities


def _upsert_course(
    session: Session, registration: Registration, deployment: Deployment | None, claims: Mapping[str, Any]
) -> Course | None:
    context = _dict(claims.get(c.CONTEXT))
    context_id = _id(context.get("id"), "context id")
    if context_id is None:
        return None
    course = _ensure(session, Course, {"registration_id": registration.id, "context_id": context_id})
    if "title" in context:
        _assign(course, "title", _text(context.get("title"), 500))
    if "label" in context:
        _assign(course, "label", _text(context.get("label"), 255))
    if deployment is not None:
        _assign(course, "deployment_id", deployment.id)
    # Service URLs are kept from earlier launches when this one leaves the claim out (roster and grade
    # sync run outside any launch and need them).
    nrps = _dict(claims.get(c.NRPS))
    if _text(nrps.get("context_memberships_url"), 1000):
        _assign(course, "memberships_url", _text(nrps.get("context_memberships_url"), 1000))
    ags = _dict(claims.get(c.AGS_ENDPOINT))
    if _text(ags.get("lineitems"), 1000):
        _assign(course, "lineitems_url", _text(ags.get("lineitems"), 1000))
    if ags:
        _assign(course, "ags_scopes", [s for s in _list(ags.get("scope")) if isinstance(s, str)])
    return course


def _upsert_person(
    session: Session,
    registration: Registration,
    claims: Mapping[str, Any],
    roles: tuple[str, ...],
    moment: datetime,
) -> Person:
    sub = _id(claims.get("sub"), "user id (sub)")
    if sub is None:
        raise LaunchError("The launch does not identify the user (no sub).", code="missing_claim")
    person = _ensure(session, Person, {"registration_id": registration.id, "sub": sub})
    # A platform may withhold names or email (privacy settings): only claims that are present change them.
    for claim, field, limit in (
        ("name", "name", 300),
        ("given_name", "given_name", 200),
        ("family_name", "family_name", 200),
    ):
        if claim in claims:
            _assign(person, field, _text(claims.get(claim), limit))
    if "email" in claims:
        _assign(person, "email", _text(claims.get("email"), 320) or None)
    if "picture" in claims:
        _assign(person, "picture", _text(claims.get("picture"), 1000) or None)
    locale = _text(claims.get("locale"), 35) or _text(
        _dict(claims.get(c.LAUNCH_PRESENTATION)).get("locale"), 35
    )
    if locale:
        _assign(person, "locale", locale)
    lis = _dict(claims.get(c.LIS))
    if "person_sourcedid" in lis:
        _assign(person, "lis_person_sourcedid", _text(lis.get("person_sourcedid"), 255) or None)
    _assign(person, "is_platform_admin", ADMIN in roles)
    person.last_launch_at = moment
    return person


def _upsert_enrolment(
    session: Session,
    course: Course,
    person: Person,
    roles: tuple[str, ...],
    lti_roles: tuple[str, ...],
    claims: Mapping[str, Any],
    moment: datetime,
) -> Enrolment:
    enrolment = _ensure(session, Enrolment, {"course_id": course.id, "person_id": person.id})
    _assign(enrolment, "roles", list(roles))
    _assign(enrolment, "lti_roles", list(lti_roles))
    mentees: list[str] = []
    if is_mentor_scope_role(lti_roles):
        # LTI Core §5.4.3: the subs of the people this person mentors in the LMS.
        mentees = [s for s in _list(claims.get(c.ROLE_SCOPE_MENTOR)) if isinstance(s, str) and s][:1000]
    _assign(enrolment, "mentor_of_subs", mentees)
    _assign(enrolment, "status", "active")
    _assign(enrolment, "source", "launch")
    enrolment.last_synced_at = moment
    return enrolment


def _upsert_placement(
    session: Session, course: Course, claims: Mapping[str, Any], custom: Mapping[str, Any]
) -> Placement | None:
    link = _dict(claims.get(c.RESOURCE_LINK))
    link_id = _id(link.get("id"), "resource link id")
    if link_id is None:
        return None
    placement = _ensure(session, Placement, {"course_id": course.id, "resource_link_id": link_id})
    if "title" in link:
        _assign(placement, "title", _text(link.get("title"), 500))
    lineitem = _text(_dict(claims.get(c.AGS_ENDPOINT)).get("lineitem"), 1000)
    if lineitem:
        _assign(placement, "lineitem_url", lineitem)
    # Profile parameters describe the person launching, not the placement: they stay out of it.
    placement_custom = {k: v for k, v in custom.items() if _param_name(k) not in PROFILE_PARAMS}
    _assign(placement, "custom", placement_custom)
    return placement


# -------------------------------------------------------------------------------------------- profile


def _prefill_profile(session: Session, person: Person, custom: Mapping[str, Any]) -> Profile:
    """Fill profile fields from custom parameters, never overwriting what the person typed.

    The last value taken from the LMS is remembered per field: a field still holding it (or empty) follows
    the LMS; a field the person changed is theirs and stays.
    """
    profile = _ensure(session, Profile, {"person_id": person.id})
    offered = _profile_values(custom)
    if not offered:
        return profile
    extra = dict(profile.extra or {})
    remembered = dict(extra.get(PREFILL_KEY) or {})
    for field, value in offered.items():
        current = getattr(profile, field)
        if current in ("", [], None) or current == remembered.get(field):
            _assign(profile, field, value)
            remembered[field] = value
    if remembered != extra.get(PREFILL_KEY):
        extra[PREFILL_KEY] = remembered
        profile.extra = extra
    return profile


def _profile_values(custom: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, raw in custom.items():
        name = _param_name(key)
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            continue
        value = str(raw).strip()
        # Moodle leaves a substitution variable it cannot resolve as is ("$Person.address.timezone").
        if not value or value.startswith("$"):
            continue
        if name in PROFILE_TEXT_PARAMS:
            found[name] = value[: PROFILE_TEXT_PARAMS[name]]
        elif name in PROFILE_TAG_PARAMS:
            tags = normalise_tags(value)
            if tags:
                found[PROFILE_TAG_PARAMS[name]] = tags
        elif name == "timezone" and _is_time_zone(value):
            found["time_zone"] = value
    return found


def _param_name(key: str) -> str:
    key = key.strip().lower()
    return key[len("custom_") :] if key.startswith("custom_") else key


def _is_time_zone(value: str) -> bool:
    if len(value) > 64:
        return False
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# -------------------------------------------------------------------------------------------- helpers


def _ensure(session: Session, model: type[M], keys: dict[str, Any]) -> M:
    """The row with these unique ``keys``, inserted first if missing (safe against a concurrent insert)."""
    query = select(model).filter_by(**keys)
    found = session.scalars(query).one_or_none()
    if found is not None:
        return found
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    values = dict(keys)
    if hasattr(model, "created_at"):
        values.update(created_at=now, updated_at=now)
    session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=list(keys)))
    return session.scalars(query).one()


def _assign(obj: Any, field: str, value: Any) -> None:
    """Set a field only when it changes, so an unchanged launch writes no UPDATE."""
    if getattr(obj, field) != value:
        setattr(obj, field, value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any, limit: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value).strip()[:limit]


def _id(value: Any, what: str) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if not text:
        return None
    if len(text) > MAX_ID:
        raise LaunchError(f"The launch's {what} is longer than {MAX_ID} characters.", code="invalid_claim")
    return text
