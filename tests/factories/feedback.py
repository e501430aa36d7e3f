"""360 feedback helpers: cycles, raters and answers go through the services, so every test sees the same
rows the app writes (the self-assessment request, frozen template versions, unlinked responses)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import factory
from sqlalchemy import select

from lti_app.extensions import db
from lti_app.models.base import utcnow
from lti_app.models.course import Course
from lti_app.models.feedback import OPEN, RATING, SELF, FeedbackCycle, FeedbackItem, FeedbackRequest
from lti_app.models.person import Person
from lti_app.services.access import Actor
from lti_app.services.feedback import answering, cycles, nominations
from lti_app.services.feedback.answering import Answers
from lti_app.services.feedback.cycles import CycleSettings
from tests.factories.core import CourseFactory, EnrolmentFactory, _Base, actor_for


class RaterPersonFactory(_Base):
    """A person on an existing registration (``Person`` has no ``registration`` relationship, so the core
    ``PersonFactory`` cannot take one)."""

    class Meta:
        model = Person

    registration_id = None
    sub = factory.Sequence(lambda n: f"fb{n + 1000}")
    given_name = factory.Sequence(lambda n: f"Rater{n}")
    family_name = factory.Sequence(lambda n: f"Surname{n}")
    name = factory.LazyAttribute(lambda o: f"{o.given_name} {o.family_name}")
    email = factory.LazyAttribute(lambda o: f"{o.given_name.lower()}@example.test")


def enrol(course: Course, *roles: str, **fields: object) -> Person:
    person = RaterPersonFactory(registration_id=course.registration_id, **fields)
    EnrolmentFactory(course=course, person=person, roles=list(roles or ("participant",)))
    return person


@dataclass
class Setup:
    course: Course
    subject: Person
    trainer: Person
    subject_actor: Actor
    trainer_actor: Actor


def course_with_subject() -> Setup:
    course = CourseFactory()
    subject = enrol(course, "participant")
    trainer = enrol(course, "trainer")
    return Setup(course, subject, trainer, actor_for(subject, course), actor_for(trainer, course, "trainer"))


def start_cycle(
    setup: Setup,
    *,
    by_trainer: bool = False,
    settings: CycleSettings | None = None,
    subject: Person | None = None,
    **kwargs,
) -> FeedbackCycle:
    """A cycle about the setup's subject (or ``subject``, started by the trainer)."""
    by_trainer = by_trainer or settings is not None or subject is not None
    actor = setup.trainer_actor if by_trainer else setup.subject_actor
    if by_trainer:
        kwargs.setdefault("subject_id", (subject or setup.subject).id)
    return cycles.create_cycle(db.session, actor, course_id=setup.course.id, settings=settings, **kwargs)


@dataclass
class Rater:
    person: Person | None
    request: FeedbackRequest

    @property
    def actor(self) -> Actor:
        assert self.person is not None
        return Actor(
            self.person.id,
            self.person.registration_id,
            self.request.cycle.course_id,
            frozenset({"participant"}),
        )


def add_raters(
    setup: Setup, cycle: FeedbackCycle, group: str, count: int, *, by: Actor | None = None
) -> list[Rater]:
    """``count`` people of the course nominated in ``group`` (by the trainer unless ``by`` says otherwise)."""
    found = []
    for _ in range(count):
        person = enrol(setup.course, "participant")
        request = nominations.nominate(
            db.session, by or setup.trainer_actor, cycle.id, group=group, person_id=person.id
        )
        found.append(Rater(person, request))
    return found


def self_rater(setup: Setup, cycle: FeedbackCycle) -> Rater:
    request = db.session.scalars(
        select(FeedbackRequest).where(
            FeedbackRequest.cycle_id == cycle.id, FeedbackRequest.rater_group == SELF
        )
    ).one()
    return Rater(setup.subject, request)


def items(cycle: FeedbackCycle, kind: str = RATING) -> list[FeedbackItem]:
    return list(
        db.session.scalars(
            select(FeedbackItem)
            .where(FeedbackItem.version_id == cycle.template_version_id, FeedbackItem.kind == kind)
            .order_by(FeedbackItem.position)
        )
    )


def full_answers(
    cycle: FeedbackCycle,
    score: int | Mapping[int, int | None] | Sequence[int | None] = 3,
    comments: Mapping[int, str] | None = None,
) -> Answers:
    """Every rating item answered: one score for all, a list in questionnaire order, or item id → score."""
    rating_items = items(cycle)
    if isinstance(score, int):
        ratings = {i.id: score for i in rating_items}
    elif isinstance(score, Mapping):
        ratings = {i.id: score.get(i.id, 3) for i in rating_items}
    else:
        ratings = {i.id: s for i, s in zip(rating_items, score, strict=True)}
    return Answers(ratings, dict(comments or {}))


def submit(rater: Rater, answers: Answers, now: datetime | None = None) -> str:
    return answering.answer_as_person(
        db.session, rater.actor, rater.request.id, answering.SUBMIT, answers, now=now
    )


def open_questions(cycle: FeedbackCycle) -> list[FeedbackItem]:
    return items(cycle, OPEN)


def later(days: int = 30) -> datetime:
    return utcnow() + timedelta(days=days)
