"""Factories and helpers for the mentoring domain: mentors and mentees ready for a programme."""

from __future__ import annotations

from typing import Any

import factory

from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.notification import Notification
from lti_app.models.person import Person
from lti_app.models.profile import Profile
from lti_app.models.programme import Programme, ProgrammeMembership
from tests.factories.core import EnrolmentFactory, _Base


class PersonOnRegistrationFactory(_Base):
    """A person on an existing registration (``Person`` maps ``registration_id`` only, no relationship, so
    the core ``PersonFactory``'s ``registration=`` cannot be used)."""

    class Meta:
        model = Person

    registration_id = None
    sub = factory.Sequence(lambda n: f"m{n + 1000}")
    given_name = factory.Sequence(lambda n: f"Given{n}")
    family_name = factory.Sequence(lambda n: f"Family{n}")
    name = factory.LazyAttribute(lambda o: f"{o.given_name} {o.family_name}")
    email = factory.LazyAttribute(lambda o: f"{o.given_name.lower()}@example.test")


def enrol(course: Course, *roles: str, **person_fields: Any) -> Person:
    """A person enrolled in ``course`` with the given Tandem roles (default participant). With ``admin`` they
    are a platform admin, as a launch with an administrator role makes them (the flag is what counts)."""
    person_fields.setdefault("is_platform_admin", "admin" in roles)
    person = PersonOnRegistrationFactory(registration_id=course.registration_id, **person_fields)
    EnrolmentFactory(course=course, person=person, roles=list(roles or ("participant",)))
    return person


class NotificationFactory(_Base):
    class Meta:
        model = Notification

    kind = "request.asked"
    params = factory.LazyFunction(lambda: {"asker": "Someone", "programme": "Programme"})


def with_profile(person: Person, **fields: Any) -> Profile:
    profile = Profile(person_id=person.id, **fields)
    db.session.add(profile)
    db.session.flush()
    return profile


def join(programme: Programme, person: Person, **fields: Any) -> ProgrammeMembership:
    row = ProgrammeMembership(programme_id=programme.id, person_id=person.id, **fields)
    db.session.add(row)
    db.session.flush()
    return row


def mentor(
    programme: Programme,
    *roles: str,
    capacity: int | None = None,
    skills: list[str] | None = None,
    course: Course | None = None,
    **profile: Any,
) -> Person:
    """Someone enrolled in the programme's course, opted in to mentor there, with a profile."""
    person = enrol(course or programme.course, *(roles or ("participant",)))
    with_profile(person, skills=skills or [], **profile)
    join(programme, person, open_to_mentor=True, capacity_override=capacity)
    return person


def mentee(programme: Programme, *roles: str, course: Course | None = None, **profile: Any) -> Person:
    person = enrol(course or programme.course, *(roles or ("participant",)))
    with_profile(person, **profile)
    return person
