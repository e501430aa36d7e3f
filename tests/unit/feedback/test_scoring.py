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
    Stat,
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
HIDDEN = Stat(hidden=True)


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

    # Two peers rated "Listens" (the third did not observe it): below the threshold of 3 ratings, so the
    # peers' figure is hidden and their two ratings count nowhere, the others' figure included.
    item2 = results.competencies[0].items[1].figures
    assert group(item2, "peer").stat == HIDDEN
    assert group(item2, COMBINED).stat.mean == pytest.approx(7 / 3)  # (3+2+2)/3
    assert item2.others.mean == pytest.approx(7 / 3) and item2.others.n == 3
    assert item2.others.not_observed == 0
    assert item2.gap == pytest.approx(5 / 3) and item2.flag == BLIND_SPOT  # 4 - 7/3 > 4/3

    comm = results.competencies[0].figures
    assert comm.self_score == pytest.approx(4.5)
    assert group(comm, "peer").stat.mean == pytest.approx(3.0) and group(comm, "peer").stat.n == 3
    assert group(comm, COMBINED).stat.mean == pytest.approx(13 / 6)  # (3+1+2 + 3+2+2)/6
    assert comm.others.mean == pytest.approx(22 / 9)  # every shown rating of the competency pooled
    assert comm.others.n == 9 and comm.others.not_observed == 0
    assert comm.gap == pytest.approx(37 / 18) and comm.flag == BLIND_SPOT

    lead = results.competencies[1].figures
    assert lead.self_score == 2
    assert group(lead, "peer").stat == HIDDEN  # 4 and 5 from two peers: both would be given away
    assert group(lead, COMBINED).stat.mean == pytest.approx(4.0)
    assert lead.others.mean == pytest.approx(4.0)
    assert lead.gap == pytest.approx(-2.0) and lead.flag == HIDDEN_STRENGTH

    assert results.overall.self_score == pytest.approx(11 / 3)
    assert results.overall.others.mean == pytest.approx(34 / 12)  # 15 + 7 + 12 over 12 ratings
    assert group(results.overall, "peer").stat.mean == pytest.approx(3.0)  # "Explains" only


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
    # Leadership's others: the combined group alone (two peers' ratings are too few to count).
    assert change.others_before == pytest.approx(4.0) and change.others_change == pytest.approx(1.0)


# --- ratings, not responses, meet the threshold --------------------------------------------------------

ONE = (CompetencySpec("c", "C", (ItemSpec(1, "Explains"), ItemSpec(2, "Listens"))),)


def peers_with_lone_rating(value: int, observers: int = 1) -> list[Response]:
    """Three peers answer; on "Listens" only ``observers`` of them rate, the rest say "not observed"."""
    rated = [Response("peer", {1: 4, 2: value})] * observers
    return [Response("self", {1: 4, 2: 4})] + rated + [Response("peer", {1: 3, 2: None})] * (3 - observers)


@pytest.mark.parametrize("observers", [1, 2])
def test_an_item_rated_by_fewer_than_the_threshold_shows_nothing_of_them(observers: int) -> None:
    """The reviewer's case: three peers answered, but one (or two) rated the item. Mean, spread, the others'
    figure and the gap would give their ratings away; none is shown, and nothing depends on them."""
    low = compute_results(ONE, (), peers_with_lone_rating(1, observers), [], SCALE, Policy())
    high = compute_results(ONE, (), peers_with_lone_rating(5, observers), [], SCALE, Policy())
    listens = low.competencies[0].items[1].figures
    assert group(listens, "peer").stat == HIDDEN and group(listens, "peer").responses == 3
    assert listens.others == Stat() and listens.gap is None and listens.flag is None
    assert listens.self_score == 4  # the subject's own view is theirs to see
    # Competency and overall figures pool only what is shown ("Explains": 4, 3, 3 or 4, 4, 3).
    assert group(low.competencies[0].figures, "peer").stat.n == 3
    assert _all_figures(low) == _all_figures(high)


def test_a_hidden_group_on_an_item_leaves_the_others_figure_to_the_shown_groups() -> None:
    responses = peers_with_lone_rating(2) + [Response("mentor", {1: 5, 2: v}) for v in (4, 4, 5)]
    results = compute_results(ONE, (), responses, [], SCALE, Policy())
    listens = results.competencies[0].items[1].figures
    assert group(listens, "peer").stat == HIDDEN
    assert group(listens, "mentor").stat.mean == pytest.approx(13 / 3)
    assert listens.others.n == 3 and listens.others.mean == pytest.approx(13 / 3)  # the mentors' alone
    assert listens.gap == pytest.approx(4 - 13 / 3)
    again = compute_results(ONE, (), peers_with_lone_rating(5) + responses[4:], [], SCALE, Policy())
    assert _all_figures(results) == _all_figures(again)


def test_a_competency_whose_ratings_are_all_hidden_shows_nothing() -> None:
    responses = [Response("peer", {1: 2, 2: 5})] + [Response("peer", {1: None, 2: None})] * 2
    results = compute_results(ONE, (), responses, [], SCALE, Policy())
    comm = results.competencies[0].figures
    assert group(comm, "peer").stat == HIDDEN
    assert comm.others == Stat() and comm.gap is None
    assert results.overall.others.mean is None


def test_higher_threshold_counts_ratings_too() -> None:
    responses = [Response("peer", {1: 3, 2: 4})] * 4 + [Response("peer", {1: 3, 2: None})]
    policy = Policy(threshold=5)
    listens = compute_results(ONE, (), responses, [], SCALE, policy).competencies[0].items[1].figures
    assert group(listens, "peer").stat == HIDDEN  # 4 ratings from 5 responses
    explains = compute_results(ONE, (), responses, [], SCALE, policy).competencies[0].items[0].figures
    assert group(explains, "peer").stat.n == 5 and group(explains, "peer").stat.mean == 3


def test_a_single_managers_view_keeps_its_own_rule() -> None:
    """When the cycle shows a lone manager (and tells them), their one rating is the manager's view."""
    responses = [Response("manager", {1: 4, 2: 2})] + [Response("peer", {1: 3, 2: 3})] * 3
    listens = (
        compute_results(ONE, (), responses, [], SCALE, Policy(allow_single_manager=True))
        .competencies[0]
        .items[1]
        .figures
    )
    assert group(listens, "manager").stat.mean == 2 and group(listens, "manager").stat.n == 1
    assert listens.others.n == 4 and listens.others.mean == pytest.approx(11 / 4)


@pytest.mark.parametrize("pattern", list(itertools.product([None, 2, 5], repeat=4)))
def test_no_shown_figure_rests_on_fewer_ratings_than_the_threshold(pattern) -> None:  # type: ignore[no-untyped-def]
    """Every combination of "not observed" among four peers and two direct reports on one item: whatever is
    shown rests on at least three ratings, and no hidden rating moves any figure."""
    def responses(lone: int) -> list[Response]:
        peers = [Response("peer", {1: v, 2: 3}) for v in pattern]
        return peers + [Response("direct_report", {1: lone, 2: 3}), Response("mentor", {1: lone, 2: 3})]

    low = compute_results(ONE, (), responses(1), [], SCALE, Policy())
    high = compute_results(ONE, (), responses(5), [], SCALE, Policy())
    for figures in _all_figures(low):
        for stat in [figures.others] + [g.stat for g in figures.groups]:
            assert stat.mean is None or stat.n >= 3, stat
            assert stat.sd is None or stat.n >= 3, stat
    # The direct report and the mentor are combined (2 responses, below 3): hidden everywhere.
    assert _all_figures(low) == _all_figures(high)
