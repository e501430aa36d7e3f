"""Hand-checkable pools: everyone stands on a line and a pair scores 100 minus their distance.

Every case runs through both solvers; the sparse one must give the same exact answer on pools this small.
"""

import pytest

from lti_app.matching import (
    ConflictReason,
    Criterion,
    FieldType,
    Kind,
    MatchProblem,
    Participant,
    score_pair,
    solve,
)

FIT = Criterion("fit", "fit", "x", Kind.SIMILARITY, FieldType.NUMBER, weight=10, scale=100)
LANGUAGES = Criterion("langs", "languages", "languages", Kind.MUST, FieldType.SET)
SAME_DEPT = Criterion("dept", "department", "dept", Kind.MUST_NOT, FieldType.CATEGORY)

pytestmark = pytest.mark.parametrize("solver", ["dense", "sparse"])


def person(pid, x, capacity=1, **attributes):
    return Participant(pid, {"x": x, **attributes}, capacity)


def run(solver, mentees, mentors, criteria=(FIT,), **problem):
    return solve(MatchProblem(mentees, mentors, list(criteria), **problem), solver=solver, candidate_k=2)


def pairs_of(result):
    return {p.mentee_id: p.mentor_id for p in result.pairs}


def reasons_of(result):
    return {u.mentee_id: u.reason.value for u in result.unmatched}


def test_optimum_is_not_the_greedy_answer(solver):
    # Greedy takes the best pair first (a-x 98) and leaves b with y (65): 163.
    # The optimum gives x to b (95) and y to a (72): 167.
    result = run(solver, [person("a", 2), person("b", -5)], [person("x", 0), person("y", 30)])
    assert pairs_of(result) == {"a": "y", "b": "x"}
    assert result.total_score == pytest.approx(167)
    assert result.proven_optimal_for_candidates


def test_three_by_three_where_best_first_fails(solver):
    # Best first: a-x 99, b-y 91, c-z 40 = 230. The unique optimum: a-y 80, b-z 80, c-x 90 = 250.
    mentees = [person("a", 1), person("b", 30), person("c", -10)]
    mentors = [person("x", 0), person("y", 21), person("z", 50)]
    result = run(solver, mentees, mentors)
    assert pairs_of(result) == {"a": "y", "b": "z", "c": "x"}
    assert result.total_score == pytest.approx(250)


def test_group_capacity_is_the_group_size(solver):
    mentees = [person("a", 1), person("b", 2), person("c", 3), person("d", 60)]
    mentors = [person("x", 0, capacity=2), person("y", 50, capacity=1)]
    result = run(solver, mentees, mentors)
    assert pairs_of(result) == {"a": "x", "b": "x", "d": "y"}
    assert reasons_of(result) == {"c": "capacity_used"}


def test_zero_capacity_mentor_gets_nobody(solver):
    result = run(solver, [person("a", 0)], [person("x", 0, capacity=0), person("y", 40)])
    assert pairs_of(result) == {"a": "y"}


def test_must_and_must_not_are_respected(solver):
    mentees = [
        person("a", 0, languages=["fr"], dept="maths"),
        person("b", 0, languages=["de"], dept="maths"),
        person("c", 0, languages=["en"], dept="maths"),
    ]
    mentors = [
        person("x", 0, capacity=3, languages=["en"], dept="physics"),  # the closest, but speaks English only
        person("y", 40, capacity=3, languages=["fr", "en"], dept="physics"),
        person("z", 0, capacity=3, languages=["en", "de"], dept="maths"),  # same department: ruled out
    ]
    result = run(solver, mentees, mentors, criteria=(FIT, LANGUAGES, SAME_DEPT))
    assert pairs_of(result) == {"a": "y", "c": "x"}
    assert reasons_of(result) == {"b": "no_feasible_mentor"}


def test_minimum_score_leaves_a_mentee_unmatched_rather_than_badly_matched(solver):
    mentees = [person("a", 0), person("b", 1), person("c", 90)]
    result = run(solver, mentees, [person("x", 0)], min_score=50)
    assert pairs_of(result) == {"a": "x"}
    assert reasons_of(result) == {"b": "capacity_used", "c": "below_minimum"}
    assert all(p.score >= 50 for p in result.pairs)


def test_a_pair_exactly_on_the_minimum_is_allowed(solver):
    result = run(solver, [person("a", 0)], [person("x", 50)], min_score=50)
    assert pairs_of(result) == {"a": "x"}


