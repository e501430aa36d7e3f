"""Factories for diary entries, action items, goals and check-ins, and a ready-made cast for the
visibility matrix: a pair, a trainer, an admin and an outsider around one programme."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import factory

from lti_app.models.checkin import CheckIn
from lti_app.models.course import Course
from lti_app.models.diary import ActionItem, DiaryEntry
from lti_app.models.goal import Goal
from lti_app.models.person import Person
from lti_app.models.programme import Programme
from lti_app.models.relationship import Relationship
from lti_app.services.access import Actor
from tests.factories.core import (
    CourseFactory,
    EnrolmentFactory,
    ProgrammeFactory,
    RelationshipFactory,
    _Base,
    actor_for,
    pair,
)


class PersonOnPlatformFactory(_Base):
    """A person on an existing registration (``Person`` maps ``registration_id`` only, no relationship)."""

    class Meta:
        model = Person

    registration_id = None
    sub = factory.Sequence(lambda n: f"d{n + 1000}")
    given_name = factory.Sequence(lambda n: f"Given{n}")
    family_name = factory.Sequence(lambda n: f"Family{n}")
    name = factory.LazyAttribute(lambda o: f"{o.given_name} {o.family_name}")
    email = factory.LazyAttribute(lambda o: f"{o.given_name.lower()}@example.test")


def enrol(course: Course, *roles: str, **person_fields: Any) -> Person:
    """A person enrolled in ``course`` with the given Tandem roles (default participant)."""
    person = PersonOnPlatformFactory(registration_id=course.registration_id, **person_fields)
    EnrolmentFactory(course=course, person=person, roles=list(roles or ("participant",)))
    return person


class DiaryEntryFactory(_Base):
    class Meta:
        model = DiaryEntry

    class Params:
        relationship = factory.SubFactory(RelationshipFactory)

    relationship_id = factory.LazyAttribute(lambda o: o.relationship.id)
    author_id = None
    kind = "meeting"
    visibility = "shared"
    occurred_on = factory.LazyFunction(lambda: datetime.now(UTC).date())
    duration_minutes = 45
    title = factory.Sequence(lambda n: f"Meeting {n}")
    body = "We talked about next steps."
    version = 1


class ActionItemFactory(_Base):
    class Meta:
        model = ActionItem

    entry = factory.SubFactory(DiaryEntryFactory)
    relationship_id = factory.SelfAttribute("entry.relationship_id")
    text = factory.Sequence(lambda n: f"Action {n}")
    due_on = None
    done = False


class GoalFactory(_Base):
    class Meta:
        model = Goal

    class Params:
        rel: Any = None  # the relationship the goal belongs to

    relationship_id = factory.LazyAttribute(lambda o: o.rel.id if o.rel else None)
    programme_id = factory.LazyAttribute(lambda o: o.rel.programme_id if o.rel else None)
    course_id = factory.LazyAttribute(lambda o: o.rel.programme.course_id if o.rel else None)
    owner_id = None
    title = factory.Sequence(lambda n: f"Goal {n}")
    accepted_at = factory.LazyFunction(lambda: datetime.now(UTC))
    status = "not_started"
    progress = 0


class CheckInFactory(_Base):
    class Meta:
        model = CheckIn

    relationship_id = None
    person_id = None
    period = factory.Sequence(lambda n: f"month:2026-{(n % 12) + 1:02d}-{n}")
    usefulness = 4
    pairing = "yes"
    comment = ""


@dataclass
class Cast:
    """One programme's people: ``mentor`` and ``mentee`` in ``relationship``; ``trainer`` of the course;
    ``admin`` of the platform; ``outsider``, a participant of the course in no relationship."""

    course: Course
    programme: Programme
    relationship: Relationship
    mentor: Person
    mentee: Person
    trainer: Person
    admin: Person
    outsider: Person

    def actor(self, who: str) -> Actor:
        roles = {"trainer": ("trainer",), "admin": ("admin",)}.get(who, ("participant",))
        return actor_for(getattr(self, who), self.course, *roles)


def cast(status: str = "active", **rules: Any) -> Cast:
    """Everyone the visibility rules talk about, around a programme with the given rule columns."""
    course = CourseFactory()
    programme = ProgrammeFactory(course=course, **rules)
    mentor, mentee, outsider = enrol(course), enrol(course), enrol(course)
    trainer = enrol(course, "trainer")
    admin = PersonOnPlatformFactory(registration_id=course.registration_id, is_platform_admin=True)
    relationship = pair(programme, mentor, mentee, status)
    relationship.started_at = datetime(2026, 1, 5, tzinfo=UTC)
    return Cast(course, programme, relationship, mentor, mentee, trainer, admin, outsider)


def a_day(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)
