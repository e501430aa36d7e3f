"""The trainer's own decisions about pairs, honoured by every later run of the programme.

A pin (``fixed``) gives a mentee a mentor whatever the scores say (but never against a must / must-not
criterion or a full mentor: the run reports such a pin as a conflict); a ban (``forbidden``) keeps two
people apart for good. A mentee has at most one pin; pinning and banning the same pair replace each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, aliased

from lti_app.errors import NotFound, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.matching import CONSTRAINT_KINDS, FIXED, PairConstraint
from lti_app.models.person import Enrolment, Person
from lti_app.services.access import Actor, require_programme_trainer


@dataclass
class ConstraintRow:
    constraint: PairConstraint
    mentee_name: str
    mentor_name: str


def set_constraint(
    session: Session, actor: Actor, programme_id: int, mentee_id: int, mentor_id: int, kind: str
) -> ConstraintRow:
    programme = require_programme_trainer(session, actor, programme_id)
    if kind not in CONSTRAINT_KINDS:
        raise ValidationFailed("Pin (fixed) or forbid a pair.", details={"kind": list(CONSTRAINT_KINDS)})
    if mentee_id == mentor_id:
        raise ValidationFailed("Nobody mentors themselves.", details={"mentor_id": ["Same person."]})
    enrolled = set(
        session.scalars(
            select(Enrolment.person_id).where(
                Enrolment.course_id == programme.course_id,
                Enrolment.status == "active",
                Enrolment.person_id.in_([mentee_id, mentor_id]),
            )
        )
    )
    if {mentee_id, mentor_id} - enrolled:
        raise NotFound("No such person in this course.")
    same_pair = (PairConstraint.mentee_id == mentee_id) & (PairConstraint.mentor_id == mentor_id)
    clear = (
        same_pair | ((PairConstraint.mentee_id == mentee_id) & (PairConstraint.kind == FIXED))
        if kind == FIXED
        else same_pair
    )
    session.execute(
        delete(PairConstraint)
        .where(PairConstraint.programme_id == programme.id, clear)
        .execution_options(synchronize_session=False)
    )
    row = PairConstraint(
        programme_id=programme.id,
        mentee_id=mentee_id,
        mentor_id=mentor_id,
        kind=kind,
        created_by_id=actor.person_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    people = {
        p.id: p.display_name
        for p in session.scalars(select(Person).where(Person.id.in_([mentee_id, mentor_id])))
    }
    return ConstraintRow(row, people[mentee_id], people[mentor_id])


def remove_constraint(session: Session, actor: Actor, programme_id: int, constraint_id: int) -> None:
    require_programme_trainer(session, actor, programme_id)
    row = session.get(PairConstraint, constraint_id)
    if row is None or row.programme_id != programme_id:
        raise NotFound("No such pin or ban.")
    session.delete(row)
    session.flush()


def list_constraints(session: Session, actor: Actor, programme_id: int) -> list[ConstraintRow]:
    require_programme_trainer(session, actor, programme_id)
    mentee, mentor = aliased(Person), aliased(Person)
    rows = session.execute(
        select(PairConstraint, mentee, mentor)
        .join(mentee, mentee.id == PairConstraint.mentee_id)
        .join(mentor, mentor.id == PairConstraint.mentor_id)
        .where(PairConstraint.programme_id == programme_id)
        .order_by(PairConstraint.kind, PairConstraint.id)
    ).all()
    return [ConstraintRow(c, e.display_name, r.display_name) for c, e, r in rows]
