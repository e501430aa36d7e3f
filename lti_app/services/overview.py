"""Who mentors whom: a trainer's overview of one programme, and an admin's across the platform.

Built from a fixed number of queries (enrolments with people, memberships and profiles; the programme's
open relationships with their members), whatever the size of the course, then shaped in Python: a page of
thousands of participants costs the same handful of queries as a page of ten.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from lti_app.errors import PermissionDenied
from lti_app.models.base import utcnow
from lti_app.models.course import Course
from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.models.relationship import (
    ACTIVE,
    MENTEE,
    MENTOR,
    OPEN_STATUSES,
    PAUSED,
    PENDING,
    Relationship,
)
from lti_app.services.access import Actor, require_programme_trainer
from lti_app.services.capacity import effective_capacity, may_mentor

FILTER_STATUSES = ("mentor", "mentee", "matched", "unmatched", "overloaded", "full")


@dataclass
class ParticipantRow:
    person: Person
    roles: list[str]
    is_mentor: bool
    seeks_mentor: bool
    capacity: int
    load: int
    mentors: list[str] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return bool(self.mentors)

    @property
    def overloaded(self) -> bool:
        return self.is_mentor and self.load > self.capacity

    @property
    def full(self) -> bool:
        return self.is_mentor and self.load >= self.capacity


@dataclass
class PairRow:
    relationship: Relationship
    mentors: list[str]
    mentees: list[str]


@dataclass
class PendingRow:
    relationship: Relationship
    asker: str
    receivers: list[str]
    age_days: int

    @property
    def awaiting_approval(self) -> bool:
        rel = self.relationship
        return rel.needs_trainer_approval and rel.trainer_approved_at is None


@dataclass
class ProgrammeOverview:
    programme: Programme
    participants: list[ParticipantRow]
    mentors: list[ParticipantRow]
    unmatched: list[ParticipantRow]
    pairs: list[PairRow]
    stale_requests: list[PendingRow]
    counts: dict[str, int]
    status: str
    query: str
    stale_days: int


def programme_overview(
    session: Session,
    actor: Actor,
    programme_id: int,
    *,
    status: str = "",
    query: str = "",
    stale_days: int = 7,
    now: datetime | None = None,
) -> ProgrammeOverview:
    """Participants (filtered by ``status`` and a name/email ``query``), mentors with load against capacity,
    unmatched mentees, active pairs, and pending requests older than ``stale_days``."""
    now = now or utcnow()
    programme = require_programme_trainer(session, actor, programme_id)
    rows = session.execute(
        select(Enrolment.roles, Person, ProgrammeMembership, Profile.capacity)
        .join(Person, Person.id == Enrolment.person_id)
        .outerjoin(
            ProgrammeMembership,
            (ProgrammeMembership.person_id == Person.id) & (ProgrammeMembership.programme_id == programme.id),
        )
        .outerjoin(Profile, Profile.person_id == Person.id)
        .where(Enrolment.course_id == programme.course_id, Enrolment.status == "active")
        .order_by(Person.family_name, Person.given_name, Person.id)
    ).all()
    rels = list(
        session.scalars(
            select(Relationship)
            .where(Relationship.programme_id == programme.id, Relationship.status.in_(OPEN_STATUSES))
            .options(selectinload(Relationship.members))
            .order_by(Relationship.requested_at)
        )
    )
    names = {person.id: person.display_name for _, person, _, _ in rows}
    load: Counter[int] = Counter()
    mentors_of: dict[int, list[str]] = {}
    for rel in rels:
        if rel.status in (ACTIVE, PAUSED):
            mentees = rel.person_ids(MENTEE)
            for mentor_id in rel.person_ids(MENTOR):
                load[mentor_id] += len(mentees)
            for mentee_id in mentees:
                mentors_of.setdefault(mentee_id, []).extend(_named(names, rel.person_ids(MENTOR)))
    participants = []
    for roles, person, membership, own_capacity in rows:
        is_mentor = may_mentor(programme, roles or (), membership) or load[person.id] > 0
        seeks = membership.open_to_be_mentored if membership is not None else "participant" in (roles or ())
        participants.append(
            ParticipantRow(
                person=person,
                roles=list(roles or ()),
                is_mentor=is_mentor,
                seeks_mentor=bool(seeks),
                capacity=effective_capacity(programme, membership, own_capacity),
                load=load[person.id],
                mentors=mentors_of.get(person.id, []),
            )
        )
    pairs = [
        PairRow(rel, _named(names, rel.person_ids(MENTOR)), _named(names, rel.person_ids(MENTEE)))
        for rel in rels
        if rel.status in (ACTIVE, PAUSED)
    ]
    cutoff = now - timedelta(days=max(stale_days, 0))
    stale = [
        PendingRow(
            rel,
            names.get(rel.requested_by_id or 0, "A trainer"),
            _named(names, [p for p in rel.person_ids() if p != rel.requested_by_id]),
            (now - rel.requested_at).days,
        )
        for rel in rels
        if rel.status == PENDING and rel.requested_at <= cutoff
    ]
    mentors = [p for p in participants if p.is_mentor]
    unmatched = [p for p in participants if p.seeks_mentor and not p.matched and not p.is_mentor]
    counts = {
        "participants": len(participants),
        "mentors": len(mentors),
        "unmatched": len(unmatched),
        "active_pairs": len(pairs),
        "pending": sum(1 for r in rels if r.status == PENDING),
        "stale": len(stale),
        "full": sum(1 for m in mentors if m.full),
    }
    shown = [p for p in participants if _keep(p, status, query)]
    return ProgrammeOverview(
        programme, shown, mentors, unmatched, pairs, stale, counts, status, query, stale_days
    )


def overview_csv(overview: ProgrammeOverview) -> str:
    """The participants as shown (filters applied), one row each, for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "roles", "mentor", "seeks_mentor", "capacity", "load", "mentored_by"])
    for row in overview.participants:
        writer.writerow(
            [
                csv_cell(row.person.display_name),
                csv_cell(row.person.email or ""),
                " ".join(row.roles),
                "yes" if row.is_mentor else "no",
                "yes" if row.seeks_mentor else "no",
                row.capacity if row.is_mentor else "",
                row.load if row.is_mentor else "",
                csv_cell("; ".join(row.mentors)),
            ]
        )
    return out.getvalue()


