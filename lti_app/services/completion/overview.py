"""What people see and do about completion, with the authorisation checks: the trainer's per-participant
progress and sync status (and the retry and resend actions), the rule editor, and a participant's own
progress. Queries are bounded: a programme's overview is a handful of queries whatever its size."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.errors import NotFound
from lti_app.models.audit import AuditEvent
from lti_app.models.base import utcnow
from lti_app.models.completion import Completion, SyncJob
from lti_app.models.person import Person
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.models.relationship import Relationship, RelationshipMember
from lti_app.services import events
from lti_app.services.access import Actor, require_programme_trainer
from lti_app.services.completion import outbox
from lti_app.services.completion.evaluation import NO_RELATIONSHIP, Outcome, best
from lti_app.services.completion.rules import Rule, describe, parse_rule, stored_rule
from lti_app.services.completion.tracker import COUNTED_STATUSES, outcomes_for
from lti_app.services.programmes import load_visible_programme


@dataclass(frozen=True)
class ParticipantProgress:
    person_id: int
    name: str
    role: str
    met: bool
    summary: str
    conditions_met: int
    conditions_total: int
    progress: list[dict[str, Any]]
    sync: outbox.SyncState
    evaluated_at: datetime | None = None


@dataclass(frozen=True)
class ProgrammeCompletion:
    programme: Programme
    rule: Rule
    rule_lines: list[str]
    participants: list[ParticipantProgress]
    sync_counts: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[ParticipantProgress]:
        return [p for p in self.participants if p.sync.status == "failed"]


@dataclass(frozen=True)
class MyProgress:
    programme: Programme
    rule: Rule
    rule_lines: list[str]
    met: bool
    summary: str
    conditions_met: int
    conditions_total: int
    progress: list[dict[str, Any]]
    applies: bool  # False when the rule does not give this person completion (e.g. a mentor)


def programme_completion(session: Session, actor: Actor, programme_id: int) -> ProgrammeCompletion:
    """Every participant's progress and sync status, for the programme's trainers (and admins)."""
    programme = require_programme_trainer(session, actor, programme_id)
    rule = stored_rule(programme.completion_rule)
    rows = session.execute(
        select(Completion, Person)
        .join(Person, Person.id == Completion.person_id)
        .where(Completion.programme_id == programme_id)
    ).all()
    completions = {completion.person_id: (completion, person) for completion, person in rows}
    others = session.execute(
        select(Person, RelationshipMember.role)
        .join(RelationshipMember, RelationshipMember.person_id == Person.id)
        .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
        .where(Relationship.programme_id == programme_id, Relationship.status.in_(COUNTED_STATUSES))
    ).all()
    joined = session.scalars(
        select(Person)
        .join(ProgrammeMembership, ProgrammeMembership.person_id == Person.id)
        .where(ProgrammeMembership.programme_id == programme_id)
    ).all()
    jobs = outbox.latest_jobs(session, programme_id)
    participants: dict[int, ParticipantProgress] = {}
    for completion, person in completions.values():
        participants[person.id] = _from_completion(person, completion, jobs.get(person.id))
    for person, role in others:
        if person.id not in participants:
            participants[person.id] = _unevaluated(person, role, rule, jobs.get(person.id))
    for person in joined:
        if person.id not in participants:
            participants[person.id] = _unevaluated(person, "", rule, jobs.get(person.id))
    ordered = sorted(participants.values(), key=lambda p: (p.name.lower(), p.person_id))
    return ProgrammeCompletion(programme, rule, describe(rule), ordered, outbox.counts(session, programme_id))


def my_progress(
    session: Session, actor: Actor, programme_id: int, *, now: datetime | None = None
) -> MyProgress:
    """The actor's own progress. Read from the stored completion; evaluated on the fly (nothing written)
    when there is none yet. A draft programme is missing to its learners, as everywhere."""
    programme = load_visible_programme(session, actor, programme_id)
    rule = stored_rule(programme.completion_rule)
    lines = describe(rule)
    if rule.is_empty:
        return MyProgress(programme, rule, lines, False, "", 0, 0, [], applies=False)
    completion = session.scalar(
        select(Completion).where(
            Completion.programme_id == programme_id, Completion.person_id == actor.person_id
        )
    )
    if completion is not None and completion.relationship_id is not None:
        return MyProgress(
            programme, rule, lines, completion.met, completion.summary, completion.conditions_met,
            completion.conditions_total, list(completion.progress or []), applies=True,
        )
    found = outcomes_for(session, programme, rule, [actor.person_id], now or utcnow())
    outcome: Outcome = best(found.get(actor.person_id, ()), rule)
    applies = outcome.relationship_id is not None or not _mentors_only(
        session, programme, rule, actor.person_id
    )
    return MyProgress(
        programme, rule, lines, outcome.met, outcome.summary, outcome.conditions_met,
        outcome.conditions_total, [r.to_json() for r in outcome.results], applies=applies,
    )


def rule_of(session: Session, actor: Actor, programme_id: int) -> tuple[Programme, Rule]:
    programme = require_programme_trainer(session, actor, programme_id)
    return programme, stored_rule(programme.completion_rule)


def set_rule(session: Session, actor: Actor, programme_id: int, data: dict[str, Any]) -> Programme:
    """Save the trainer's rule and re-evaluate everyone in the programme (in this transaction)."""
    programme = require_programme_trainer(session, actor, programme_id)
    rule = parse_rule(data)
    stored = None if rule.is_empty else rule.to_json()
    if stored == programme.completion_rule:
        return programme
    programme.completion_rule = stored
    session.add(
        AuditEvent(
            registration_id=actor.registration_id,
            course_id=programme.course_id,
            actor_id=actor.person_id,
            action="programme.completion_rule_changed",
            subject_type="programme",
            subject_id=programme.id,
            data={"rule": stored},
        )
    )
    session.flush()
    events.publish(session, events.DomainEvent(events.PROGRAMME_RULES_CHANGED, programme_id=programme.id))
    return programme


