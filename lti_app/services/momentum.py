"""Momentum for trainers: meetings per pair per month, days since the last meeting, open action items and
pairing-fit alerts, for every running relationship of a programme.

Counts and dates only, never what was written, so trainers see momentum also where the programme does not
let them read the diary. Private notes are not counted at all (nobody else may know they exist).

Bounded: a fixed number of queries whatever the number of pairs, every figure aggregated in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, Integer, Select, and_, case, extract, func, select
from sqlalchemy.orm import Session, selectinload

from lti_app.models.base import utcnow
from lti_app.models.checkin import PairingAlert
from lti_app.models.diary import MEETING, SHARED, ActionItem, DiaryEntry
from lti_app.models.programme import Programme
from lti_app.models.relationship import ACTIVE, MENTEE, MENTOR, PAUSED, Relationship, RelationshipMember
from lti_app.services.access import Actor, require_programme_trainer
from lti_app.services.checkins import alerts_seen_by

DEFAULT_MONTHS = 6
MAX_PAIRS = 2000


@dataclass
class PairMomentum:
    relationship_id: int
    status: str
    mentor_names: list[str]
    mentee_names: list[str]
    started_on: date | None = None
    meetings_by_month: dict[str, int] = field(default_factory=dict)  # "2026-11" -> meetings that month
    meetings_total: int = 0
    confirmed_total: int = 0
    last_meeting_on: date | None = None
    days_since_last_meeting: int | None = None
    meeting_overdue: bool = False  # longer since the last meeting than the programme's cadence
    open_action_items: int = 0
    overdue_action_items: int = 0
    open_alerts: int = 0


@dataclass
class ProgrammeMomentum:
    programme: Programme
    months: list[str]  # oldest first
    pairs: list[PairMomentum]
    alerts: list[PairingAlert]
    today: date


def month_keys(today: date, months: int) -> list[str]:
    """The last ``months`` calendar months up to ``today``'s, oldest first, as "YYYY-MM"."""
    keys = []
    year, month = today.year, today.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def programme_momentum(
    session: Session, actor: Actor, programme_id: int, *, months: int = DEFAULT_MONTHS,
    today: date | None = None, statuses: tuple[str, ...] = (ACTIVE, PAUSED),
) -> ProgrammeMomentum:
    programme = require_programme_trainer(session, actor, programme_id)
    today = today or utcnow().date()
    months = max(1, min(months, 24))
    keys = month_keys(today, months)
    relationships = list(
        session.scalars(
            select(Relationship)
            .where(Relationship.programme_id == programme_id, Relationship.status.in_(statuses))
            .options(selectinload(Relationship.members).selectinload(RelationshipMember.person))
            .order_by(Relationship.id)
            .limit(MAX_PAIRS)
        )
    )
    pairs = {
        r.id: PairMomentum(
            relationship_id=r.id, status=r.status,
            mentor_names=[m.person.display_name for m in r.members if m.role == MENTOR],
            mentee_names=[m.person.display_name for m in r.members if m.role == MENTEE],
            meetings_by_month=dict.fromkeys(keys, 0),
            started_on=r.started_at.date() if r.started_at else None,
        )
        for r in relationships
    }
    in_programme = select(Relationship.id).where(Relationship.programme_id == programme_id)
    _add_meetings(session, pairs, in_programme, keys, today, programme.meeting_cadence_days)
    _add_action_items(session, pairs, in_programme, today)
    alerts = alerts_seen_by(session, programme_id, actor.person_id)
    for alert in alerts:
        if alert.relationship_id in pairs:
            pairs[alert.relationship_id].open_alerts += 1
    return ProgrammeMomentum(
        programme=programme, months=keys, pairs=list(pairs.values()), alerts=alerts, today=today
    )


def _shared_meeting(in_programme: Select[tuple[int]]) -> ColumnElement[bool]:
    return and_(
        DiaryEntry.relationship_id.in_(in_programme),
        DiaryEntry.kind == MEETING,
        DiaryEntry.visibility == SHARED,
        DiaryEntry.deleted_at.is_(None),
    )


def _add_meetings(
    session: Session, pairs: dict[int, PairMomentum], in_programme: Select[tuple[int]], keys: list[str],
    today: date, cadence_days: int | None,
) -> None:
    first_month = date(int(keys[0][:4]), int(keys[0][5:]), 1)
    year = extract("year", DiaryEntry.occurred_on).cast(Integer)
    month = extract("month", DiaryEntry.occurred_on).cast(Integer)
    per_month = session.execute(
        select(DiaryEntry.relationship_id, year, month, func.count(DiaryEntry.id))
        .where(_shared_meeting(in_programme), DiaryEntry.occurred_on >= first_month)
        .group_by(DiaryEntry.relationship_id, year, month)
    ).all()
    for relationship_id, y, m, count in per_month:
        key = f"{int(y):04d}-{int(m):02d}"
        pair = pairs.get(relationship_id)
        if pair is not None and key in pair.meetings_by_month:
            pair.meetings_by_month[key] = int(count)
    totals = session.execute(
        select(
            DiaryEntry.relationship_id,
            func.count(DiaryEntry.id),
            func.count(DiaryEntry.confirmed_at),
            func.max(DiaryEntry.occurred_on),
        )
        .where(_shared_meeting(in_programme))
        .group_by(DiaryEntry.relationship_id)
    ).all()
    for relationship_id, total, confirmed, last in totals:
        pair = pairs.get(relationship_id)
        if pair is None:
            continue
        if isinstance(last, str):  # SQLite returns MAX() of a date column as text
            last = date.fromisoformat(last)
        pair.meetings_total, pair.confirmed_total, pair.last_meeting_on = int(total), int(confirmed), last
        pair.days_since_last_meeting = (today - last).days if last else None
    if cadence_days:
        for pair in pairs.values():
            # A pair that has not met yet is late once the cadence has passed since it started.
            reference = pair.last_meeting_on or pair.started_on
            pair.meeting_overdue = reference is not None and (today - reference).days > cadence_days


def _add_action_items(
    session: Session, pairs: dict[int, PairMomentum], in_programme: Select[tuple[int]], today: date
) -> None:
    rows = session.execute(
        select(
            ActionItem.relationship_id,
            func.count(ActionItem.id),
            func.coalesce(func.sum(case((ActionItem.due_on < today, 1), else_=0)), 0),
        )
        .join(DiaryEntry, DiaryEntry.id == ActionItem.entry_id)
        .where(
            ActionItem.relationship_id.in_(in_programme),
            ActionItem.done.is_(False),
            DiaryEntry.visibility == SHARED,
            DiaryEntry.deleted_at.is_(None),
        )
        .group_by(ActionItem.relationship_id)
    ).all()
    for relationship_id, open_count, overdue in rows:
        pair = pairs.get(relationship_id)
        if pair is not None:
            pair.open_action_items, pair.overdue_action_items = int(open_count), int(overdue)
