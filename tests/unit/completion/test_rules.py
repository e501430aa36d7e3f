"""The completion rule: what a trainer may compose, and every invalid rule refused with its field named."""

from __future__ import annotations

import pytest

from lti_app.errors import ValidationFailed
from lti_app.services.completion.rules import (
    ACTIVE_DAYS,
    CONDITION_KINDS,
    GOALS,
    MEETINGS,
    SHARE,
    describe,
    parse_rule,
    stored_rule,
)


def test_a_full_rule_round_trips_in_canonical_order() -> None:
    raw = {
        "conditions": [
            {"kind": "relationship_completed"},
            {"kind": "goals", "mode": "at_least", "count": 2},
            {"kind": "meetings", "count": 4, "confirmed": True},
            {"kind": "active_days", "days": 30},
            {"kind": "feedback_after"},
            {"kind": "checkin"},
        ],
        "score_mode": "share",
        "mentors_complete": True,
        "report_progress": True,
    }
    rule = parse_rule(raw)
    assert [c.kind for c in rule.conditions] == list(CONDITION_KINDS)
    assert rule.score_mode == SHARE and rule.mentors_complete and rule.report_progress
    assert rule.condition(MEETINGS).amount == 4 and rule.condition(MEETINGS).confirmed
    assert rule.condition(GOALS).goals_mode == "at_least" and rule.condition(GOALS).amount == 2
    assert parse_rule(rule.to_json()) == rule
    assert rule.depends_on_time


def test_defaults_and_the_empty_rule() -> None:
    rule = parse_rule({"conditions": [{"kind": "goals"}]})
    assert rule.score_mode == "pass_fail" and not rule.mentors_complete and not rule.report_progress
    assert rule.condition(GOALS).goals_mode == "all"
    assert parse_rule(None).is_empty and parse_rule({}).is_empty
    assert not parse_rule({"conditions": [{"kind": "checkin"}]}).depends_on_time


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"conditions": "meetings"}, "conditions"),
        ({"conditions": [{"kind": "lunch"}]}, "conditions.0.kind"),
        ({"conditions": [{"kind": "checkin"}, {"kind": "checkin"}]}, "conditions.1.kind"),
        ({"conditions": [{"kind": "active_days"}]}, "conditions.0.days"),
        ({"conditions": [{"kind": "active_days", "days": 0}]}, "conditions.0.days"),
        ({"conditions": [{"kind": "active_days", "days": True}]}, "conditions.0.days"),
        ({"conditions": [{"kind": "meetings", "count": -1}]}, "conditions.0.count"),
        ({"conditions": [{"kind": "meetings", "count": 2, "confirmed": "yes"}]}, "conditions.0.confirmed"),
        ({"conditions": [{"kind": "goals", "mode": "most"}]}, "conditions.0.mode"),
        ({"conditions": [{"kind": "goals", "mode": "at_least"}]}, "conditions.0.count"),
        ({"conditions": [], "score_mode": "letter"}, "score_mode"),
        ({"conditions": [], "mentors_complete": "no"}, "mentors_complete"),
        ({"conditions": [3]}, "conditions.0"),
    ],
)
def test_invalid_rules_name_the_field(raw: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_rule(raw)
    assert field in caught.value.details


def test_numbers_typed_as_text_are_accepted_from_forms() -> None:
    assert (
        parse_rule({"conditions": [{"kind": "active_days", "days": "14"}]}).condition(ACTIVE_DAYS).amount
        == 14
    )


def test_an_unreadable_stored_rule_counts_as_none() -> None:
    assert stored_rule({"conditions": [{"kind": "lunch"}]}).is_empty


def test_describe_reads_like_the_rule() -> None:
    rule = parse_rule(
        rule_json := {
            "conditions": [
                {"kind": "active_days", "days": 30},
                {"kind": "meetings", "count": 3, "confirmed": True},
                {"kind": "goals", "mode": "all"},
            ]
        }
    )
    assert rule_json
    assert describe(rule) == [
        "Relationship active for at least 30 days",
        "At least 3 meetings confirmed by the other member recorded in the diary",
        "All agreed goals achieved",
    ]
