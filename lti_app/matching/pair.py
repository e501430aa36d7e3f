"""Scoring one mentee-mentor pair exactly, with the breakdown a trainer reads.

The pool solver scores millions of pairs with numpy and only calls this for the pairs it keeps, so the
numbers people see come from here. `scoring.py` must agree with it; the tests hold them together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lti_app.matching.criteria import Criterion, FieldType, Kind, Participant, total_weight
from lti_app.matching.result import BreakdownItem, PairScore
from lti_app.matching.values import DISTANCE_SLACK, as_category, as_number, as_set

# Scores are compared with the minimum to within this many points, in both paths, so that float32
# rounding in the vectorised scorer never flips a pair sitting exactly on the minimum.
SCORE_SLACK = 1e-3


def _distance(a: float, b: float, period: float | None) -> float:
    d = abs(a - b)
    if period is not None:
        d %= period
        d = min(d, period - d)
    return d


def criterion_value(c: Criterion, mentee: Participant, mentor: Participant) -> float:
    """The criterion's measure in [0, 1] (see `Criterion` for the definitions)."""
    mine, theirs = mentee.attributes.get(c.field), mentor.attributes.get(c.other_field)
    if c.field_type is FieldType.SET:
        a, b = as_set(mine), as_set(theirs)
        inter = len(a & b)
        if c.kind is Kind.COMPLEMENTARITY:
            return inter / len(a) if a else 0.0
        union = len(a) + len(b) - inter
        return inter / union if union else 0.0
    if c.field_type is FieldType.CATEGORY:
        x, y = as_category(mine), as_category(theirs)
        return 1.0 if x is not None and x == y else 0.0
    p, q = as_number(mine), as_number(theirs)
    if math.isnan(p) or math.isnan(q):
        return 0.0
    raw = (q - p) / c.scale if c.kind is Kind.COMPLEMENTARITY else 1.0 - _distance(p, q, c.period) / c.scale
    return min(1.0, max(0.0, raw))


def condition_holds(c: Criterion, mentee: Participant, mentor: Participant) -> bool:
    """Overlap for sets, equality for categories, within tolerance for numbers; missing never holds."""
    mine, theirs = mentee.attributes.get(c.field), mentor.attributes.get(c.other_field)
    if c.field_type is FieldType.SET:
        return not as_set(mine).isdisjoint(as_set(theirs))
    if c.field_type is FieldType.CATEGORY:
        x = as_category(mine)
        return x is not None and x == as_category(theirs)
    p, q = as_number(mine), as_number(theirs)
    return not (math.isnan(p) or math.isnan(q)) and _distance(p, q, c.period) <= c.tolerance + DISTANCE_SLACK


def violations(criteria: Sequence[Criterion], mentee: Participant, mentor: Participant) -> tuple[str, ...]:
    return tuple(
        c.label
        for c in criteria
        if c.is_constraint and condition_holds(c, mentee, mentor) != (c.kind is Kind.MUST)
    )


def score_pair(criteria: Sequence[Criterion], mentee: Participant, mentor: Participant) -> PairScore:
    """Score = 100 * sum(w_i * s_i) / sum(w_i); each breakdown line is one term, so lines sum to the score."""
    weight = total_weight(criteria)
    items = []
    for c in criteria:
        if not c.scores:
            continue
        value = criterion_value(c, mentee, mentor)
        out_of = 100.0 * c.weight / weight
        items.append(BreakdownItem(c.key, c.label, c.kind, value, out_of * value, out_of))
    broken = violations(criteria, mentee, mentor)
    return PairScore(not broken, math.fsum(i.points for i in items), tuple(items), broken)
