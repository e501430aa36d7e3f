"""Trainers' momentum: meetings per pair per month, days since the last meeting, open action items and
alerts, aggregated in SQL with a fixed number of queries."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event

from lti_app.errors import PermissionDenied
from lti_app.extensions import db
from lti_app.models.checkin import PairingAlert
from lti_app.services import momentum
from tests.factories.core import pair
from tests.factories.diary import ActionItemFactory, DiaryEntryFactory, cast, enrol

TODAY = date(2026, 11, 20)


@contextmanager
def counted_queries():  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def _count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", _count)


def meetings(relationship, author, *days, **fields):  # type: ignore[no-untyped-def]
    return [
        DiaryEntryFactory(relationship=relationship, author_id=author.id, occurred_on=d, **fields)
        for d in days
    ]


def test_momentum_figures(db_session) -> None:
    people = cast(meeting_cadence_days=30)
    rel = people.relationship
    meetings(rel, people.mentee, date(2026, 9, 3), date(2026, 11, 2), date(2026, 11, 9))
    meetings(rel, people.mentee, date(2026, 11, 10), visibility="private")  # never counted
    meetings(rel, people.mentee, date(2026, 10, 1), deleted_at=datetime(2026, 10, 2, tzinfo=UTC))
    meetings(rel, people.mentee, date(2026, 11, 11), kind="note")
    [confirmed] = meetings(
        rel, people.mentee, date(2026, 4, 1), confirmed_at=datetime(2026, 4, 2, tzinfo=UTC)
    )
    ActionItemFactory(entry=confirmed, due_on=date(2026, 11, 1))
    ActionItemFactory(entry=confirmed, due_on=date(2026, 12, 1))
    ActionItemFactory(entry=confirmed, done=True)
    [private] = meetings(rel, people.mentee, date(2026, 5, 1), visibility="private")
    ActionItemFactory(entry=private)
    quiet_mentee, quiet_mentor = enrol(people.course), enrol(people.course)
    quiet = pair(people.programme, quiet_mentor, quiet_mentee)
    quiet.started_at = datetime(2026, 8, 1, tzinfo=UTC)
    ended = pair(people.programme, enrol(people.course), enrol(people.course), "ended")
    db_session.add(
        PairingAlert(programme_id=people.programme.id, relationship_id=quiet.id, person_id=quiet_mentee.id)
    )
    db_session.flush()

    result = momentum.programme_momentum(
        db_session, people.actor("trainer"), people.programme.id, today=TODAY
    )
    assert result.months == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    by_id = {p.relationship_id: p for p in result.pairs}
    assert ended.id not in by_id
    busy = by_id[rel.id]
    assert busy.meetings_by_month == {
        "2026-06": 0,
        "2026-07": 0,
        "2026-08": 0,
        "2026-09": 1,
        "2026-10": 0,
        "2026-11": 2,
    }
    assert (busy.meetings_total, busy.confirmed_total) == (4, 1)
    assert busy.last_meeting_on == date(2026, 11, 9) and busy.days_since_last_meeting == 11
    assert not busy.meeting_overdue
    assert (busy.open_action_items, busy.overdue_action_items) == (2, 1)
    assert busy.mentor_names == [people.mentor.display_name]
    idle = by_id[quiet.id]
    assert idle.meetings_total == 0 and idle.days_since_last_meeting is None
    assert idle.meeting_overdue and idle.open_alerts == 1
    assert [a.relationship_id for a in result.alerts] == [quiet.id]


def test_momentum_is_for_trainers(db_session) -> None:
    people = cast()
    for who in ("mentor", "mentee", "outsider"):
        with pytest.raises(PermissionDenied):
            momentum.programme_momentum(db_session, people.actor(who), people.programme.id)
    assert momentum.programme_momentum(db_session, people.actor("admin"), people.programme.id).pairs


def test_query_count_does_not_grow_with_pairs(db_session) -> None:
    people = cast()

    def add_pairs(n: int) -> None:
        for _ in range(n):
            mentor, mentee = enrol(people.course), enrol(people.course)
            rel = pair(people.programme, mentor, mentee)
            [entry] = meetings(rel, mentee, date(2026, 11, 1))
            ActionItemFactory(entry=entry, due_on=date(2026, 11, 5))
            db_session.add(
                PairingAlert(programme_id=people.programme.id, relationship_id=rel.id, person_id=mentee.id)
            )
        db_session.commit()

    statements_seen: list[str] = []

    def run() -> int:
        db_session.expire_all()
        trainer, programme_id = people.actor("trainer"), people.programme.id
        with counted_queries() as statements:
            momentum.programme_momentum(db_session, trainer, programme_id, today=TODAY)
        statements_seen[:] = [" ".join(s.split())[:150] for s in statements]
        return len(statements)

    add_pairs(2)
    few = run()
    add_pairs(15)
    many = run()
    assert many == few, statements_seen
    # access checks (5), pairs and their members and people (3), meetings (2), action items, alerts
    assert few <= 12, "\n".join(statements_seen)


def test_journal_query_count_does_not_grow_with_entries(db_session) -> None:
    from lti_app.services import diary, goals

    people = cast(diary_readable_by_trainers=True)
    rel_id = people.relationship.id

    def add(n: int) -> None:
        for k in range(n):
            goal = goals.create_goal(
                db_session,
                people.actor("mentee"),
                goals.GoalInput(title=f"G{k}", milestones=[goals.MilestoneInput("M")]),
                relationship_id=rel_id,
            )
            goals.record_progress(db_session, people.actor("mentee"), goal.id, progress=10)
            diary.create_entry(
                db_session,
                people.actor("mentee"),
                rel_id,
                diary.EntryInput(
                    kind="meeting",
                    occurred_on=TODAY,
                    title=f"E{k}",
                    goal_ids=[goal.id],
                    action_items=[diary.ActionItemInput(text="A", owner_id=people.mentor.id, due_on=TODAY)],
                ),
                today=TODAY,
            )
        db_session.commit()

    statements_seen: list[str] = []

    def run(who: str) -> int:
        db_session.expire_all()
        actor = people.actor(who)
        with counted_queries() as statements:
            page = diary.journal(db_session, actor, rel_id, today=TODAY)
            for entry in page.entries:  # what the template touches
                _ = [(i.owner.display_name if i.owner else "") for i in entry.action_items]
                _ = [g.title for g in entry.goals] + [entry.author.display_name]
            for goal in page.goals:
                _ = [goal.owner.display_name, len(goal.milestones), len(goal.history)]
            _ = [m.person.display_name for m in page.members]
        statements_seen[:] = [" ".join(s.split())[:90] for s in statements]
        return len(statements)

    add(2)
    few = {who: run(who) for who in ("mentee", "trainer")}
    add(12)
    many = {who: run(who) for who in ("mentee", "trainer")}
    assert many == few
    # access (3), entries with items, owners, goals, authors (5), meetings, items due with owners (3), goals
    # with milestones, history, owners (4), check-in due and list (2), members with people (2): 20 at most
    assert max(few.values()) <= 20, statements_seen
