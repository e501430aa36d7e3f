"""Evaluating a rule against the facts of one relationship, as seen by one member: pure functions, no
database, so every condition is tested on its own.

A person's completion is their best relationship in the programme (met first, then the most conditions
met, then the most recent), because someone may have several mentors over a programme's life.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from lti_app.models.relationship import COMPLETED, ENDED
from lti_app.services.completion.rules import (
    ACTIVE_DAYS,
    CHECKIN,
    FEEDBACK_AFTER,
    GOALS,
    GOALS_ALL,
    MEETINGS,
    RELATIONSHIP_COMPLETED,
    SHARE,
    Condition,
    Rule,
)

# AGS 2.0 score vocabulary (lms_clients.ags has the enums; plain strings here keep this module pure).
COMPLETED_ACTIVITY = "Completed"
IN_PROGRESS = "InProgress"
INITIALIZED = "Initialized"
FULLY_GRADED = "FullyGraded"
PENDING_GRADING = "Pending"

NO_RELATIONSHIP = "No mentoring relationship yet"


@dataclass(frozen=True)
class Facts:
    """What the rule's conditions look at, for one member of one relationship. Metrics the rule does not
    use are left ``None`` and never queried."""

    relationship_id: int
    role: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    meetings: int | None = None
    goals_achieved: int | None = None
    goals_total: int | None = None
    checkin_answered: bool | None = None
    feedback_after_done: bool | None = None


@dataclass(frozen=True)
class ConditionResult:
    kind: str
    met: bool
    label: str
    value: int | None = None
    target: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "met": self.met, "label": self.label, "value": self.value,
                "target": self.target}


@dataclass(frozen=True)
class Outcome:
    relationship_id: int | None
    role: str
    results: tuple[ConditionResult, ...]
    started_at: datetime | None = None

    @property
    def met(self) -> bool:
        return bool(self.results) and self.relationship_id is not None and all(r.met for r in self.results)

    @property
    def conditions_met(self) -> int:
        return sum(1 for r in self.results if r.met) if self.relationship_id is not None else 0

    @property
    def conditions_total(self) -> int:
        return len(self.results)

    @property
    def share(self) -> float:
        return self.conditions_met / self.conditions_total if self.conditions_total else 0.0

    @property
    def summary(self) -> str:
        if self.relationship_id is None:
            return NO_RELATIONSHIP
        return ", ".join(r.label for r in self.results)


def active_days(facts: Facts, now: datetime) -> int:
    """Whole days from the start of the relationship to its end (or now, while it runs)."""
    if facts.started_at is None:
        return 0
    until = facts.ended_at if facts.status in (COMPLETED, ENDED) and facts.ended_at else now
    return max(0, (until - facts.started_at).days)


def check(condition: Condition, facts: Facts, now: datetime) -> ConditionResult:
    kind, target = condition.kind, condition.amount
    if kind == ACTIVE_DAYS:
        days = active_days(facts, now)
        return ConditionResult(kind, days >= target, f"{min(days, target)} of {target} days", days, target)
    if kind == MEETINGS:
        count = facts.meetings or 0
        noun = "confirmed meetings" if condition.confirmed else "meetings"
        label = f"{min(count, target)} of {target} {noun}"
        return ConditionResult(kind, count >= target, label, count, target)
    if kind == GOALS:
        achieved, total = facts.goals_achieved or 0, facts.goals_total or 0
        if condition.goals_mode == GOALS_ALL:
            if total == 0:
                return ConditionResult(kind, False, "no goals agreed yet", 0, 0)
            return ConditionResult(kind, achieved >= total, f"goals {achieved}/{total}", achieved, total)
        label = f"goals {min(achieved, target)} of {target}"
        return ConditionResult(kind, achieved >= target, label, achieved, target)
    if kind == CHECKIN:
        done = bool(facts.checkin_answered)
        return ConditionResult(kind, done, "check-in answered" if done else "check-in pending")
    if kind == FEEDBACK_AFTER:
        done = bool(facts.feedback_after_done)
        return ConditionResult(kind, done, "360 done" if done else "360 pending")
    if kind == RELATIONSHIP_COMPLETED:
        done = facts.status == COMPLETED
        label = "relationship completed" if done else "relationship not completed yet"
        return ConditionResult(kind, done, label)
    raise ValueError(f"unknown condition {kind!r}")  # parse_rule never lets one through


def evaluate(rule: Rule, facts: Facts, now: datetime) -> Outcome:
    results = tuple(check(c, facts, now) for c in rule.conditions)
    return Outcome(facts.relationship_id, facts.role, results, facts.started_at)


def without_relationship(rule: Rule, role: str = "") -> Outcome:
    """Nobody is met without a relationship; every condition reads as not started."""
    return Outcome(None, role, tuple(ConditionResult(c.kind, False, "not started") for c in rule.conditions))


def best(outcomes: Iterable[Outcome], rule: Rule, role: str = "") -> Outcome:
    def rank(o: Outcome) -> tuple[bool, int, float]:
        started = o.started_at.timestamp() if o.started_at else 0.0
        return (o.met, o.conditions_met, started)

    found = max(outcomes, key=rank, default=None)
    return found if found is not None else without_relationship(rule, role)


@dataclass(frozen=True)
class ReportedScore:
    """What the LMS should hold for this outcome (AGS 2.0 score fields)."""

    activity_progress: str
    grading_progress: str
    score_given: float


def reported_score(rule: Rule, outcome: Outcome, score_maximum: float) -> ReportedScore:
    """Met: Completed and FullyGraded at the full score, which is what makes Moodle's "receive a grade" or
    "passing grade" completion follow. Not met: InProgress and Pending, with 0 (pass/fail) or the share of
    conditions met; a platform ignores the value until the grading is final, so nothing completes early,
    and a completion that no longer holds is withdrawn."""
    if outcome.met:
        return ReportedScore(COMPLETED_ACTIVITY, FULLY_GRADED, float(score_maximum))
    given = round(score_maximum * outcome.share, 2) if rule.score_mode == SHARE else 0.0
    activity = IN_PROGRESS if outcome.relationship_id is not None else INITIALIZED
    return ReportedScore(activity, PENDING_GRADING, given)