@dataclass
class ProgrammeSummary:
    programme: Programme
    course: Course
    participants: int
    mentors: int
    active_pairs: int
    pending: int
    stale: int


@dataclass
class PlatformOverview:
    programmes: list[ProgrammeSummary]
    pairs: list[tuple[Course, Programme, PairRow]]
    truncated: bool


def platform_overview(
    session: Session,
    actor: Actor,
    *,
    course_id: int | None = None,
    stale_days: int = 7,
    pair_limit: int = 500,
    now: datetime | None = None,
) -> PlatformOverview:
    """The same across every course of the actor's platform: admins only."""
    if not actor.is_admin:
        raise PermissionDenied("Only administrators of this platform can see every course.")
    now = now or utcnow()
    query = (
        select(Programme, Course)
        .join(Course, Course.id == Programme.course_id)
        .where(Course.registration_id == actor.registration_id)
        .order_by(Course.title, Programme.title)
    )
    if course_id is not None:
        query = query.where(Course.id == course_id)
    found = session.execute(query).all()
    ids = [p.id for p, _ in found]
    course_ids = list({c.id for _, c in found})
    enrolled = (
        dict(
            session.execute(
                select(Enrolment.course_id, func.count(Enrolment.id))
                .where(Enrolment.course_id.in_(course_ids), Enrolment.status == "active")
                .group_by(Enrolment.course_id)
            )
            .tuples()
            .all()
        )
        if course_ids
        else {}
    )
    mentors = (
        dict(
            session.execute(
                select(ProgrammeMembership.programme_id, func.count(ProgrammeMembership.id))
                .where(
                    ProgrammeMembership.programme_id.in_(ids), ProgrammeMembership.open_to_mentor.is_(True)
                )
                .group_by(ProgrammeMembership.programme_id)
            )
            .tuples()
            .all()
        )
        if ids
        else {}
    )
    cutoff = now - timedelta(days=stale_days)
    stats: dict[int, Counter[str]] = {pid: Counter() for pid in ids}
    for pid, status, requested_at in (
        session.execute(
            select(Relationship.programme_id, Relationship.status, Relationship.requested_at).where(
                Relationship.programme_id.in_(ids), Relationship.status.in_(OPEN_STATUSES)
            )
        )
        if ids
        else []
    ):
        stats[pid]["pending" if status == PENDING else "active"] += 1
        if status == PENDING and requested_at <= cutoff:
            stats[pid]["stale"] += 1
    summaries = [
        ProgrammeSummary(
            p,
            c,
            enrolled.get(c.id, 0),
            mentors.get(p.id, 0),
            stats[p.id]["active"],
            stats[p.id]["pending"],
            stats[p.id]["stale"],
        )
        for p, c in found
    ]
    pairs, truncated = _platform_pairs(session, dict((p.id, (p, c)) for p, c in found), pair_limit)
    return PlatformOverview(summaries, pairs, truncated)