def retry_failed(session: Session, actor: Actor, programme_id: int, job_id: int | None = None) -> int:
    """Failed deliveries of the programme (or one of them) are tried again; returns how many."""
    require_programme_trainer(session, actor, programme_id)
    if job_id is not None and session.scalar(
        select(SyncJob.id).where(SyncJob.id == job_id, SyncJob.programme_id == programme_id)
    ) is None:
        raise NotFound("No such delivery in this programme.")
    return outbox.retry_failed(session, utcnow(), programme_id=programme_id, job_id=job_id)


def resend_all(session: Session, actor: Actor, programme_id: int) -> int:
    """Every reported completion of the programme is sent again; returns how many were queued."""
    programme = require_programme_trainer(session, actor, programme_id)
    return outbox.resend_programme(session, programme, utcnow())


# ------------------------------------------------------------------------------------------- internals


def _from_completion(person: Person, completion: Completion, job: SyncJob | None) -> ParticipantProgress:
    return ParticipantProgress(
        person_id=person.id,
        name=person.display_name,
        role=completion.role,
        met=completion.met,
        summary=completion.summary or NO_RELATIONSHIP,
        conditions_met=completion.conditions_met,
        conditions_total=completion.conditions_total,
        progress=list(completion.progress or []),
        sync=outbox.state_of(job),
        evaluated_at=completion.evaluated_at,
    )


def _unevaluated(person: Person, role: str, rule: Rule, job: SyncJob | None) -> ParticipantProgress:
    if rule.is_empty:
        summary = "No completion rule"
    elif role == "mentor" and not rule.mentors_complete:
        summary = "Mentors do not get completion in this programme"
    else:
        summary = "Not evaluated yet" if role else NO_RELATIONSHIP
    return ParticipantProgress(
        person.id, person.display_name, role, False, summary, 0, len(rule.conditions), [],
        outbox.state_of(job),
    )


def _mentors_only(session: Session, programme: Programme, rule: Rule, person_id: int) -> bool:
    """The person only mentors in this programme, and the rule gives mentors no completion."""
    if rule.mentors_complete:
        return False
    roles = set(
        session.scalars(
            select(RelationshipMember.role)
            .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
            .where(
                Relationship.programme_id == programme.id,
                Relationship.status.in_(COUNTED_STATUSES),
                RelationshipMember.person_id == person_id,
            )
        )
    )
    return bool(roles) and roles == {"mentor"}
