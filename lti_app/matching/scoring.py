"""Scoring a whole pool at once, a block of mentees at a time.

10,000 mentees by 2,000 mentors is 20 million pairs; scoring them in blocks of about two million cells
(float32) keeps memory flat however large the pool, and lets the solvers keep only what they need from
each block.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lti_app.matching.criteria import Criterion, Kind, Participant, total_weight
from lti_app.matching.encode import BoolArray, FloatArray, encode

BLOCK_CELLS = 1 << 21


@dataclass(frozen=True)
class Block:
    """Scores (0-100) and feasibility of mentees ``start:stop`` against every mentor."""

    start: int
    stop: int
    scores: FloatArray
    feasible: BoolArray


class PoolScorer:
    """Vectorised twin of `pair.score_pair`; ``forbidden`` holds (mentee index, mentor index) pairs."""

    def __init__(
        self,
        criteria: Sequence[Criterion],
        mentees: Sequence[Participant],
        mentors: Sequence[Participant],
        forbidden: npt.NDArray[np.int64] | None = None,
    ):
        self.n, self.m = len(mentees), len(mentors)
        weight = total_weight(criteria)
        self.scale = np.float32(100.0 / weight if weight else 0.0)
        self.weighted = [(np.float32(c.weight), encode(c, mentees, mentors)) for c in criteria if c.scores]
        self.constraints = [
            (c.kind is Kind.MUST, encode(c, mentees, mentors)) for c in criteria if c.is_constraint
        ]
        pairs = np.asarray(forbidden if forbidden is not None else [], np.int64).reshape(-1, 2)
        self.forbidden = pairs[np.argsort(pairs[:, 0], kind="stable")]

    def block(self, start: int, stop: int) -> Block:
        rows = slice(start, stop)
        total = np.zeros((stop - start, self.m), dtype=np.float32)
        for weight, encoded in self.weighted:
            value = encoded.value(rows)
            value *= weight
            total += value
        total *= self.scale
        feasible = np.ones_like(total, dtype=bool)
        for must, encoded in self.constraints:
            holds = encoded.holds(rows)
            feasible &= holds if must else ~holds
        lo, hi = np.searchsorted(self.forbidden[:, 0], [start, stop])
        feasible[self.forbidden[lo:hi, 0] - start, self.forbidden[lo:hi, 1]] = False
        return Block(start, stop, total, feasible)

    def blocks(self, cells: int = BLOCK_CELLS) -> Iterator[Block]:
        step = max(1, cells // max(self.m, 1))
        for start in range(0, self.n, step):
            yield self.block(start, min(self.n, start + step))


def score_pool(
    criteria: Sequence[Criterion], mentees: Sequence[Participant], mentors: Sequence[Participant]
) -> tuple[FloatArray, BoolArray]:
    """The full mentees × mentors score and feasibility matrices, for reports and small pools."""
    scorer = PoolScorer(criteria, mentees, mentors)
    scores = np.zeros((scorer.n, scorer.m), dtype=np.float32)
    feasible = np.zeros((scorer.n, scorer.m), dtype=bool)
    for b in scorer.blocks():
        scores[b.start : b.stop], feasible[b.start : b.stop] = b.scores, b.feasible
    return scores, feasible
