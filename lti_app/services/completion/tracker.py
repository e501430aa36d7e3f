"""Keeping ``Completion`` rows true: re-evaluated when something relevant changes (a domain event, in the
caller's transaction) and by the periodic sweep (time passing makes "active for N days" true by itself).

A change of the score the LMS should hold bumps the completion's version and timestamp and queues an outbox
job in the same transaction. A person is reported once their rule is met, from the start when the rule says
to report progress, and from then on at every change (so a completion that no longer holds is withdrawn).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from lti_app.models.base import utcnow
from lti_app.models.completion import Completion
from lti_app.models.programme import Programme
from lti_app.models.relationship import (
    ACTIVE,
    COMPLETED,
    ENDED,
    MENTEE,
    MENTOR,
    PAUSED,
    Relationship,
    RelationshipMember,
)
from lti_app.services import events
from lti_app.services.completion import outbox
from lti_app.services.completion.evaluation import Facts, Outcome, best, evaluate, reported_score
from lti_app.services.completion.metrics import DomainMetrics
from lti_app.services.completion.rules import (
    ACTIVE_DAYS,
    CHECKIN,
    FEEDBACK_AFTER,
    GOALS,
    MEETINGS,
    Rule,
    stored_rule,
)

# Relationships that count towards completion: they started. Requests never answered do not.
COUNTED_STATUSES = (ACTIVE, PAUSED, COMPLETED, ENDED)
BATCH = 500
STALE_AFTER = timedelta(days=1)


def handle_event(session: Session, event: events.DomainEvent) -> None:
    """The domain event subscriber: re-evaluate whoever the change may concern."""
    if event.kind == events.PROGRAMME_RULES_CHANGED:
        if event.programme_id is not None:
            refresh_programme(session, event.programme_id)
        return
    people = set(event.person_ids)
    programme_id = event.programme_id
    if event.relationship_id is not None:
        relationship = session.get(Relationship, event.relationship_id)
        if relationship is not None:
            programme_id = programme_id or relationship.programme_id
            people.update(relationship.person_ids())
    if not people:
        return
    if programme_id is not None:
        refresh_people(session, programme_id, people)
        return
    # A change about a person, not a programme (e.g. a standalone 360 cycle): every programme they are in.
    for pid in _programmes_of(session, people):
        refresh_people(session, pid, people)


def refresh_programme(session: Session, programme_id: int, *, now: datetime | None = None) -> int:
    """Re-evaluate everyone in the programme (after its rule changed); returns how many were evaluated."""
    people = set(
        session.scalars(
            select(RelationshipMember.person_id)
            .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
            .where(Relationship.programme_id == programme_id, Relationship.status.in_(COUNTED_STATUSES))
        )
    )
    people.update(
        session.scalars(select(Completion.person_id).where(Completion.programme_id == programme_id))
    )
    ordered = sorted(people)
    for start in range(0, len(ordered), BATCH):
        refresh_people(session, programme_id, ordered[start : start + BATCH], now=now)
    return len(ordered)


def refresh_people(
    session: Session, programme_id: int, person_ids: Iterable[int], *, now: datetime | None = None
) -> dict[int, Completion]:
    """Evaluate these people on the programme's rule, update their completions and queue what the LMS
    must learn. A programme without a rule is left alone (nothing to evaluate, nothing to send)."""
    programme = session.get(Programme, programme_id)
    people = sorted(set(person_ids))
    if programme is None or not people:
        return {}
    rule = stored_rule(programme.completion_rule)
    if rule.is_empty:
        return {}
    now = now or utcnow()
    outcomes = outcomes_for(session, programme, rule, people, now)
    existing = _locked(session, programme_id, people)
    wanted = [pid for pid in people if pid in outcomes or pid in existing]
    missing = [pid for pid in wanted if pid not in existing]
    if missing:
        existing.update(_create(session, programme_id, missing, now))
    for pid in wanted:
        outcome = best(outcomes.get(pid, ()), rule)
        apply_outcome(session, existing[pid], programme, rule, outcome, now)
    session.flush()
    return {pid: existing[pid] for pid in wanted}


def apply_outcome(
    session: Session,
    completion: Completion,
    programme: Programme,
    rule: Rule,
    outcome: Outcome,
    now: datetime,
) -> bool:
    """Record the outcome; queue a job when the score the LMS should hold changed and is reportable.
    Returns True when a job was queued."""
    completion.relationship_id = outcome.relationship_id
    completion.role = outcome.role
    completion.met = outcome.met
    completion.conditions_met = outcome.conditions_met
    completion.conditions_total = outcome.conditions_total
    progress = [r.to_json() for r in outcome.results]
    if completion.progress != progress:
        completion.progress = progress
    completion.summary = outcome.summary[:500]
    completion.evaluated_at = now
    score = reported_score(rule, outcome, programme.score_maximum)
    current = (completion.activity_progress, completion.grading_progress, completion.score_given)
    if current == (score.activity_progress, score.grading_progress, score.score_given) and completion.version:
        return False
    first = completion.version == 0
    completion.activity_progress = score.activity_progress
    completion.grading_progress = score.grading_progress
    completion.score_given = score.score_given
    completion.version += 1
    completion.changed_at = now if first else outbox.next_timestamp(completion, now)
    if outcome.met or rule.report_progress or completion.reported:
        completion.reported = True
        session.flush()
        outbox.enqueue(session, completion, programme.score_maximum, now)
        return True
    return False


def sweep(session: Session, *, now: datetime | None = None, limit: int = 5000) -> int:
    """The periodic pass: people whose relationship has become long enough since they were last
    evaluated, and completions not evaluated for a day (a safety net for anything an event missed).
    Returns how many people were re-evaluated; the caller commits."""
    now = now or utcnow()
    due: dict[int, set[int]] = defaultdict(set)
    for programme in session.scalars(select(Programme).where(Programme.completion_rule.is_not(None))):
        rule = stored_rule(programme.completion_rule)
        condition = rule.condition(ACTIVE_DAYS)
        if condition is not None:
            due[programme.id].update(_crossed(session, programme.id, rule, condition.amount, now, limit))
    stale = session.execute(
        select(Completion.programme_id, Completion.person_id)
        .where(Completion.evaluated_at < now - STALE_AFTER)
        .order_by(Completion.evaluated_at)
        .limit(limit)
    )
    for programme_id, person_id in stale:
        due[programme_id].add(person_id)
    total = 0
    for programme_id, people in due.items():
        ordered = sorted(people)
        for start in range(0, len(ordered), BATCH):
            total += len(refresh_people(session, programme_id, ordered[start : start + BATCH], now=now))
    return total


def _crossed(
    session: Session, programme_id: int, rule: Rule, days: int, now: datetime, limit: int
) -> set[int]:
    """Members of running relationships that reached ``days`` after their last evaluation."""
    length = timedelta(days=days)
    roles = (MENTEE, MENTOR) if rule.mentors_complete else (MENTEE,)
    rows = session.execute(
        select(RelationshipMember.person_id, Relationship.started_at, Completion.evaluated_at)
        .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
        .outerjoin(
            Completion,
            and_(
                Completion.programme_id == programme_id,
                Completion.person_id == RelationshipMember.person_id,
            ),
        )
        .where(
            Relationship.programme_id == programme_id,
            Relationship.status.in_((ACTIVE, PAUSED)),
            Relationship.started_at <= now - length,
            RelationshipMember.role.in_(roles),
            or_(Completion.id.is_(None), Completion.met.is_(False)),
        )
        .limit(limit)
    )
    return {pid for pid, started, evaluated in rows if evaluated is None or evaluated < started + length}


# ------------------------------------------------------------------------------------------- internals


def outcomes_for(
    session: Session, programme: Programme, rule: Rule, people: Sequence[int], now: datetime
) -> dict[int, list[Outcome]]:
    """Every counted relationship of these people in the programme, evaluated for each of them (mentors
    only when the rule gives them completion)."""
    wanted = set(people)
    relationships = session.scalars(
        select(Relationship)
        .where(
            Relationship.programme_id == programme.id,
            Relationship.status.in_(COUNTED_STATUSES),
            Relationship.id.in_(
                select(RelationshipMember.relationship_id).where(RelationshipMember.person_id.in_(people))
            ),
        )
        .options(selectinload(Relationship.members))
        .order_by(Relationship.id)
    )
    metrics = DomainMetrics(session)
    found: dict[int, list[Outcome]] = defaultdict(list)
    for relationship in relationships:
        for member in relationship.members:
            if member.person_id not in wanted:
                continue
            if member.role == MENTOR and not rule.mentors_complete:
                continue
            facts = _facts(rule, programme, relationship, member, metrics)
            found[member.person_id].append(evaluate(rule, facts, now))
    return found


def _facts(
    rule: Rule, programme: Programme, relationship: Relationship, member: RelationshipMember,
    metrics: DomainMetrics,
) -> Facts:
    meetings = goals = None
    checkin = feedback = None
    meeting_rule = rule.condition(MEETINGS)
    if meeting_rule is not None:
        meetings = metrics.meetings(relationship.id, meeting_rule.confirmed)
    if rule.condition(GOALS) is not None:
        goals = metrics.goals(relationship.id)
    if rule.condition(CHECKIN) is not None:
        checkin = metrics.checkin_answered(relationship.id, member.person_id)
    if rule.condition(FEEDBACK_AFTER) is not None:
        feedback = metrics.feedback_after_done(member.person_id, programme.id)
    return Facts(
        relationship_id=relationship.id,
        role=member.role,
        status=relationship.status,
        started_at=relationship.started_at or relationship.responded_at,
        ended_at=relationship.ended_at,
        meetings=meetings,
        goals_achieved=goals[0] if goals else None,
        goals_total=goals[1] if goals else None,
        checkin_answered=checkin,
        feedback_after_done=feedback,
    )


def _locked(session: Session, programme_id: int, people: Sequence[int]) -> dict[int, Completion]:
    """Existing completions, locked in person order: two transactions evaluating one person queue one
    job after the other, never side by side."""
    rows = session.scalars(
        select(Completion)
        .where(Completion.programme_id == programme_id, Completion.person_id.in_(people))
        .order_by(Completion.person_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.person_id: row for row in rows}


def _create(
    session: Session, programme_id: int, people: Sequence[int], now: datetime
) -> dict[int, Completion]:
    """Insert the missing completions (a concurrent insert of the same one is tolerated), then lock them."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values: list[dict[str, Any]] = [
        {
            "programme_id": programme_id, "person_id": pid, "role": "", "met": False, "conditions_met": 0,
            "conditions_total": 0, "progress": [], "summary": "", "activity_progress": "Initialized",
            "grading_progress": "NotReady", "score_given": None, "version": 0, "changed_at": now,
            "evaluated_at": now, "reported": False, "created_at": now, "updated_at": now,
        }
        for pid in people
    ]
    session.execute(
        insert(Completion).values(values).on_conflict_do_nothing(index_elements=["programme_id", "person_id"])
    )
    return _locked(session, programme_id, people)


def _programmes_of(session: Session, people: Iterable[int]) -> list[int]:
    return sorted(
        set(
            session.scalars(
                select(Relationship.programme_id)
                .join(RelationshipMember, RelationshipMember.relationship_id == Relationship.id)
                .join(Programme, Programme.id == Relationship.programme_id)
                .where(
                    RelationshipMember.person_id.in_(list(people)),
                    Relationship.status.in_(COUNTED_STATUSES),
                    Programme.completion_rule.is_not(None),
                )
            )
        )
    )