def platform_overview_csv(overview: PlatformOverview) -> str:
    """Who mentors whom across the platform (the pairs the page lists), one row per relationship."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["course", "programme", "relationship_id", "status", "mentors", "mentees"])
    for course, programme, pair in overview.pairs:
        writer.writerow(
            [
                csv_cell(course.title),
                csv_cell(programme.title),
                pair.relationship.id,
                pair.relationship.status,
                csv_cell("; ".join(pair.mentors)),
                csv_cell("; ".join(pair.mentees)),
            ]
        )
    return out.getvalue()


def _platform_pairs(
    session: Session, programmes: dict[int, tuple[Programme, Course]], limit: int
) -> tuple[list[tuple[Course, Programme, PairRow]], bool]:
    if not programmes:
        return [], False
    rels = list(
        session.scalars(
            select(Relationship)
            .where(Relationship.programme_id.in_(list(programmes)), Relationship.status.in_((ACTIVE, PAUSED)))
            .options(selectinload(Relationship.members))
            .order_by(Relationship.programme_id, Relationship.id)
            .limit(limit + 1)
        )
    )
    truncated = len(rels) > limit
    rels = rels[:limit]
    ids = {pid for rel in rels for pid in rel.person_ids()}
    people = session.scalars(select(Person).where(Person.id.in_(ids))).all() if ids else []
    names = {p.id: p.display_name for p in people}
    rows = []
    for rel in rels:
        programme, course = programmes[rel.programme_id]
        pair = PairRow(rel, _named(names, rel.person_ids(MENTOR)), _named(names, rel.person_ids(MENTEE)))
        rows.append((course, programme, pair))
    return rows, truncated


def _named(names: dict[int, str], ids: list[int]) -> list[str]:
    return [names.get(i) or f"Person {i}" for i in ids]


def _keep(row: ParticipantRow, status: str, query: str) -> bool:
    tests = {
        "mentor": row.is_mentor,
        "mentee": row.seeks_mentor and not row.is_mentor,
        "matched": row.matched,
        "unmatched": row.seeks_mentor and not row.matched and not row.is_mentor,
        "overloaded": row.overloaded,
        "full": row.full,
    }
    if status and not tests.get(status, True):
        return False
    needle = query.strip().casefold()
    return (
        not needle
        or needle in row.person.display_name.casefold()
        or needle in (row.person.email or "").casefold()
    )


def csv_cell(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas (CSV injection): neutralise them."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
