"""Rule evaluation against real mentoring data, for each condition; re-evaluation on domain events in the
caller's transaction; what gets queued for the LMS and what supersedes what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from lti_app.models.base import utcnow
from lti_app.models.completion import Completion, SyncJob
from lti_app.services import events, relationships
from lti_app.services.completion import tracker
from tests.factories.completion import (
    after_cycle,
    checkin,
    enrol,
    goals,
    meetings,
    pair_up,
    programme_with_rule,
    rule,
)
from tests.factories.core import actor_for


def cast(rule_json: dict, **pair: object):  # type: ignore[no-untyped-def]
    programme = programme_with_rule(rule_json)
    mentor, mentee = enrol(programme.course), enrol(programme.course)
    rel = pair_up(programme, mentor, mentee, **pair)  # type: ignore[arg-type]
    return programme, mentor, mentee, rel


def completion(db_session, programme, person) -> Completion:  # type: ignore[no-untyped-def]
    return db_session.scalars(
        select(Completion).where(Completion.programme_id == programme.id, Completion.person_id == person.id)
    ).one()


def jobs(db_session, programme, person=None) -> list[SyncJob]:  # type: ignore[no-untyped-def]
    query = select(SyncJob).where(SyncJob.programme_id == programme.id).order_by(SyncJob.id)
    if person is not None:
        query = query.where(SyncJob.person_id == person.id)
    return list(db_session.scalars(query))


def publish(db_session, kind: str, rel) -> None:  # type: ignore[no-untyped-def]
    events.publish(
        db_session, events.DomainEvent(kind, programme_id=rel.programme_id, relationship_id=rel.id)
    )


# ------------------------------------------------------------------------------------- each condition


def test_meetings_in_the_diary(db_session) -> None:
    programme, mentor, mentee, rel = cast(rule({"kind": "meetings", "count": 3}))
    meetings(rel, mentor, 2)
    publish(db_session, events.DIARY_CHANGED, rel)
    assert completion(db_session, programme, mentee).summary == "2 of 3 meetings"
    assert not completion(db_session, programme, mentee).met
    meetings(rel, mentee, 1)
    publish(db_session, events.DIARY_CHANGED, rel)
    done = completion(db_session, programme, mentee)
    assert done.met and done.summary == "3 of 3 meetings"
    [job] = jobs(db_session, programme, mentee)
    assert (job.status, job.activity_progress, job.grading_progress, job.score_given) == (
        "pending",
        "Completed",
        "FullyGraded",
        100.0,
    )
    # Mentors get no completion unless the rule says so.
    assert jobs(db_session, programme, mentor) == []


def test_confirmed_meetings_only_count_once_confirmed(db_session) -> None:
    programme, mentor, mentee, rel = cast(rule({"kind": "meetings", "count": 2, "confirmed": True}))
    meetings(rel, mentor, 2)
    publish(db_session, events.DIARY_CHANGED, rel)
    assert completion(db_session, programme, mentee).summary == "0 of 2 confirmed meetings"
    meetings(rel, mentor, 2, confirmed_by=mentee)
    publish(db_session, events.DIARY_CHANGED, rel)
    assert completion(db_session, programme, mentee).met


@pytest.mark.parametrize(
    ("mode", "achieved", "total", "met"),
    [
        ({"mode": "all"}, 2, 2, True),
        ({"mode": "all"}, 1, 2, False),
        ({"mode": "at_least", "count": 1}, 1, 3, True),
        ({"mode": "at_least", "count": 2}, 1, 3, False),
    ],
)
def test_goals_achieved(db_session, mode: dict, achieved: int, total: int, met: bool) -> None:
    programme, _, mentee, rel = cast(rule({"kind": "goals", **mode}))
    goals(rel, mentee, achieved=achieved, total=total)
    publish(db_session, events.GOAL_CHANGED, rel)
    assert completion(db_session, programme, mentee).met is met


def test_checkin_answered_by_the_person_themselves(db_session) -> None:
    programme, mentor, mentee, rel = cast(rule({"kind": "checkin"}, mentors_complete=True))
    checkin(rel, mentor)
    publish(db_session, events.CHECKIN_ANSWERED, rel)
    assert completion(db_session, programme, mentor).met
    assert not completion(db_session, programme, mentee).met
    assert completion(db_session, programme, mentee).summary == "check-in pending"


def test_feedback_after_cycle(db_session) -> None:
    programme, _, mentee, rel = cast(rule({"kind": "feedback_after"}))
    after_cycle(rel, mentee, completed=False)
    tracker.refresh_people(db_session, programme.id, [mentee.id])
    assert completion(db_session, programme, mentee).summary == "360 pending"
    after_cycle(rel, mentee)
    # A 360 event names the subject and may not name a programme: every programme they are in is checked.
    events.publish(db_session, events.DomainEvent(events.FEEDBACK_COMPLETED, person_ids=(mentee.id,)))
    assert completion(db_session, programme, mentee).met


def test_relationship_completed_through_the_relationship_service(db_session) -> None:
    programme, mentor, mentee, rel = cast(rule({"kind": "relationship_completed"}))
    tracker.refresh_people(db_session, programme.id, [mentee.id])
    assert not completion(db_session, programme, mentee).met
    trainer = enrol(programme.course, "trainer")
    relationships.complete(db_session, actor_for(trainer, programme.course, "trainer"), rel.id)
    assert completion(db_session, programme, mentee).met
    assert [j.activity_progress for j in jobs(db_session, programme, mentee)] == ["Completed"]


def test_active_days_become_true_with_time_through_the_sweep(db_session) -> None:
    start = utcnow()
    programme, _, mentee, rel = cast(rule({"kind": "active_days", "days": 30}), started_at=start)
    tracker.refresh_people(db_session, programme.id, [mentee.id], now=start)
    assert completion(db_session, programme, mentee).summary == "0 of 30 days"
    assert tracker.sweep(db_session, now=start + timedelta(hours=12)) == 0
    # A day without evaluation: the safety net looks again (still not met).
    assert tracker.sweep(db_session, now=start + timedelta(days=29)) == 1
    assert completion(db_session, programme, mentee).summary == "29 of 30 days"
    assert tracker.sweep(db_session, now=start + timedelta(days=29, hours=1)) == 0
    assert tracker.sweep(db_session, now=start + timedelta(days=30, hours=1)) == 1
    assert completion(db_session, programme, mentee).met
    assert [j.activity_progress for j in jobs(db_session, programme, mentee)] == ["Completed"]
    assert tracker.sweep(db_session, now=start + timedelta(days=30, hours=2)) == 0


def test_best_relationship_counts(db_session) -> None:
    programme, mentor, mentee, weak = cast(rule({"kind": "meetings", "count": 2}))
    strong = pair_up(programme, enrol(programme.course), mentee, status="completed")
    meetings(strong, mentee, 2)
    tracker.refresh_people(db_session, programme.id, [mentee.id])
    row = completion(db_session, programme, mentee)
    assert row.met and row.relationship_id == strong.id
    assert weak.id != strong.id and mentor.id


def test_pending_requests_do_not_count(db_session) -> None:
    programme, _, mentee, _ = cast(rule({"kind": "checkin"}), status="pending")
    assert tracker.refresh_people(db_session, programme.id, [mentee.id]) == {}


# ------------------------------------------------------------------------------- what is queued, when


def test_nothing_is_queued_while_not_met_unless_progress_is_reported(db_session) -> None:
    programme, mentor, mentee, rel = cast(rule({"kind": "meetings", "count": 2}))
    meetings(rel, mentor, 1)
    publish(db_session, events.DIARY_CHANGED, rel)
    assert jobs(db_session, programme) == []

    reporting, mentor2, mentee2, rel2 = cast(
        rule({"kind": "meetings", "count": 1}, {"kind": "checkin"}, report_progress=True, score_mode="share")
    )
    meetings(rel2, mentor2, 1)
    publish(db_session, events.DIARY_CHANGED, rel2)
    [job] = jobs(db_session, reporting, mentee2)
    assert (job.activity_progress, job.grading_progress, job.score_given) == ("InProgress", "Pending", 50.0)


def test_a_newer_state_supersedes_the_unsent_one_and_timestamps_increase(db_session) -> None:
    programme, mentor, mentee, rel = cast(rule({"kind": "meetings", "count": 1}, report_progress=True))
    tracker.refresh_people(db_session, programme.id, [mentee.id])
    meetings(rel, mentor, 1)
    tracker.refresh_people(db_session, programme.id, [mentee.id])
    first, second = jobs(db_session, programme, mentee)
    assert (first.status, second.status) == ("superseded", "pending")
    assert second.state_version == first.state_version + 1
    assert second.state_at > first.state_at
    # Nothing changed: nothing queued.
    tracker.refresh_people(db_session, programme.id, [mentee.id])
    assert len(jobs(db_session, programme, mentee)) == 2


def test_a_completion_that_no_longer_holds_is_withdrawn(db_session) -> None:
    programme, mentor, mentee, rel = cast(rule({"kind": "goals", "mode": "all"}))
    [goal] = goals(rel, mentee, achieved=1, total=1)
    publish(db_session, events.GOAL_CHANGED, rel)
    goal.status = "in_progress"
    db_session.flush()
    publish(db_session, events.GOAL_CHANGED, rel)
    met, withdrawn = jobs(db_session, programme, mentee)
    assert met.activity_progress == "Completed" and met.status == "superseded"
    assert (withdrawn.activity_progress, withdrawn.grading_progress, withdrawn.score_given) == (
        "InProgress",
        "Pending",
        0.0,
    )


def test_the_outbox_row_rolls_back_with_the_change(app, db_session) -> None:
    programme, mentor, mentee, rel = cast(rule({"kind": "meetings", "count": 1}))
    db_session.commit()
    meetings(rel, mentor, 1)
    publish(db_session, events.DIARY_CHANGED, rel)
    assert len(jobs(db_session, programme)) == 1
    db_session.rollback()
    assert jobs(db_session, programme) == []
    assert db_session.scalars(select(Completion)).all() == []


def test_mentors_complete_when_the_rule_says_so(db_session) -> None:
    programme, mentor, mentee, rel = cast(rule({"kind": "meetings", "count": 1}, mentors_complete=True))
    meetings(rel, mentor, 1)
    publish(db_session, events.DIARY_CHANGED, rel)
    assert (
        completion(db_session, programme, mentor).met
        and completion(db_session, programme, mentor).role == "mentor"
    )
    assert len(jobs(db_session, programme)) == 2


def test_a_rule_change_re_evaluates_the_whole_programme(db_session) -> None:
    programme, mentor, mentee, rel = cast(None)
    meetings(rel, mentor, 1)
    publish(db_session, events.DIARY_CHANGED, rel)
    assert db_session.scalars(select(Completion)).all() == []  # no rule: nothing evaluated
    programme.completion_rule = rule({"kind": "meetings", "count": 1})
    events.publish(db_session, events.DomainEvent(events.PROGRAMME_RULES_CHANGED, programme_id=programme.id))
    assert completion(db_session, programme, mentee).met


def count_statements(db_session, action) -> int:  # type: ignore[no-untyped-def]
    statements: list[str] = []
    engine = db_session.get_bind()

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_an_event_costs_a_bounded_number_of_queries(app, db_session) -> None:
    """Evaluating a pair is the same handful of queries however big the programme is."""
    full = rule(
        {"kind": "active_days", "days": 1},
        {"kind": "meetings", "count": 1},
        {"kind": "goals"},
        {"kind": "checkin"},
        {"kind": "feedback_after"},
        {"kind": "relationship_completed"},
        mentors_complete=True,
    )
    programme = programme_with_rule(full)
    counts = []
    for size in (1, 20):
        for _ in range(size):
            pair_up(programme, enrol(programme.course), enrol(programme.course))
        mentor, mentee = enrol(programme.course), enrol(programme.course)
        rel = pair_up(programme, mentor, mentee)
        meetings(rel, mentor, 1)
        counts.append(
            count_statements(db_session, lambda rel=rel: publish(db_session, events.DIARY_CHANGED, rel))
        )
    assert counts[0] == counts[1] <= 20, counts
