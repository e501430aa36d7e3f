"""Optimal admin-led matching: trainer's fixes first, then the best assignment of everyone else at once.

Solving all mentees together (rather than one after another, best first) is what lets the matcher give a
popular mentor to the mentee who has no good alternative. Small pools go to the exact dense solver; large
ones to the sparse candidate-graph solver, which is far lighter and, on our random instances, within a
fraction of a percent of the exact total (see the tests and the benchmark).
"""

from __future__ import annotations

import math
import time
from typing import Literal

from lti_app.matching.assignment import Assignment
from lti_app.matching.dense import slot_cells, solve_dense
from lti_app.matching.pair import score_pair
from lti_app.matching.problem import MatchProblem, Prepared, prepare
from lti_app.matching.result import MatchedPair, MatchResult, Timings, Unmatched, UnmatchedReason
from lti_app.matching.scoring import PoolScorer
from lti_app.matching.sparse import solve_sparse

SolverChoice = Literal["auto", "dense", "sparse"]
# Capacity-expanded cells (mentees × slots) up to which "auto" solves exactly. The dense solver is cubic in
# the worst case: about 0.4 s at 1,500 × 1,500 but over a second at 2,000 × 2,000 on two cores, where the
# sparse solver takes a fifth of that and lands within 0.002% of the exact total (benchmarks/matching.py).
DENSE_LIMIT = 2_500_000
CANDIDATE_K = 30


def solve(
    problem: MatchProblem,
    *,
    solver: SolverChoice = "auto",
    candidate_k: int = CANDIDATE_K,
    dense_limit: int = DENSE_LIMIT,
) -> MatchResult:
    """Assign mentees to mentors, maximising total score, then the number matched (see `assignment`)."""
    if candidate_k < 1:
        raise ValueError("candidate_k must be at least 1")
    started = time.perf_counter()
    prep = prepare(problem)
    pool = [problem.mentees[i] for i in prep.pool]
    encoding = time.perf_counter()
    scorer = PoolScorer(problem.criteria, pool, problem.mentors, prep.forbidden)
    encoding = time.perf_counter() - encoding
    dense = solver == "dense" or (solver == "auto" and slot_cells(len(pool), prep.capacity) <= dense_limit)
    if dense:
        found = solve_dense(scorer, prep.capacity, problem.min_score)
    else:
        found = solve_sparse(scorer, prep.capacity, problem.min_score, candidate_k)
    pairs = prep.fixed + _pairs(problem, prep, found)
    return MatchResult(
        pairs=tuple(pairs),
        unmatched=tuple(_unmatched(problem, prep, found)),
        conflicts=tuple(prep.conflicts),
        total_score=math.fsum(p.score for p in pairs),
        solver="dense-lsa" if dense else "sparse-bipartite",
        proven_optimal_for_candidates=True,  # both scipy solvers are exact on the graph they are given
        candidates_complete=found.candidates_complete,
        candidate_k=found.candidate_k,
        timings=Timings(encoding + found.scoring_s, found.solving_s, time.perf_counter() - started),
    )


def _pairs(problem: MatchProblem, prep: Prepared, found: Assignment) -> list[MatchedPair]:
    """Exact scores and breakdowns, computed for the chosen pairs only."""
    pairs = []
    for row, j in enumerate(found.mentor.tolist()):
        if j >= 0:
            mentee, mentor = problem.mentees[prep.pool[row]], problem.mentors[j]
            scored = score_pair(problem.criteria, mentee, mentor)
            pairs.append(MatchedPair(mentee.id, mentor.id, scored.score, scored.breakdown))
    return pairs


def _unmatched(problem: MatchProblem, prep: Prepared, found: Assignment) -> list[Unmatched]:
    out = []
    for row, j in enumerate(found.mentor.tolist()):
        if j >= 0:
            continue
        if not found.has_feasible[row]:
            reason = UnmatchedReason.NO_FEASIBLE_MENTOR
        elif not found.has_eligible[row]:
            reason = UnmatchedReason.BELOW_MINIMUM
        else:
            reason = UnmatchedReason.CAPACITY_USED
        out.append(Unmatched(problem.mentees[prep.pool[row]].id, reason))
    return out
