"""A programme's completion rule: the conditions a trainer composes, and what to report to the LMS.

Stored as JSON on ``Programme.completion_rule``::

    {"conditions": [{"kind": "meetings", "count": 4, "confirmed": true}, {"kind": "goals", "mode": "all"}],
     "score_mode": "pass_fail", "mentors_complete": false, "report_progress": false}

Every condition chosen must hold. The rule is validated here, whatever the entry point (page, API, CLI),
so a stored rule is always one the evaluator understands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lti_app.errors import ValidationFailed

ACTIVE_DAYS = "active_days"
MEETINGS = "meetings"
GOALS = "goals"
CHECKIN = "checkin"
FEEDBACK_AFTER = "feedback_after"
RELATIONSHIP_COMPLETED = "relationship_completed"
CONDITION_KINDS = (ACTIVE_DAYS, MEETINGS, GOALS, CHECKIN, FEEDBACK_AFTER, RELATIONSHIP_COMPLETED)
CONDITION_LABELS = {
    ACTIVE_DAYS: "Relationship active for at least N days",
    MEETINGS: "At least N meetings in the diary",
    GOALS: "Goals achieved",
    CHECKIN: "A check-in answered",
    FEEDBACK_AFTER: "The 360 feedback \u201cafter\u201d cycle completed",
    RELATIONSHIP_COMPLETED: "Relationship marked completed by the mentor or a trainer",
}

PASS_FAIL = "pass_fail"
SHARE = "share"
SCORE_MODES = (PASS_FAIL, SHARE)
GOALS_ALL = "all"
GOALS_AT_LEAST = "at_least"

MAX_DAYS = 3650
MAX_COUNT = 1000


@dataclass(frozen=True)
class Condition:
    """One condition. ``amount`` is N (days, meetings, goals) where the kind takes one; ``confirmed``
    (meetings) counts only meetings the other member confirmed; ``goals_mode`` is "all" or "at_least"."""

    kind: str
    amount: int = 0
    confirmed: bool = False
    goals_mode: str = GOALS_ALL

    def to_json(self) -> dict[str, Any]:
        if self.kind == ACTIVE_DAYS:
            return {"kind": self.kind, "days": self.amount}
        if self.kind == MEETINGS:
            return {"kind": self.kind, "count": self.amount, "confirmed": self.confirmed}
        if self.kind == GOALS:
            if self.goals_mode == GOALS_AT_LEAST:
                return {"kind": self.kind, "mode": GOALS_AT_LEAST, "count": self.amount}
            return {"kind": self.kind, "mode": GOALS_ALL}
        return {"kind": self.kind}


@dataclass(frozen=True)
class Rule:
    conditions: tuple[Condition, ...] = ()
    score_mode: str = PASS_FAIL
    mentors_complete: bool = False
    report_progress: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.conditions

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in self.conditions if c.kind == kind), None)

    @property
    def depends_on_time(self) -> bool:
        """Only "active for N days" changes with nothing happening: the periodic sweep looks for it."""
        return self.condition(ACTIVE_DAYS) is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "conditions": [c.to_json() for c in self.conditions],
            "score_mode": self.score_mode,
            "mentors_complete": self.mentors_complete,
            "report_progress": self.report_progress,
        }


EMPTY_RULE = Rule()


def parse_rule(data: Mapping[str, Any] | None) -> Rule:
    """A rule from its JSON; ``ValidationFailed`` naming every problem (field paths as keys)."""
    if data is None:
        return EMPTY_RULE
    if not isinstance(data, Mapping):
        raise ValidationFailed("The completion rule must be an object.", details={"rule": ["not an object"]})
    problems: dict[str, list[str]] = {}

    def bad(where: str, message: str) -> None:
        problems.setdefault(where, []).append(message)

    raw_conditions = data.get("conditions", [])
    if not isinstance(raw_conditions, list):
        bad("conditions", "Must be a list of conditions.")
        raw_conditions = []
    conditions: list[Condition] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_conditions):
        where = f"conditions.{index}"
        if not isinstance(raw, Mapping):
            bad(where, "Must be an object with a kind.")
            continue
        kind = raw.get("kind")
        if kind not in CONDITION_KINDS:
            bad(f"{where}.kind", f"Must be one of: {', '.join(CONDITION_KINDS)}.")
            continue
        if kind in seen:
            bad(f"{where}.kind", "Each condition can be chosen once.")
            continue
        seen.add(str(kind))
        condition = _condition(str(kind), raw, where, bad)
        if condition is not None:
            conditions.append(condition)
    score_mode = data.get("score_mode", PASS_FAIL)
    if score_mode not in SCORE_MODES:
        bad("score_mode", f"Must be one of: {', '.join(SCORE_MODES)}.")
    flags: dict[str, bool] = {}
    for name in ("mentors_complete", "report_progress"):
        value = data.get(name, False)
        if not isinstance(value, bool):
            bad(name, "Must be true or false.")
        flags[name] = bool(value)
    if problems:
        raise ValidationFailed("The completion rule is incomplete or invalid.", details=problems)
    # Kept in the canonical order, so the progress text always reads the same way.
    conditions.sort(key=lambda c: CONDITION_KINDS.index(c.kind))
    return Rule(tuple(conditions), str(score_mode), flags["mentors_complete"], flags["report_progress"])


def _condition(kind: str, raw: Mapping[str, Any], where: str, bad: Any) -> Condition | None:
    if kind == ACTIVE_DAYS:
        days = _whole(raw.get("days"), 1, MAX_DAYS)
        if days is None:
            bad(f"{where}.days", f"Must be a whole number of days from 1 to {MAX_DAYS}.")
            return None
        return Condition(kind, amount=days)
    if kind == MEETINGS:
        count = _whole(raw.get("count"), 1, MAX_COUNT)
        confirmed = raw.get("confirmed", False)
        if count is None:
            bad(f"{where}.count", f"Must be a whole number of meetings from 1 to {MAX_COUNT}.")
        if not isinstance(confirmed, bool):
            bad(f"{where}.confirmed", "Must be true or false.")
        if count is None or not isinstance(confirmed, bool):
            return None
        return Condition(kind, amount=count, confirmed=confirmed)
    if kind == GOALS:
        mode = raw.get("mode", GOALS_ALL)
        if mode == GOALS_ALL:
            return Condition(kind, goals_mode=GOALS_ALL)
        if mode != GOALS_AT_LEAST:
            bad(f"{where}.mode", f"Must be {GOALS_ALL!r} or {GOALS_AT_LEAST!r}.")
            return None
        count = _whole(raw.get("count"), 1, MAX_COUNT)
        if count is None:
            bad(f"{where}.count", f"Must be a whole number of goals from 1 to {MAX_COUNT}.")
            return None
        return Condition(kind, amount=count, goals_mode=GOALS_AT_LEAST)
    return Condition(kind)


def _whole(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def stored_rule(data: Mapping[str, Any] | None) -> Rule:
    """The rule as stored; a stored rule this version cannot read counts as no rule rather than failing
    every diary entry or goal saved in the programme."""
    try:
        return parse_rule(data)
    except ValidationFailed:
        return EMPTY_RULE


def describe(rule: Rule) -> list[str]:
    """The rule in words, one line per condition, for participants and trainers."""
    lines = []
    for c in rule.conditions:
        if c.kind == ACTIVE_DAYS:
            lines.append(f"Relationship active for at least {c.amount} days")
        elif c.kind == MEETINGS:
            which = "meetings confirmed by the other member" if c.confirmed else "meetings"
            lines.append(f"At least {c.amount} {which} recorded in the diary")
        elif c.kind == GOALS:
            lines.append("All agreed goals achieved" if c.goals_mode == GOALS_ALL
                         else f"At least {c.amount} goals achieved")
        else:
            lines.append(CONDITION_LABELS[c.kind])
    return lines
