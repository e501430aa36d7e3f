"""Each condition on its own, the best relationship, and the score reported to the LMS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lti_app.services.completion.evaluation import (
    Facts,
    active_days,
    best,
    evaluate,
    reported_score,
    without_relationship,
)
from lti_app.services.completion.rules import parse_rule

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def facts(**overrides: object) -> Facts:
    base: dict[str, object] = {
        "relationship_id": 1,
        "role": "mentee",
        "status": "active",
        "started_at": NOW - timedelta(days=10),
        "ended_at": None,
    }
    base.update(overrides)
    return Facts(**base)  # type: ignore[arg-type]


def one(condition: dict, **fact_values: object):  # type: ignore[no-untyped-def]
    outcome = evaluate(parse_rule({"conditions": [condition]}), facts(**fact_values), NOW)
    return outcome.results[0], outcome


@pytest.mark.parametrize(
    ("started_days_ago", "met", "label"),
    [(29, False, "29 of 30 days"), (30, True, "30 of 30 days"), (45, True, "30 of 30 days")],
)
def test_active_for_n_days(started_days_ago: int, met: bool, label: str) -> None:
    result, outcome = one(
        {"kind": "active_days", "days": 30}, started_at=NOW - timedelta(days=started_days_ago)
    )
    assert (result.met, result.label, outcome.met) == (met, label, met)


def test_active_days_stop_counting_when_the_relationship_ended() -> None:
    ended = facts(status="completed", started_at=NOW - timedelta(days=40), ended_at=NOW - timedelta(days=25))
    assert active_days(ended, NOW) == 15
    assert active_days(facts(started_at=None), NOW) == 0


@pytest.mark.parametrize(
    ("count", "met", "label"), [(3, False, "3 of 4 meetings"), (4, True, "4 of 4 meetings")]
)
def test_meetings(count: int, met: bool, label: str) -> None:
    result, _ = one({"kind": "meetings", "count": 4}, meetings=count)
    assert (result.met, result.label) == (met, label)


def test_confirmed_meetings_say_so() -> None:
    result, _ = one({"kind": "meetings", "count": 2, "confirmed": True}, meetings=1)
    assert result.label == "1 of 2 confirmed meetings" and not result.met


@pytest.mark.parametrize(
    ("condition", "achieved", "total", "met", "label"),
    [
        ({"kind": "goals", "mode": "all"}, 2, 2, True, "goals 2/2"),
        ({"kind": "goals", "mode": "all"}, 1, 2, False, "goals 1/2"),
        ({"kind": "goals", "mode": "all"}, 0, 0, False, "no goals agreed yet"),
        ({"kind": "goals", "mode": "at_least", "count": 2}, 2, 5, True, "goals 2 of 2"),
        ({"kind": "goals", "mode": "at_least", "count": 3}, 1, 5, False, "goals 1 of 3"),
    ],
)
def test_goals(condition: dict, achieved: int, total: int, met: bool, label: str) -> None:
    result, _ = one(condition, goals_achieved=achieved, goals_total=total)
    assert (result.met, result.label) == (met, label)


@pytest.mark.parametrize(("answered", "label"), [(True, "check-in answered"), (False, "check-in pending")])
def test_checkin(answered: bool, label: str) -> None:
    result, _ = one({"kind": "checkin"}, checkin_answered=answered)
    assert (result.met, result.label) == (answered, label)


@pytest.mark.parametrize(("done", "label"), [(True, "360 done"), (False, "360 pending")])
def test_feedback_after(done: bool, label: str) -> None:
    result, _ = one({"kind": "feedback_after"}, feedback_after_done=done)
    assert (result.met, result.label) == (done, label)


@pytest.mark.parametrize(("status", "met"), [("completed", True), ("active", False), ("ended", False)])
def test_relationship_completed(status: str, met: bool) -> None:
    result, _ = one({"kind": "relationship_completed"}, status=status)
    assert result.met is met


def test_all_conditions_must_hold_and_the_summary_reads_as_progress() -> None:
    rule = parse_rule(
        {
            "conditions": [
                {"kind": "meetings", "count": 4},
                {"kind": "goals", "mode": "all"},
                {"kind": "feedback_after"},
            ]
        }
    )
    outcome = evaluate(
        rule, facts(meetings=3, goals_achieved=2, goals_total=2, feedback_after_done=False), NOW
    )
    assert outcome.summary == "3 of 4 meetings, goals 2/2, 360 pending"
    assert (outcome.met, outcome.conditions_met, outcome.conditions_total) == (False, 1, 3)


def test_best_relationship_wins() -> None:
    rule = parse_rule({"conditions": [{"kind": "meetings", "count": 2}]})
    weak = evaluate(rule, facts(relationship_id=1, meetings=0), NOW)
    strong = evaluate(rule, facts(relationship_id=2, meetings=2, started_at=NOW - timedelta(days=99)), NOW)
    assert best([weak, strong], rule).relationship_id == 2
    nobody = best([], rule)
    assert (
        nobody.relationship_id is None
        and not nobody.met
        and nobody.summary == "No mentoring relationship yet"
    )
    assert without_relationship(rule).conditions_met == 0


def test_reported_scores() -> None:
    pass_fail = parse_rule({"conditions": [{"kind": "meetings", "count": 2}, {"kind": "checkin"}]})
    share = parse_rule({**pass_fail.to_json(), "score_mode": "share"})
    met = evaluate(pass_fail, facts(meetings=2, checkin_answered=True), NOW)
    half = evaluate(pass_fail, facts(meetings=2, checkin_answered=False), NOW)
    assert reported_score(pass_fail, met, 100) == reported_score(share, met, 100)
    assert (
        reported_score(pass_fail, met, 100).activity_progress,
        reported_score(pass_fail, met, 100).grading_progress,
        reported_score(pass_fail, met, 100).score_given,
    ) == ("Completed", "FullyGraded", 100.0)
    assert reported_score(pass_fail, half, 100).score_given == 0.0
    assert reported_score(share, half, 10).score_given == 5.0
    assert reported_score(share, half, 10).grading_progress == "Pending"
    assert reported_score(share, half, 10).activity_progress == "InProgress"
    assert reported_score(share, without_relationship(share), 10).activity_progress == "Initialized"
