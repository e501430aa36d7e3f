"""Random programmes: the large-pool solver against the exact one, and the rules on every answer."""

from collections import Counter

import pytest

from lti_app.matching import MatchProblem, score_pair, solve, synthetic

SEEDS = range(5)


def problem(seed, min_score=0.0, n=300, m=60, capacity=5):
    mentees, mentors = synthetic.pool(n, m, capacity, seed=seed)
    forbidden = [(mentees[i].id, mentors[(7 * i) % m].id) for i in range(0, n, 3)]
    fixed = [(mentees[i].id, mentors[i % m].id) for i in range(0, n, 50)]
    return MatchProblem(mentees, mentors, synthetic.criteria(), min_score, fixed=fixed, forbidden=forbidden)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("min_score", [0.0, 45.0])
def test_sparse_total_is_within_half_a_percent_of_the_exact_total(seed, min_score):
    p = problem(seed, min_score)
    dense, sparse = solve(p, solver="dense"), solve(p, solver="sparse")
    assert dense.solver == "dense-lsa" and dense.proven_optimal
    assert sparse.solver == "sparse-bipartite" and sparse.candidate_k == 30
    assert sparse.total_score <= dense.total_score + 1e-3
    assert sparse.total_score >= 0.995 * dense.total_score


@pytest.mark.parametrize("seed", SEEDS)
def test_tight_candidate_lists_stay_close(seed):
    p = problem(seed, n=400, m=50, capacity=8)
    dense, sparse = solve(p, solver="dense"), solve(p, solver="sparse", candidate_k=10)
    assert sparse.total_score >= 0.995 * dense.total_score


def test_uncut_candidate_lists_are_the_exact_optimum():
    p = problem(11, n=120, m=20)
    dense, sparse = solve(p, solver="dense"), solve(p, solver="sparse", candidate_k=20)
    assert sparse.candidates_complete and sparse.proven_optimal
    assert sparse.total_score == pytest.approx(dense.total_score, abs=1e-3)
    assert len(sparse.pairs) == len(dense.pairs)


@pytest.mark.parametrize("solver", ["dense", "sparse"])
@pytest.mark.parametrize("seed", SEEDS)
def test_every_answer_keeps_the_rules(solver, seed):
    p = problem(seed, min_score=45.0)
    result = solve(p, solver=solver)
    mentees = {x.id: x for x in p.mentees}
    mentors = {x.id: x for x in p.mentors}
    fixed = set(p.fixed) - {(c.mentee_id, c.mentor_id) for c in result.conflicts}
    load = Counter(pair.mentor_id for pair in result.pairs)
    assert all(load[r] <= mentors[r].capacity for r in load)
    assert len({pair.mentee_id for pair in result.pairs}) == len(result.pairs)
    assert {pair.mentee_id for pair in result.pairs}.isdisjoint(u.mentee_id for u in result.unmatched)
    assert len(result.pairs) + len(result.unmatched) == len(p.mentees)
    for pair in result.pairs:
        ids = (pair.mentee_id, pair.mentor_id)
        assert pair.fixed == (ids in fixed)
        assert ids not in set(p.forbidden)
        exact = score_pair(p.criteria, mentees[pair.mentee_id], mentors[pair.mentor_id])
        assert exact.feasible and exact.score == pair.score
        assert pair.fixed or pair.score >= p.min_score - 1e-3


@pytest.mark.parametrize("seed", SEEDS)
def test_unmatched_reasons_are_accurate(seed):
    p = problem(seed, min_score=60.0)
    result = solve(p, solver="sparse")
    mentors = p.mentors
    by_id = {x.id: x for x in p.mentees}
    banned = set(p.forbidden)
    for u in result.unmatched:
        scores = [
            score_pair(p.criteria, by_id[u.mentee_id], r)
            for r in mentors
            if (u.mentee_id, r.id) not in banned
        ]
        feasible = [s for s in scores if s.feasible]
        good = [s for s in feasible if s.score >= p.min_score - 1e-3]
        expected = "no_feasible_mentor" if not feasible else "below_minimum" if not good else "capacity_used"
        assert u.reason.value == expected


@pytest.mark.parametrize("solver", ["dense", "sparse", "auto"])
def test_deterministic(solver):
    first, second = solve(problem(4), solver=solver), solve(problem(4), solver=solver)
    assert first.pairs == second.pairs and first.unmatched == second.unmatched


def test_auto_picks_by_size():
    assert solve(problem(0)).solver == "dense-lsa"
    assert solve(problem(0), dense_limit=1000).solver == "sparse-bipartite"
