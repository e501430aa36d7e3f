"""Exact assignment for small pools with `scipy.optimize.linear_sum_assignment`.

Each mentor becomes as many identical columns ("slots") as they have open places, which turns the
capacitated problem into a plain assignment problem. Ineligible cells weigh 0, the same as leaving the
mentee unmatched, while every eligible cell weighs its score plus the match bonus (> 0); so the maximum
weight full assignment that the solver returns, minus its zero cells, is a maximum weight matching.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import linear_sum_assignment

from lti_app.matching.assignment import Assignment, eligible, match_bonus
from lti_app.matching.scoring import PoolScorer


def slot_cells(n_mentees: int, capacity: np.ndarray) -> int:
    """Cells of the capacity-expanded matrix (a mentor never needs more slots than there are mentees)."""
    return int(n_mentees * np.minimum(capacity, n_mentees).sum())


def solve_dense(scorer: PoolScorer, capacity: np.ndarray, min_score: float) -> Assignment:
    started = time.perf_counter()
    n, m = scorer.n, scorer.m
    usable = np.zeros((n, m), dtype=bool)
    weights = np.zeros((n, m), dtype=np.float64)
    has_feasible = np.zeros(n, dtype=bool)
    has_eligible = np.zeros(n, dtype=bool)
    open_slots = capacity > 0
    for b in scorer.blocks():
        ok = eligible(b.scores, b.feasible, min_score)
        has_feasible[b.start : b.stop] = b.feasible.any(axis=1)
        has_eligible[b.start : b.stop] = ok.any(axis=1)
        usable[b.start : b.stop] = ok & open_slots
        weights[b.start : b.stop] = b.scores
    scored = time.perf_counter()

    # Rows and columns without a usable cell cannot change the optimum; dropping them shrinks the matrix.
    rows = np.flatnonzero(usable.any(axis=1))
    cols = np.flatnonzero(usable.any(axis=0))
    mentor = np.full(n, -1, dtype=np.int64)
    if rows.size and cols.size:
        sub = np.where(usable[np.ix_(rows, cols)], weights[np.ix_(rows, cols)] + match_bonus(n), 0.0)
        slots = np.minimum(capacity[cols], usable[np.ix_(rows, cols)].sum(axis=0))
        owner = np.repeat(np.arange(cols.size), slots)
        r, c = linear_sum_assignment(sub[:, owner], maximize=True)
        keep = sub[r, owner[c]] > 0
        mentor[rows[r[keep]]] = cols[owner[c[keep]]]
    return Assignment(
        mentor=mentor,
        has_feasible=has_feasible,
        has_eligible=has_eligible,
        scoring_s=scored - started,
        solving_s=time.perf_counter() - scored,
        candidates_complete=True,
        candidate_k=None,
    )
