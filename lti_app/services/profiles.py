"""Mentoring profiles: one per person (so per registration), shared by every course and programme.

Tags (skills, interests, languages) are normalised on the way in, so "Public  Speaking" and
"public-speaking" are one skill for search and matching. Name, email and picture come from the launch
(``Person``); the rest is the person's own, prefilled by the launch from LTI custom parameters
(``lti_app.services.launch``) where the LMS sends them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from lti_app.domain.tags import normalise_tags
from lti_app.errors import NotFound, ValidationFailed
from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.services.access import Actor

TEXT_LIMITS = {
    "headline": 200,
    "bio": 5000,
    "goals": 2000,
    "location": 200,
    "department": 200,
    "time_zone": 64,
    "availability": 500,
}
TAG_FIELDS = ("skills", "skills_wanted", "interests", "languages")
MAX_TAGS = 30
EDITABLE_FIELDS = (*TEXT_LIMITS, *TAG_FIELDS, "capacity")

@dataclass(frozen=True)
class PersonProfile:
    person: Person
    profile: Profile | None

    @property
    def is_empty(self) -> bool:
        return self.profile is None or completeness(self.profile) == 0


def get_or_create(session: Session, person_id: int) -> Profile:
    profile = session.scalar(select(Profile).where(Profile.person_id == person_id))
    if profile is None:
        profile = Profile(person_id=person_id)
        session.add(profile)
        session.flush()
    return profile


def own_profile(session: Session, actor: Actor) -> PersonProfile:
    person = session.get(Person, actor.person_id)
    if person is None:
        raise NotFound("No such person.")
    profile = session.scalar(select(Profile).where(Profile.person_id == actor.person_id))
    return PersonProfile(person, profile)


def view_profile(session: Session, actor: Actor, person_id: int) -> PersonProfile:
    """A public profile: of someone who shares a course with the actor, someone they mentor in the LMS,
    or anyone on their platform for an admin. Anyone else does not exist, as far as the actor can tell."""
    person = session.get(Person, person_id)
    if person is None or not can_see_person(session, actor, person):
        raise NotFound("No such person.")
    profile = session.scalar(select(Profile).where(Profile.person_id == person_id))
    return PersonProfile(person, profile)


def can_see_person(session: Session, actor: Actor, person: Person) -> bool:
    if person.registration_id != actor.registration_id:
        return False
    if person.id == actor.person_id or actor.is_admin:
        return True
    mine, theirs = aliased(Enrolment), aliased(Enrolment)
    shared = session.scalar(
        select(mine.course_id)
        .join(theirs, theirs.course_id == mine.course_id)
        .where(
            mine.person_id == actor.person_id,
            mine.status == "active",
            theirs.person_id == person.id,
            theirs.status == "active",
        )
        .limit(1)
    )
    if shared is not None:
        return True
    scopes = session.scalars(select(Enrolment.mentor_of_subs).where(Enrolment.person_id == actor.person_id))
    return any(person.sub in (subs or ()) for subs in scopes)


def update_profile(session: Session, actor: Actor, data: Mapping[str, Any]) -> Profile:
    """The actor edits their own profile (nobody edits anyone else's)."""
    profile = get_or_create(session, actor.person_id)
    values = _validated({k: v for k, v in data.items() if k in EDITABLE_FIELDS})
    for key, value in values.items():
        setattr(profile, key, value)
    session.flush()
    return profile


def completeness(profile: Profile | None) -> int:
    """Share of the profile fields that matter for being found (0-100)."""
    if profile is None:
        return 0
    parts = [
        profile.headline,
        profile.skills,
        profile.goals or profile.skills_wanted,
        profile.languages,
        profile.bio,
        profile.availability,
    ]
    return round(100 * sum(1 for p in parts if p) / len(parts))


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    problems: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for field, limit in TEXT_LIMITS.items():
        if field in values:
            text = str(values[field] or "").strip()
            if len(text) > limit:
                problems.setdefault(field, []).append(f"At most {limit} characters.")
            clean[field] = text
    if clean.get("time_zone") and clean["time_zone"] not in _time_zones():
        problems.setdefault("time_zone", []).append("Not a known time zone (e.g. Europe/Paris).")
    for field in TAG_FIELDS:
        if field in values:
            tags = normalise_tags(values[field])
            if len(tags) > MAX_TAGS:
                problems.setdefault(field, []).append(f"At most {MAX_TAGS} entries.")
            clean[field] = tags
    if "capacity" in values:
        capacity = values["capacity"]
        if capacity is not None and (not isinstance(capacity, int) or not 0 <= capacity <= 100):
            problems.setdefault("capacity", []).append("A whole number from 0 to 100, or empty.")
        clean["capacity"] = capacity
    if problems:
        raise ValidationFailed("Some profile fields are invalid.", details=problems)
    return clean


_ZONES: frozenset[str] | None = None


def _time_zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES
