"""Publishing a proposal: every pair (or group) becomes a relationship, in the caller's one transaction.

Relationships are created through the relationship service, so publishing obeys exactly the rules a
trainer pairing people by hand obeys (programme model, who may mentor, capacity under the mentor's lock)
and notifies people the same way; all of them in one pass (``relationships.create_relationships``), so a
proposal of hundreds of pairs costs the same handful of statements as one of three. Anything refused stops
the whole publish: the caller rolls back and nothing is half-published.

Whether the new relationships start at once or wait for acceptance follows the programme's rules: in an
admin-led programme (or one where trainers arrange every pair) the trainer's word is final; where people
also choose for themselves, a match is a proposal they accept or decline, and it expires like a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lti_app.errors import Conflict, NotFound, RuleViolation
from lti_app.models.base import utcnow
from lti_app.models.matching import (
    FIXED,
    PROPOSED,
    PUBLISHED,
    MatchingRun,
    PairConstraint,
    ProposedPair,
    UnmatchedMentee,
)
from lti_app.models.profile import Profile
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.models.relationship import MENTOR, OPEN_STATUSES, PENDING, Relationship, RelationshipMember
from lti_app.services import relationships
from lti_app.services.access import Actor, require_programme_trainer
from lti_app.services.capacity import effective_capacity, mentor_loads
from lti_app.services.matching.pool import MATCHING_SOURCE

ACTIVE_START = "active"
PENDING_START = "pending"
NOTE = "Matched by the programme's matching questionnaire"


@dataclass
class PublishOutcome:
    run: MatchingRun
    started_as: str
    created: list[Relationship] = field(default_factory=list)
    kept: int = 0  # unchanged proposals from an earlier run, left as they are
    retracted: int = 0  # earlier proposals nobody had answered, replaced by this run


def start_mode(programme: Programme) -> str:
    """How published relationships start under the programme's rules."""
    if programme.matching_mode == "admin_led" or programme.request_policy == "trainers_only":
        return ACTIVE_START
    return PENDING_START


def publish(
    session: Session, actor: Actor, programme_id: int, run_id: int, *, now: datetime | None = None
) -> PublishOutcome:
    now = now or utcnow()
    programme = require_programme_trainer(session, actor, programme_id)
    run = session.scalars(
        select(MatchingRun)
        .where(MatchingRun.id == run_id, MatchingRun.programme_id == programme.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if run is None:
        raise NotFound("No such matching run.")
    if run.status != PROPOSED:
        raise Conflict(
            f"This run is {run.status}; only the current proposal can be published.", code="wrong_state"
        )
    pairs = list(
        session.scalars(select(ProposedPair).where(ProposedPair.run_id == run.id).order_by(ProposedPair.id))
    )
    covered = {p.mentee_id for p in pairs} | set(
        session.scalars(select(UnmatchedMentee.mentee_id).where(UnmatchedMentee.run_id == run.id))
    )
    scope_all = (run.params or {}).get("scope") == "all"
    groups = _groups(programme, pairs)
    retract, keep = _earlier_proposals(session, programme.id, covered, groups, scope_all)
    _check_room(session, programme, [g for g in groups if g not in keep.values()])
    outcome = PublishOutcome(run, start_mode(programme), kept=len(keep), retracted=len(retract))
    for rel_id in retract:
        relationships.retract(session, actor, rel_id, reason="Matching was run again", now=now)
    by_group = {g: rel_id for rel_id, g in keep.items()}
    new = [g for g in groups if g not in by_group]
    outcome.created = relationships.create_relationships(
        session,
        actor,
        programme.id,
        [([mentor_id], sorted(mentee_ids)) for mentor_id, mentee_ids in new],
        pending=outcome.started_as == PENDING_START,
        source=MATCHING_SOURCE,
        note=NOTE,
        now=now,
    )
    by_group.update({g: rel.id for g, rel in zip(new, outcome.created, strict=True)})
    for group, members in groups.items():
        for pair in members:
            pair.relationship_id = by_group[group]
    session.execute(
        delete(PairConstraint)
        .where(
            PairConstraint.programme_id == programme.id,
            PairConstraint.kind == FIXED,
            PairConstraint.mentee_id.in_([p.mentee_id for p in pairs]),
        )
        .execution_options(synchronize_session=False)
    )
    run.status, run.published_at, run.published_by_id = PUBLISHED, now, actor.person_id
    run.published_as = outcome.started_as
    session.flush()
    return outcome


Group = tuple[int, frozenset[int]]  # (mentor id, mentee ids)


def _check_room(session: Session, programme: Programme, groups: Iterable[Group]) -> None:
    """Refuse at once, in three queries, a proposal that gives some mentor more mentees than they now have
    room for (their capacity or load changed since the run), rather than after creating half of it. The
    relationship service checks each mentor again under its lock."""
    incoming: dict[int, int] = {}
    for mentor_id, mentee_ids in groups:
        incoming[mentor_id] = incoming.get(mentor_id, 0) + len(mentee_ids)
    if not incoming:
        return
    ids = list(incoming)
    limits = dict(
        session.execute(select(Profile.person_id, Profile.capacity).where(Profile.person_id.in_(ids)))
        .tuples()
        .all()
    )
    memberships = {
        m.person_id: m
        for m in session.scalars(
            select(ProgrammeMembership).where(
                ProgrammeMembership.programme_id == programme.id, ProgrammeMembership.person_id.in_(ids)
            )
        )
    }
    loads = mentor_loads(session, programme.id, ids)
    full = [
        pid
        for pid, count in incoming.items()
        if loads.get(pid, 0) + count > effective_capacity(programme, memberships.get(pid), limits.get(pid))
    ]
    if full:
        raise RuleViolation(
            f"{len(full)} mentor{'s have' if len(full) != 1 else ' has'} fewer free places than this "
            "proposal gives them (their capacity or mentees changed since it was made). Run matching again.",
            code="mentor_full",
            details={"mentor_ids": sorted(full)},
        )


def _groups(programme: Programme, pairs: Iterable[ProposedPair]) -> dict[Group, list[ProposedPair]]:
    """One relationship per pair, or per mentor with all their mentees in the group model."""
    if programme.model != "group":
        return {(p.mentor_id, frozenset({p.mentee_id})): [p] for p in pairs}
    by_mentor: dict[int, list[ProposedPair]] = {}
    for p in pairs:
        by_mentor.setdefault(p.mentor_id, []).append(p)
    return {
        (mentor, frozenset(p.mentee_id for p in members)): members for mentor, members in by_mentor.items()
    }


def _earlier_proposals(
    session: Session,
    programme_id: int,
    covered: set[int],
    groups: dict[Group, list[ProposedPair]],
    scope_all: bool,
) -> tuple[list[int], dict[int, Group]]:
    """Relationships to retract, and unchanged ones to keep (relationship id → group), after checking
    that nobody the run pairs was paired since it ran. Someone it left unmatched may have found a mentor
    meanwhile: their relationship is none of this run's business."""
    rows = session.execute(
        select(
            Relationship.id,
            Relationship.status,
            Relationship.source,
            RelationshipMember.person_id,
            RelationshipMember.role,
        )
        .join(RelationshipMember, RelationshipMember.relationship_id == Relationship.id)
        .where(Relationship.programme_id == programme_id, Relationship.status.in_(OPEN_STATUSES))
    ).all()
    mentors: dict[int, set[int]] = {}
    mentees: dict[int, set[int]] = {}
    replaceable: dict[int, bool] = {}
    for rel_id, status, source, person_id, role in rows:
        replaceable[rel_id] = scope_all and status == PENDING and source == MATCHING_SOURCE
        (mentors if role == MENTOR else mentees).setdefault(rel_id, set()).add(person_id)
    paired = {mentee for _, members in groups for mentee in members}
    touched = []
    for rel_id, replace in replaceable.items():
        theirs = mentees.get(rel_id, set())
        if not theirs & covered:
            continue
        if replace and theirs <= covered:
            touched.append(rel_id)
        elif theirs & paired:  # someone this run pairs is already in another relationship
            raise Conflict(
                "Some people in this proposal were paired since it was made. Run matching again.",
                code="stale_run",
            )
    keep: dict[int, Group] = {}
    retract = []
    for rel_id in touched:
        group = (min(mentors.get(rel_id, {0})), frozenset(mentees[rel_id]))
        if len(mentors.get(rel_id, ())) == 1 and group in groups and group not in keep.values():
            keep[rel_id] = group
        else:
            retract.append(rel_id)
    return sorted(retract), keep
