"""What both solvers share: the objective and the shape of their answer.

Objective. Total score first, number of matched mentees second. Each match earns a bonus of
``MATCH_RESOLUTION / (n + 1)`` points on top of its score. All bonuses together stay below
``MATCH_RESOLUTION``, so an assignment whose total is higher by more than that always wins, and between
equal totals the one matching more mentees wins. (Totals less than 0.001 points apart are not told apart
reliably: there the count may win.) The bonus also makes every eligible pair worth more than leaving the
mentee unmatched, which is why a score-0 pair above a zero minimum still gets used rather than dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lti_app.matching.encode import BoolArray, FloatArray
from lti_app.matching.pair import SCORE_SLACK

MATCH_RESOLUTION = 1e-3


def match_bonus(n_mentees: int) -> float:
    return MATCH_RESOLUTION / (n_mentees + 1)


def eligible(scores: FloatArray, feasible: BoolArray, min_score: float) -> BoolArray:
    """Feasible and at or above the minimum (within `SCORE_SLACK`, as in the single-pair path)."""
    return feasible & (scores >= np.float32(min_score - SCORE_SLACK))


@dataclass(frozen=True)
class Assignment:
    """A solver's answer over the pool: ``mentor[i]`` is a mentor index or -1."""

    mentor: npt.NDArray[np.int64]
    has_feasible: BoolArray  # some mentor passes every must / must-not / forbidden check
    has_eligible: BoolArray  # ... and scores at least the minimum
    scoring_s: float
    solving_s: float
    candidates_complete: bool
    candidate_k: int | None
