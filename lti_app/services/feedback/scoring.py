"""The arithmetic of a 360 report, as pure functions (no database, no Flask), so every figure can be
checked by hand.

Decisions, stated once:

* **Averages** are means of the ratings given; "not observed" is left out (and counted separately).
  A competency's figure pools every rating of its items (each rating weighs the same).
* **Spread** is the population standard deviation of the ratings in the bucket (divide by *n*): it
  describes the raters who answered, it does not estimate a wider population.
* **Groups** are shown alone with at least ``threshold`` responses (a manager group with one, only when the
  cycle allows it). Smaller groups are merged into one "Others combined" bucket, shown if it reaches the
  threshold. If it does not, those responses are left out of *every* figure, the overall others' average
  included: otherwise "all others" minus the shown groups would give the hidden raters' answers away.
* **Ratings**, not only responses, must reach the threshold. When some of a group say "not observed", the
  group's figure for that item may rest on one or two ratings (with two, mean and spread give both away).
  So a group's ratings of an item count only if there are at least ``threshold`` of them (one for a
  manager shown alone); otherwise that figure is *hidden* and those ratings are left out of every figure
  too: the others' figure and the gap of the item, and the competency and overall figures that pool it
  (any of which, minus what is shown, would give them back). A hidden figure shows no count either.
* **Gap** is self minus others. More than a third of the scale span above others is a *blind spot*; more
  than a third below is a *hidden strength*. Compared exactly (fractions), so a gap of exactly a third is
  neither.
* **Comments** of others on a question are shown only when at least ``comment_threshold`` people wrote
  one, pooled without groups, in an order that depends only on their text (sorted, then shuffled with a
  fixed seed), never on when they were written.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from lti_app.models.feedback import GROUP_LABELS, MANAGER, RATER_GROUPS, SELF

COMBINED = "combined"
COMBINED_LABEL = "Others combined"
BLIND_SPOT = "blind_spot"
HIDDEN_STRENGTH = "hidden_strength"


@dataclass(frozen=True)
class Scale:
    minimum: int = 1
    maximum: int = 5
    labels: tuple[str, ...] = ()
    not_observed: str | None = "Not observed"

    @property
    def gap_threshold(self) -> Fraction:
        return Fraction(self.maximum - self.minimum, 3)

    def label(self, value: int) -> str:
        index = value - self.minimum
        return self.labels[index] if 0 <= index < len(self.labels) else str(value)


@dataclass(frozen=True)
class Policy:
    threshold: int = 3
    comment_threshold: int = 3
    allow_single_self: bool = True
    allow_single_manager: bool = False


@dataclass(frozen=True)
class ItemSpec:
    id: int
    prompt: str


@dataclass(frozen=True)
class CompetencySpec:
    key: str
    title: str
    items: tuple[ItemSpec, ...]


@dataclass(frozen=True)
class Response:
    group: str
    # item id -> score, or None for "not observed"; items absent were not asked.
    ratings: Mapping[int, int | None]


@dataclass(frozen=True)
class Comment:
    item_id: int
    body: str
    from_self: bool = False


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    groups: tuple[str, ...]
    responses: int
    # Ratings of one item this bucket needs before they are shown: the threshold, or one for a manager the
    # cycle shows alone.
    min_ratings: int = 1


@dataclass(frozen=True)
class GroupPlan:
    """Which responses may be shown, and under which heading. ``excluded`` is for the arithmetic only and
    is never rendered (not even as a count)."""

    buckets: tuple[Bucket, ...]
    self_shown: bool
    excluded: frozenset[str] = field(default_factory=frozenset)

    def bucket_of(self, group: str) -> str | None:
        for bucket in self.buckets:
            if group in bucket.groups:
                return bucket.key
        return None

    @property
    def others_responses(self) -> int:
        return sum(b.responses for b in self.buckets)


def plan_groups(counts: Mapping[str, int], policy: Policy) -> GroupPlan:
    alone: list[Bucket] = []
    merged: list[str] = []
    for group in RATER_GROUPS:
        n = counts.get(group, 0)
        if group == SELF or n == 0:
            continue
        if group == MANAGER and policy.allow_single_manager:
            alone.append(Bucket(group, GROUP_LABELS[group], (group,), n, min_ratings=1))
        elif n >= policy.threshold:
            alone.append(Bucket(group, GROUP_LABELS[group], (group,), n, min_ratings=policy.threshold))
        else:
            merged.append(group)
    merged_n = sum(counts.get(g, 0) for g in merged)
    excluded: frozenset[str] = frozenset()
    if merged and merged_n >= policy.threshold:
        alone.append(Bucket(COMBINED, COMBINED_LABEL, tuple(merged), merged_n, min_ratings=policy.threshold))
    elif merged:
        excluded = frozenset(merged)
    self_shown = policy.allow_single_self and counts.get(SELF, 0) > 0
    return GroupPlan(tuple(alone), self_shown, excluded)


@dataclass(frozen=True)
class Stat:
    n: int = 0
    mean: float | None = None
    sd: float | None = None
    not_observed: int = 0
    hidden: bool = False  # too few ratings to show: no figure, no count


@dataclass(frozen=True)
class GroupStat:
    key: str
    label: str
    responses: int
    stat: Stat


@dataclass(frozen=True)
class Figures:
    self_score: float | None
    others: Stat
    groups: tuple[GroupStat, ...]
    gap: float | None
    flag: str | None


@dataclass(frozen=True)
class ItemResult:
    item_id: int
    prompt: str
    figures: Figures


@dataclass(frozen=True)
class CompetencyResult:
    key: str
    title: str
    figures: Figures
    items: tuple[ItemResult, ...]


@dataclass(frozen=True)
class CommentBlock:
    item_id: int
    prompt: str
    shown: bool
    comments: tuple[str, ...]
    self_comments: tuple[str, ...]


@dataclass(frozen=True)
class Results:
    plan: GroupPlan
    competencies: tuple[CompetencyResult, ...]
    overall: Figures
    comments: tuple[CommentBlock, ...]
    others_responses: int


class _Pool:
    """Ratings gathered per item for self, for each shown bucket and for all shown others. ``hidden`` holds
    the (item, bucket) pairs with too few ratings: ``take`` leaves them out of every figure."""

    def __init__(self) -> None:
        self.values: dict[tuple[int, str], list[int]] = defaultdict(list)
        self.unobserved: Counter[tuple[int, str]] = Counter()
        self.hidden: set[tuple[int, str]] = set()

    def add(self, item_id: int, bucket: str, value: int | None) -> None:
        if value is None:
            self.unobserved[(item_id, bucket)] += 1
        else:
            self.values[(item_id, bucket)].append(value)

    def take(self, item_ids: Iterable[int], bucket: str) -> tuple[list[int], int]:
        ids = [i for i in item_ids if (i, bucket) not in self.hidden]
        values = [v for i in ids for v in self.values.get((i, bucket), ())]
        return values, sum(self.unobserved.get((i, bucket), 0) for i in ids)

    def any_hidden(self, item_ids: Iterable[int], bucket: str) -> bool:
        return any((i, bucket) in self.hidden for i in item_ids)


_OTHERS = "\x00others"


def _mean(values: Sequence[int]) -> Fraction | None:
    return Fraction(sum(values), len(values)) if values else None


def stat_of(values: Sequence[int], not_observed: int = 0) -> Stat:
    mean = _mean(values)
    if mean is None:
        return Stat(0, None, None, not_observed)
    variance = sum((Fraction(v) - mean) ** 2 for v in values) / len(values)
    return Stat(len(values), float(mean), math.sqrt(variance), not_observed)


def classify_gap(gap: Fraction | None, scale: Scale) -> str | None:
    if gap is None:
        return None
    if gap > scale.gap_threshold:
        return BLIND_SPOT
    if -gap > scale.gap_threshold:
        return HIDDEN_STRENGTH
    return None


def _shown(values: Sequence[int], unobserved: int, minimum: int) -> Stat:
    """A figure, unless it would rest on fewer ratings than ``minimum`` (none at all is no secret)."""
    if 0 < len(values) < minimum:
        return HIDDEN
    return stat_of(values, unobserved)


HIDDEN = Stat(hidden=True)


def _figures(pool: _Pool, item_ids: Sequence[int], plan: GroupPlan, scale: Scale) -> Figures:
    self_values, _ = pool.take(item_ids, SELF)
    others_values, others_unobserved = pool.take(item_ids, _OTHERS)
    self_mean = _mean(self_values) if plan.self_shown else None
    # Only shown ratings reach the others' pool, so it needs no threshold of its own beyond the smallest a
    # bucket has; checked all the same, so no change above can ever show fewer.
    others = _shown(others_values, others_unobserved, min((b.min_ratings for b in plan.buckets), default=1))
    others_mean = _mean(others_values) if others.mean is not None else None
    gap = self_mean - others_mean if self_mean is not None and others_mean is not None else None
    groups = []
    for bucket in plan.buckets:
        values, unobserved = pool.take(item_ids, bucket.key)
        if not values and pool.any_hidden(item_ids, bucket.key):
            stat = HIDDEN  # every rating of this bucket here is too few to show
        else:
            stat = _shown(values, unobserved, bucket.min_ratings)
        groups.append(GroupStat(bucket.key, bucket.label, bucket.responses, stat))
    return Figures(
        self_score=float(self_mean) if self_mean is not None else None,
        others=others,
        groups=tuple(groups),
        gap=float(gap) if gap is not None else None,
        flag=classify_gap(gap, scale),
    )


def pool_ratings(responses: Sequence[Response], plan: GroupPlan) -> _Pool:
    pool = _Pool()
    for response in responses:
        if response.group == SELF:
            for item_id, value in response.ratings.items():
                pool.add(item_id, SELF, value)
            continue
        bucket = plan.bucket_of(response.group)
        if bucket is None:  # a group too small to show, even combined: counts nowhere
            continue
        for item_id, value in response.ratings.items():
            pool.add(item_id, bucket, value)
    # A bucket's ratings of an item count only when there are enough of them; the others' pool is built
    # from those that count, so no figure minus another gives a hidden rating back.
    minimum = {b.key: b.min_ratings for b in plan.buckets}
    pool.hidden = {(i, key) for (i, key), values in pool.values.items() if len(values) < minimum.get(key, 0)}
    for (item_id, key), values in list(pool.values.items()):
        if key != SELF and (item_id, key) not in pool.hidden:
            for value in values:
                pool.add(item_id, _OTHERS, value)
    for (item_id, key), count in list(pool.unobserved.items()):
        if key != SELF and (item_id, key) not in pool.hidden:
            pool.unobserved[(item_id, _OTHERS)] += count
    return pool


def rounded(value: float | None, places: int = 2) -> float | None:
    """Half up, as people round by hand (3.125 -> 3.13; binary floats and Python's ``round`` say 3.12)."""
    if value is None:
        return None
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def format_number(value: float | None, signed: bool = False) -> str:
    """Two decimals for every page, API body and PDF, so they always agree."""
    if value is None:
        return "-"
    shown = rounded(value)
    return f"{shown:+.2f}" if signed else f"{shown:.2f}"


def shuffled(bodies: Iterable[str], seed: str) -> tuple[str, ...]:
    """An order that depends only on the set of texts and the seed, never on the order they arrived in."""
    ordered = sorted(bodies)
    random.Random(seed).shuffle(ordered)
    return tuple(ordered)


def comment_blocks(
    open_items: Sequence[ItemSpec], comments: Sequence[Comment], plan: GroupPlan, policy: Policy, seed: str
) -> tuple[CommentBlock, ...]:
    by_item: dict[int, list[Comment]] = defaultdict(list)
    for comment in comments:
        if comment.body.strip():
            by_item[comment.item_id].append(comment)
    blocks = []
    for item in open_items:
        found = by_item.get(item.id, [])
        others = [c.body for c in found if not c.from_self]
        own = [c.body for c in found if c.from_self] if plan.self_shown else []
        shown = len(others) >= policy.comment_threshold
        blocks.append(
            CommentBlock(
                item.id, item.prompt, shown,
                shuffled(others, f"{seed}:{item.id}") if shown else (),
                tuple(own),
            )
        )
    return tuple(blocks)


def compute_results(
    competencies: Sequence[CompetencySpec],
    open_items: Sequence[ItemSpec],
    responses: Sequence[Response],
    comments: Sequence[Comment],
    scale: Scale,
    policy: Policy,
    seed: str = "",
) -> Results:
    plan = plan_groups(Counter(r.group for r in responses), policy)
    pool = pool_ratings(responses, plan)
    results = []
    for competency in competencies:
        ids = [item.id for item in competency.items]
        items = tuple(
            ItemResult(i.id, i.prompt, _figures(pool, [i.id], plan, scale)) for i in competency.items
        )
        figures = _figures(pool, ids, plan, scale)
        results.append(CompetencyResult(competency.key, competency.title, figures, items))
    all_ids = [item.id for competency in competencies for item in competency.items]
    return Results(
        plan=plan,
        competencies=tuple(results),
        overall=_figures(pool, all_ids, plan, scale),
        comments=comment_blocks(open_items, comments, plan, policy, seed),
        others_responses=plan.others_responses,
    )


@dataclass(frozen=True)
class Change:
    key: str
    title: str
    self_before: float | None
    self_after: float | None
    others_before: float | None
    others_after: float | None

    @property
    def self_change(self) -> float | None:
        return _delta(self.self_before, self.self_after)

    @property
    def others_change(self) -> float | None:
        return _delta(self.others_before, self.others_after)


def _delta(before: float | None, after: float | None) -> float | None:
    return after - before if before is not None and after is not None else None


def compare(before: Results, after: Results) -> tuple[Change, ...]:
    """Competencies present in both (paired by their stable key), in the order of the later report."""
    earlier = {c.key: c for c in before.competencies}
    changes = []
    for now in after.competencies:
        then = earlier.get(now.key)
        if then is None:
            continue
        changes.append(
            Change(
                now.key, now.title,
                then.figures.self_score, now.figures.self_score,
                then.figures.others.mean, now.figures.others.mean,
            )
        )
    return tuple(changes)
