"""What the trainer's matching pages show, each gathered by one call in a fixed number of queries: the
programme's matching home (questionnaire, recent runs, pins and bans) and the review of one run (a page
of pairs, the unmatched, the pins it could not honour, the mentors a pair can be pinned to)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.models.matching import MatchingRun
from lti_app.models.person import Enrolment, Person
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.services.access import Actor, require_programme_trainer
from lti_app.services.capacity import may_mentor
from lti_app.services.matching.constraints import ConstraintRow, list_constraints
from lti_app.services.matching.publish import start_mode
from lti_app.services.matching.questionnaire import Questionnaire, load_questionnaire
from lti_app.services.matching.runs import PAGE_SIZE, RunView, list_runs, proposed_run, view_run


@dataclass
class MatchingHome:
    programme: Programme
    questionnaire: Questionnaire
    runs: list[MatchingRun]
    proposed: MatchingRun | None
    constraints: list[ConstraintRow]
    start_mode: str


@dataclass
class Review:
    programme: Programme
    view: RunView
    constraints: list[ConstraintRow]
    mentors: list[Person]
    start_mode: str


def matching_home(session: Session, actor: Actor, programme_id: int) -> MatchingHome:
    programme = require_programme_trainer(session, actor, programme_id)
    return MatchingHome(
        programme,
        load_questionnaire(session, programme),
        list_runs(session, actor, programme_id, limit=10),
        proposed_run(session, programme_id),
        list_constraints(session, actor, programme_id),
        start_mode(programme),
    )


def review(
    session: Session, actor: Actor, programme_id: int, run_id: int, *, offset: int = 0, limit: int = PAGE_SIZE
) -> Review:
    view = view_run(session, actor, programme_id, run_id, offset=offset, limit=limit)
    programme = view.run.programme
    return Review(
        programme,
        view,
        list_constraints(session, actor, programme_id),
        mentor_options(session, programme),
        start_mode(programme),
    )


def mentor_options(session: Session, programme: Programme) -> list[Person]:
    """Everyone who may mentor in the programme, by name, for the "pin a pair" form (one query)."""
    rows = session.execute(
        select(Person, Enrolment.roles, ProgrammeMembership)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .outerjoin(
            ProgrammeMembership,
            (ProgrammeMembership.person_id == Person.id) & (ProgrammeMembership.programme_id == programme.id),
        )
        .where(Enrolment.course_id == programme.course_id, Enrolment.status == "active")
        .order_by(Person.family_name, Person.given_name, Person.id)
    ).all()
    return [person for person, roles, membership in rows if may_mentor(programme, roles or (), membership)]
