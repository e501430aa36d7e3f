"""The progress counts of a running cycle, as an adversary reads them: no answered or declined count may
cover fewer people asked than the threshold, directly or as a difference of two shown counts."""

from __future__ import annotations

import itertools

import pytest

from lti_app.services.feedback.cycles import ALL_OTHERS, POOLED, GroupProgress, shown_progress

GROUPS = ("mentor", "peer", "other")


def counts(asked: tuple[int, ...], answered: tuple[int, ...]) -> dict[str, GroupProgress]:
    found = {"self": GroupProgress(1, 1, 0, 0)}
    for group, n, done in zip(GROUPS, asked, answered, strict=True):
        if n:
            found[group] = GroupProgress(n, done, 0, 0)
    return found


CASES = [
    (asked, answered)
    for asked in itertools.product(range(5), repeat=3)
    for answered in itertools.product(*(range(n + 1) for n in asked))
]


@pytest.mark.parametrize("threshold", [2, 3, 4])
def test_no_shown_count_covers_fewer_people_than_the_threshold(threshold: int) -> None:
    for asked, answered in CASES:
        shown = shown_progress(counts(asked, answered), threshold).groups
        rows = {k: v for k, v in shown.items() if k != "self"}
        for key, row in rows.items():
            if row.answered is not None:
                assert row.asked >= threshold, (asked, answered, key)
        # Differences: the total minus every group shown alone is the pool, which must then be shown too
        # (or empty).
        alone = [k for k in GROUPS if k in rows and rows[k].answered is not None]
        if alone and rows[ALL_OTHERS].answered is not None:
            pool = rows.get(POOLED)
            assert pool is None or pool.answered is not None, (asked, answered)


@pytest.mark.parametrize("threshold", [3])
def test_what_is_shown_is_the_same_whoever_among_the_small_groups_answered(threshold: int) -> None:
    """Mentor 1, other 1, peers 3: whether the mentor or the other answered reads the same."""
    mentor = shown_progress(counts((1, 3, 1), (1, 0, 0)), threshold)
    other = shown_progress(counts((1, 3, 1), (0, 0, 1)), threshold)
    peer = shown_progress(counts((1, 3, 1), (0, 1, 0)), threshold)
    assert mentor == other == peer  # the pool (2) is below 3: only the total of 5 shows
    assert mentor.groups[ALL_OTHERS].answered == 1 and mentor.groups["peer"].answered is None


def test_self_assessment_and_approval_counts_stay_visible() -> None:
    progress = shown_progress({"self": GroupProgress(1, 1, 0, 0), "peer": GroupProgress(1, 1, 0, 2)}, 3)
    assert progress.self_done and progress.groups["peer"] == GroupProgress(1, None, None, 2)
    assert progress.others_answered is None and progress.others_asked == 1
