"""The report arithmetic against hand-computed values, and the anonymity rules as a matrix."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest

from lti_app.services.feedback.scoring import (
    BLIND_SPOT,
    COMBINED,
    HIDDEN_STRENGTH,
    Comment,
    CompetencySpec,
    ItemSpec,
    Policy,
    Response,
    Scale,
    classify_gap,
    compare,
    compute_results,
    plan_groups,
    shuffled,
)

SCALE = Scale(1, 5)
COMM = CompetencySpec("communication", "Communication", (ItemSpec(1, "Explains"), ItemSpec(2, "Listens")))
LEAD = CompetencySpec("leadership", "Leadership", (ItemSpec(3, "Owns"),))
OPEN_Q = (ItemSpec(10, "Keep doing?"),)


def sample() -> list[Response]:
    return [
        Response("self", {1: 5, 2: 4, 3: 2}),
        Response("peer", {1: 3, 2: 4, 3: None}),
        Response("peer", {1: 2, 2: 3, 3: 4}),
        Response("peer", {1: 4, 2: None, 3: 5}),
        Response("manager", {1: 3, 2: 3, 3: 3}),
        Response("direct_report", {1: 1, 2: 2, 3: 4}),
        Response("direct_report", {1: 2, 2: 2, 3: 5}),
    ]


def group(figures, key):
    return next(g for g in figures.groups if g.key == key)


def test_hand_computed_report() -> None:
    results = compute_results((COMM, LEAD), OPEN_Q, sample(), [], SCALE, Policy())
    # Peers (3) shown alone; manager (1) and direct reports (2) merged into "Others combined" (3).
    assert [(b.key, b.responses) for b in results.plan.buckets] == [("peer", 3), (COMBINED, 3)]
    assert results.others_responses == 6

    item1 = results.competencies[0].items[0].figures
    assert item1.self_score == 5
    assert item1.others.mean == pytest.approx(2.5)  # (3+2+4+3+1+2)/6
    assert item1.others.sd == pytest.approx(math.sqrt(5.5 / 6))  # population SD
    assert group(item1, "peer").stat.mean == pytest.approx(3.0)
    assert group(item1, "peer").stat.sd == pytest.approx(math.sqrt(2 / 3))
    assert group(item1, COMBINED).stat.mean == pytest.approx(2.0)
    assert item1.gap == pytest.approx(2.5) and item1.flag == BLIND_SPOT

    item2 = results.competencies[0].items[1].figures
    assert group(item2, "peer").stat.mean == pytest.approx(3.5)  # "not observed" left out
    assert group(item2, "peer").stat.not_observed == 1
    assert item2.others.mean == pytest.approx(14 / 5)
    assert item2.gap == pytest.approx(1.2) and item2.flag is None  # 1.2 < 4/3

    comm = results.competencies[0].figures
    assert comm.self_score == pytest.approx(4.5)
    assert comm.others.mean == pytest.approx(29 / 11)  # every rating of the competency pooled
    assert comm.others.n == 11 and comm.others.not_observed == 1
    assert comm.flag == BLIND_SPOT

    lead = results.competencies[1].figures
    assert lead.self_score == 2
    assert lead.others.mean == pytest.approx(4.2)
    assert group(lead, "peer").stat.mean == pytest.approx(4.5)
    assert group(lead, COMBINED).stat.mean == pytest.approx(4.0)
    assert lead.gap == pytest.approx(-2.2) and lead.flag == HIDDEN_STRENGTH

    assert results.overall.self_score == pytest.approx(11 / 3)
    assert results.overall.others.mean == pytest.approx(50 / 16)


def test_gap_of_exactly_a_third_of_the_scale_is_neither() -> None:
    # Self 4, others 3, 3, 2 (mean 8/3): the gap is exactly 4/3, which floats would call a blind spot.
    responses = [Response("self", {1: 4})] + [Response("peer", {1: v}) for v in (3, 3, 2)]
    results = compute_results(
        (CompetencySpec("c", "C", (ItemSpec(1, "x"),)),), (), responses, [], SCALE, Policy()
    )
    assert results.overall.flag is None
    from fractions import Fraction

    assert classify_gap(Fraction(4, 3) + Fraction(1, 10**9), SCALE) == BLIND_SPOT
    assert classify_gap(-Fraction(4, 3) - Fraction(1, 10**9), SCALE) == HIDDEN_STRENGTH
    assert classify_gap(Fraction(-4, 3), SCALE) is None


def test_seven_point_scale_uses_its_own_span() -> None:
    scale = Scale(1, 7)  # a third of the span is 2
    responses = [Response("self", {1: 6})] + [Response("peer", {1: v}) for v in (4, 4, 4)]
    spec = (CompetencySpec("c", "C", (ItemSpec(1, "x"),)),)
    assert compute_results(spec, (), responses, [], scale, Policy()).overall.flag is None
    responses[0] = Response("self", {1: 7})
    assert compute_results(spec, (), responses, [], scale, Policy()).overall.flag == BLIND_SPOT


GROUPS = ("mentor", "manager", "peer", "direct_report", "other")


@pytest.mark.parametrize("peer, direct, other", list(itertools.product(range(6), repeat=3)))
def test_threshold_matrix(peer: int, direct: int, other: int) -> None:
    counts = Counter({"peer": peer, "direct_report": direct, "other": other})
    plan = plan_groups(counts, Policy(threshold=3))
    shown = {b.key: b for b in plan.buckets}
    for name, n in (("peer", peer), ("direct_report", direct), ("other", other)):
        assert (name in shown) == (n >= 3)
    small = [n for n in (peer, direct, other) if 0 < n < 3]
    if small and sum(small) >= 3:
        assert shown[COMBINED].responses == sum(small)
    else:
        assert COMBINED not in shown
    # No heading ever shows fewer than the threshold, and hidden responses count nowhere.
    assert all(b.responses >= 3 for b in plan.buckets)
    assert plan.others_responses == sum(b.responses for b in plan.buckets)


@pytest.mark.parametrize("managers", range(6))
@pytest.mark.parametrize("allow_single", [False, True])
def test_manager_shown_alone_only_when_the_cycle_says_so(managers: int, allow_single: bool) -> None:
    plan = plan_groups(Counter({"manager": managers, "peer": 3}), Policy(allow_single_manager=allow_single))
    keys = [b.key for b in plan.buckets]
    if managers == 0:
        assert keys == ["peer"]
    elif allow_single or managers >= 3:
        assert keys == ["manager", "peer"]
    else:
        assert keys == ["peer"] and plan.excluded == {"manager"}


@pytest.mark.parametrize("allow_self", [False, True])
def test_self_shown_only_when_allowed(allow_self: bool) -> None:
    results = compute_results((COMM,), (), sample(), [], SCALE, Policy(allow_single_self=allow_self))
    assert results.plan.self_shown is allow_self
    assert (results.overall.self_score is not None) is allow_self
    assert (results.overall.gap is not None) is allow_self


def _all_figures(results):
    return (
        [results.overall]
        + [c.figures for c in results.competencies]
        + [i.figures for c in results.competencies for i in c.items]
    )


@pytest.mark.parametrize("hidden", [("manager",), ("mentor", "other"), ("direct_report",)])
def test_hidden_answers_change_no_figure(hidden: tuple[str, ...]) -> None:
    """Subtraction attack: with the overall average including a hidden rater, overall minus the shown group
    would give their answer away. Whatever hidden raters answer, every figure stays the same."""
    base = [Response("self", {1: 4, 2: 4, 3: 4})] + [Response("peer", {1: 3, 2: 4, 3: 5})] * 3
    low = base + [Response(g, {1: 1, 2: 1, 3: 1}) for g in hidden]
    high = base + [Response(g, {1: 5, 2: 5, 3: 5}) for g in hidden]
    a = compute_results((COMM, LEAD), (), low, [], SCALE, Policy())
    b = compute_results((COMM, LEAD), (), high, [], SCALE, Policy())
    assert _all_figures(a) == _all_figures(b)
    assert a.plan.buckets == b.plan.buckets and a.others_responses == 3


def test_one_more_response_in_a_hidden_group_changes_nothing() -> None:
    before = [Response("peer", {1: 3})] * 3 + [Response("manager", {1: 2})]
    after = before + [Response("direct_report", {1: 5})]  # manager 1 + direct 1: still below 3
    spec = (CompetencySpec("c", "C", (ItemSpec(1, "x"),)),)
    a = compute_results(spec, (), before, [], SCALE, Policy())
    b = compute_results(spec, (), after, [], SCALE, Policy())
    assert _all_figures(a) == _all_figures(b)


def test_comments_threshold_and_self_comments() -> None:
    questions = (ItemSpec(10, "Keep doing?"), ItemSpec(11, "Change?"))
    comments = [Comment(10, t) for t in ("Great listener", "Clear plans", "Always on time")]
    comments += [
        Comment(11, "Delegate more"),
        Comment(11, "Fewer meetings"),
        Comment(10, "Mine", from_self=True),
    ]
    results = compute_results((COMM,), questions, sample(), comments, SCALE, Policy(comment_threshold=3))
    keep, change = results.comments
    assert keep.shown and sorted(keep.comments) == ["Always on time", "Clear plans", "Great listener"]
    assert keep.self_comments == ("Mine",)
    assert not change.shown and change.comments == ()  # two people: below the comment threshold
    hidden_self = compute_results(
        (COMM,), questions, sample(), comments, SCALE, Policy(comment_threshold=3, allow_single_self=False)
    )
    assert hidden_self.comments[0].self_comments == ()


def test_comment_threshold_of_its_own() -> None:
    comments = [Comment(10, t) for t in ("a", "b", "c", "d")]
    assert (
        compute_results((COMM,), OPEN_Q, sample(), comments, SCALE, Policy(comment_threshold=5))
        .comments[0]
        .shown
        is False
    )
    assert (
        compute_results((COMM,), OPEN_Q, sample(), comments, SCALE, Policy(comment_threshold=4))
        .comments[0]
        .shown
    )


def test_comment_order_does_not_depend_on_arrival() -> None:
    texts = [f"comment {i}" for i in range(12)]
    orders = {shuffled(p, "cycle-1:10") for p in (texts, list(reversed(texts)), texts[5:] + texts[:5])}
    assert len(orders) == 1
    (order,) = orders
    assert list(order) != sorted(texts) and list(order) != texts  # shuffled, not alphabetical nor arrival


def test_compare_pairs_competencies_by_key() -> None:
    before = compute_results((COMM, LEAD), (), sample(), [], SCALE, Policy())
    improved = [
        Response(r.group, {k: (5 if v is not None else None) for k, v in r.ratings.items()}) for r in sample()
    ]
    renamed = CompetencySpec("leadership", "Leading others", LEAD.items)
    after = compute_results((renamed,), (), improved, [], SCALE, Policy())
    (change,) = compare(before, after)
    assert change.key == "leadership" and change.title == "Leading others"
    assert change.self_before == 2 and change.self_after == 5 and change.self_change == 3
    assert change.others_before == pytest.approx(4.2) and change.others_change == pytest.approx(0.8)