def test_forbidden_and_active_pairs_are_never_proposed(solver):
    mentees = [person("a", 0), person("b", 0)]
    mentors = [person("x", 0), person("y", 5)]
    result = run(solver, mentees, mentors, forbidden=[("a", "x"), ("a", "y")], active=[("b", "x")])
    assert pairs_of(result) == {"b": "y"}
    assert reasons_of(result) == {"a": "no_feasible_mentor"}


def test_fixed_pairs_are_honoured_first_even_below_the_minimum(solver):
    mentees = [person("a", 0), person("b", 1), person("c", 2)]
    mentors = [person("x", 0, capacity=2), person("y", 80)]
    result = run(solver, mentees, mentors, fixed=[("a", "y")], min_score=50)
    assert pairs_of(result) == {"a": "y", "b": "x", "c": "x"}
    fixed = [p for p in result.pairs if p.fixed]
    assert [(p.mentee_id, p.score) for p in fixed] == [("a", pytest.approx(20))]
    assert result.conflicts == ()


def test_fixed_pairs_that_cannot_hold_are_reported_and_the_mentee_is_matched_normally(solver):
    mentees = [
        person("a", 0, languages=["en"]),
        person("b", 0, languages=["fr"]),
        person("c", 0, languages=["en"]),
        person("d", 0, languages=["en"]),
    ]
    mentors = [
        person("x", 0, capacity=1, languages=["en"]),
        person("y", 10, capacity=3, languages=["en", "fr"]),
    ]
    fixed = [("a", "x"), ("b", "x"), ("c", "x"), ("a", "y"), ("d", "y"), ("ghost", "x"), ("a", "nobody")]
    result = run(solver, mentees, mentors, criteria=(FIT, LANGUAGES), fixed=fixed, forbidden=[("d", "y")])
    conflicts = {(c.mentee_id, c.mentor_id): c.reason for c in result.conflicts}
    assert conflicts == {
        ("b", "x"): ConflictReason.INFEASIBLE,
        ("c", "x"): ConflictReason.NO_CAPACITY,
        ("a", "y"): ConflictReason.DUPLICATE_MENTEE,
        ("d", "y"): ConflictReason.FORBIDDEN,
        ("ghost", "x"): ConflictReason.UNKNOWN_MENTEE,
        ("a", "nobody"): ConflictReason.UNKNOWN_MENTOR,
    }
    assert next(c.detail for c in result.conflicts if c.mentee_id == "b") == "languages"
    assert pairs_of(result) == {"a": "x", "b": "y", "c": "y"}
    assert reasons_of(result) == {"d": "capacity_used"}


def test_more_matches_win_between_equal_totals(solver):
    # {a-x} alone and {a-y, b-x} both total 100; the documented secondary objective picks the second.
    mentees = [person("a", 0), person("b", 50)]
    mentors = [person("x", 0), person("y", 50)]
    result = run(solver, mentees, mentors, forbidden=[("b", "y")])
    assert pairs_of(result) == {"a": "y", "b": "x"}
    assert result.total_score == pytest.approx(100)


def test_a_zero_score_pair_beats_leaving_the_mentee_unmatched(solver):
    result = run(solver, [person("a", 0)], [person("x", 500)])
    assert pairs_of(result) == {"a": "x"}
    assert result.pairs[0].score == 0.0


def test_pairs_carry_the_exact_breakdown(solver):
    mentees = [person("a", 2, languages=["en"]), person("b", -5, languages=["en"])]
    mentors = [person("x", 0, languages=["en"]), person("y", 30, languages=["en"])]
    result = run(solver, mentees, mentors, criteria=(FIT, LANGUAGES))
    by_id = {p.id: p for p in mentees + mentors}
    for pair in result.pairs:
        exact = score_pair([FIT, LANGUAGES], by_id[pair.mentee_id], by_id[pair.mentor_id])
        assert (pair.score, pair.breakdown) == (exact.score, exact.breakdown)
        assert sum(i.points for i in pair.breakdown) == pytest.approx(pair.score)


def test_empty_pools(solver):
    assert run(solver, [], [person("x", 0)]).pairs == ()
    result = run(solver, [person("a", 0)], [])
    assert reasons_of(result) == {"a": "no_feasible_mentor"}


def test_bad_input_is_refused(solver):
    with pytest.raises(ValueError):
        run(solver, [person("a", 0), person("a", 1)], [person("x", 0)])
    with pytest.raises(ValueError):
        run(solver, [person("a", 0)], [person("x", 0)], min_score=101)
