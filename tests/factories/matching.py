"""Factories for the matching questionnaire, and helpers that build a programme's pool of people."""

from __future__ import annotations

from typing import Any

import factory

from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.matching import MatchingCriterion, PairConstraint, ProgrammeQuestion
from lti_app.models.person import Person
from lti_app.models.profile import Profile
from lti_app.models.programme import Programme, ProgrammeMembership
from tests.factories.core import ProgrammeFactory, _Base, enrol


class MatchingCriterionFactory(_Base):
    class Meta:
        model = MatchingCriterion

    class Params:
        programme = factory.SubFactory(ProgrammeFactory)

    programme_id = factory.SelfAttribute("programme.id")
    position = factory.Sequence(lambda n: n)
    source = "profile"
    field = "skills"
    kind = "complementarity"
    weight = 5
    tolerance = 0.0


class ProgrammeQuestionFactory(_Base):
    class Meta:
        model = ProgrammeQuestion

    class Params:
        programme = factory.SubFactory(ProgrammeFactory)

    programme_id = factory.SelfAttribute("programme.id")
    key = factory.Sequence(lambda n: f"q{n}")
    position = factory.Sequence(lambda n: n)
    text = factory.Sequence(lambda n: f"Question {n}?")
    multiple = False
    required = False
    options = factory.LazyFunction(
        lambda: [{"key": "o1", "label": "Yes"}, {"key": "o2", "label": "No"}, {"key": "o3", "label": "Maybe"}]
    )


class PairConstraintFactory(_Base):
    class Meta:
        model = PairConstraint

    class Params:
        programme = factory.SubFactory(ProgrammeFactory)

    programme_id = factory.SelfAttribute("programme.id")
    kind = "fixed"


def criterion(
    programme: Programme, field: str, kind: str, weight: int = 5, **extra: Any
) -> MatchingCriterion:
    return MatchingCriterionFactory(programme=programme, field=field, kind=kind, weight=weight, **extra)


def mentor(
    course: Course,
    programme: Programme,
    *,
    capacity: int | None = None,
    roles: tuple[str, ...] = ("participant",),
    answers: dict[str, Any] | None = None,
    **profile: Any,
) -> Person:
    """A person enrolled in the course who offers mentoring in the programme, with ``capacity`` as their
    per-programme figure (None: the programme default)."""
    person = enrol(course, *roles)
    db.session.add(Profile(person_id=person.id, **profile))
    db.session.add(
        ProgrammeMembership(
            programme_id=programme.id,
            person_id=person.id,
            open_to_mentor=True,
            open_to_be_mentored=False,
            capacity_override=capacity,
            answers=answers or {},
        )
    )
    db.session.flush()
    return person


def mentee(
    course: Course,
    programme: Programme,
    *,
    answers: dict[str, Any] | None = None,
    joined: bool = True,
    **profile: Any,
) -> Person:
    """A participant looking for a mentor in the programme (``joined``: with a membership row)."""
    person = enrol(course, "participant")
    db.session.add(Profile(person_id=person.id, **profile))
    if joined:
        db.session.add(
            ProgrammeMembership(
                programme_id=programme.id,
                person_id=person.id,
                open_to_be_mentored=True,
                answers=answers or {},
            )
        )
    db.session.flush()
    return person
