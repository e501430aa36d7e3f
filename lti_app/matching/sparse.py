"""Assignment for large pools over a candidate graph, with `min_weight_full_bipartite_matching`.

Candidates: each mentee keeps its best ``k`` eligible mentors with open slots, and each mentor keeps its
best ``max(k, 5 × largest capacity)`` eligible mentees. The mentor side matters: when a few mentors are
everyone's favourites, mentee-side lists alone all point at the same few slots and most mentees are left
without a reachable mentor; the mentor-side lists give every slot enough contenders.

Graph: mentee rows; one column per open slot of each candidate mentor, plus one private "unmatched"
column per mentee, so a full matching always exists. Costs are ``top - weight`` for real edges and
``top`` for the unmatched column (``top`` exceeds every weight, so all costs are positive as the solver
requires); minimising cost over full matchings maximises the weight, with the same bonus per match as the
dense solver. The result is optimal for the candidate set; it is the global optimum when no list was cut.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from lti_app.matching.assignment import Assignment, eligible, match_bonus
from lti_app.matching.scoring import PoolScorer

MENTOR_SIDE_FACTOR = 5
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


class _Candidates:
    """Running top lists, fed one scored block at a time so the full matrix never exists."""

    def __init__(self, m: int, k: int, per_mentor: int):
        self.k, self.per_mentor, self.m = k, per_mentor, m
        self.rows: list[Ints] = []
        self.cols: list[Ints] = []
        self.vals: list[npt.NDArray[np.float32]] = []
        self.best_rows = np.zeros((m, 0), dtype=np.int64)
        self.best_vals = np.zeros((m, 0), dtype=np.float32)
        self.cut = False  # some mentee had more eligible mentors than k

    def add(self, start: int, masked: npt.NDArray[np.float32]) -> None:
        finite = np.isfinite(masked)
        self.cut |= bool((finite.sum(axis=1) > self.k).any())
        idx, vals = _top(masked, self.k)
        keep = np.isfinite(vals)
        self.rows.append((np.nonzero(keep)[0] + start).astype(np.int64))
        self.cols.append(idx[keep].astype(np.int64))
        self.vals.append(vals[keep])
        idx_t, vals_t = _top(np.ascontiguousarray(masked.T), self.per_mentor)
        rows = np.concatenate([self.best_rows, idx_t + start], axis=1)
        vals = np.concatenate([self.best_vals, vals_t], axis=1)
        keep_t, self.best_vals = _top(vals, self.per_mentor)
        self.best_rows = np.take_along_axis(rows, keep_t, axis=1)

    def edges(self) -> tuple[Ints, Ints, npt.NDArray[np.float32]]:
        """The union of both sides' lists, each (mentee, mentor) pair once."""
        mentor_side = np.isfinite(self.best_vals)
        rows = np.concatenate([*self.rows, self.best_rows[mentor_side]])
        cols = np.concatenate([*self.cols, np.nonzero(mentor_side)[0].astype(np.int64)])
        vals = np.concatenate([*self.vals, self.best_vals[mentor_side]])
        _, first = np.unique(rows * self.m + cols, return_index=True)
        return rows[first], cols[first], vals[first]


def _top(values: npt.NDArray[np.float32], k: int) -> tuple[Ints, npt.NDArray[np.float32]]:
    """Column indices and values of each row's ``k`` largest entries (all of them if there are fewer)."""
    if values.shape[1] <= k:
        idx = np.broadcast_to(np.arange(values.shape[1]), values.shape).copy()
    else:
        idx = np.argpartition(-values, k - 1, axis=1)[:, :k]
    return idx.astype(np.int64), np.take_along_axis(values, idx, axis=1)


def _match(rows: Ints, cols: Ints, weights: Floats, capacity: Ints, n: int) -> Ints:
    """Expand mentors into slots, add the unmatched columns, solve; mentor index per mentee or -1."""
    slots = np.minimum(capacity, np.bincount(cols, minlength=capacity.size))
    first_slot = np.concatenate([[0], np.cumsum(slots)[:-1]])
    reps = slots[cols]
    offsets = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    slot_rows = np.repeat(rows, reps)
    slot_cols = np.repeat(first_slot[cols], reps) + offsets
    slot_weights = np.repeat(weights, reps)
    total_slots = int(slots.sum())
    top = float(slot_weights.max(initial=0.0)) + 1.0
    costs = np.concatenate([top - slot_weights, np.full(n, top)])
    graph_rows = np.concatenate([slot_rows, np.arange(n)])
    graph_cols = np.concatenate([slot_cols, total_slots + np.arange(n)])
    graph = sparse.csr_matrix((costs, (graph_rows, graph_cols)), shape=(n, total_slots + n))
    matched_rows, matched_cols = min_weight_full_bipartite_matching(graph)
    owner = np.repeat(np.arange(capacity.size), slots)
    mentor = np.full(n, -1, dtype=np.int64)
    real = matched_cols < total_slots
    mentor[matched_rows[real]] = owner[matched_cols[real]]
    return mentor


def solve_sparse(scorer: PoolScorer, capacity: Ints, min_score: float, k: int) -> Assignment:
    started = time.perf_counter()
    n, m = scorer.n, scorer.m
    open_slots = capacity > 0
    per_mentor = max(k, MENTOR_SIDE_FACTOR * int(capacity.max(initial=0)))
    candidates = _Candidates(m, k, per_mentor)
    has_feasible = np.zeros(n, dtype=bool)
    has_eligible = np.zeros(n, dtype=bool)
    for b in scorer.blocks():
        has_feasible[b.start : b.stop] = b.feasible.any(axis=1)
        ok = eligible(b.scores, b.feasible, min_score)
        has_eligible[b.start : b.stop] = ok.any(axis=1)
        candidates.add(b.start, np.where(ok & open_slots, b.scores, np.float32(-np.inf)))
    rows, cols, vals = candidates.edges()
    scored = time.perf_counter()
    mentor = np.full(n, -1, dtype=np.int64)
    if rows.size:
        mentor = _match(rows, cols, vals.astype(np.float64) + match_bonus(n), capacity, n)
    return Assignment(
        mentor=mentor,
        has_feasible=has_feasible,
        has_eligible=has_eligible,
        scoring_s=scored - started,
        solving_s=time.perf_counter() - scored,
        candidates_complete=not candidates.cut,
        candidate_k=k,
    )
