"""Each criterion's measure over a block of mentees against all mentors, as arrays.

Attributes are encoded once per pool: tags as a sparse incidence matrix (so intersections are one sparse
product), categories as integer codes, numbers as float arrays with NaN for missing. The formulas mirror
`pair.py` line for line.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy import sparse

from lti_app.matching.criteria import Criterion, FieldType, Kind, Participant
from lti_app.matching.values import DISTANCE_SLACK, as_category, as_number, as_set

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
# Above this many cells the mentor side of a tag criterion stays sparse instead of a dense matrix.
DENSE_TAG_CELLS = 20_000_000


class Encoded(Protocol):
    def value(self, rows: slice) -> FloatArray: ...
    def holds(self, rows: slice) -> BoolArray: ...


class _Tags:
    def __init__(self, c: Criterion, mentees: Sequence[Participant], mentors: Sequence[Participant]):
        left_sets = [as_set(p.attributes.get(c.field)) for p in mentees]
        right_sets = [as_set(p.attributes.get(c.other_field)) for p in mentors]
        vocab: dict[Hashable, int] = {}
        for tags in left_sets + right_sets:
            for tag in tags:
                vocab.setdefault(tag, len(vocab))
        left, right = self._incidence(left_sets, vocab), self._incidence(right_sets, vocab)
        self.left = left
        dense = right.shape[0] * right.shape[1] <= DENSE_TAG_CELLS
        self.right_t = right.T.toarray() if dense else right.T.tocsc()
        self.left_size = np.diff(left.indptr).astype(np.float32)
        self.right_size = np.diff(right.indptr).astype(np.float32)
        self.complement = c.kind is Kind.COMPLEMENTARITY

    @staticmethod
    def _incidence(sets: list[frozenset[Hashable]], vocab: dict[Hashable, int]) -> sparse.csr_matrix:
        cols = np.array([vocab[tag] for tags in sets for tag in tags], dtype=np.int64)
        indptr = np.cumsum([0] + [len(tags) for tags in sets])
        data = np.ones(len(cols), dtype=np.float32)
        return sparse.csr_matrix((data, cols, indptr), shape=(len(sets), max(len(vocab), 1)))

    def _intersections(self, rows: slice) -> FloatArray:
        product = self.left[rows] @ self.right_t
        return np.asarray(product.toarray() if sparse.issparse(product) else product, dtype=np.float32)

    def value(self, rows: slice) -> FloatArray:
        inter = self._intersections(rows)
        mine = self.left_size[rows, None]
        denom = mine if self.complement else mine + self.right_size[None, :] - inter
        return np.divide(inter, denom, out=np.zeros_like(inter), where=denom > 0)

    def holds(self, rows: slice) -> BoolArray:
        return self._intersections(rows) > 0


class _Categories:
    def __init__(self, c: Criterion, mentees: Sequence[Participant], mentors: Sequence[Participant]):
        codes: dict[Hashable, int] = {}
        # Missing values get different codes on each side (-1, -2) so that missing never equals missing.
        self.left = self._codes([as_category(p.attributes.get(c.field)) for p in mentees], codes, -1)
        self.right = self._codes([as_category(p.attributes.get(c.other_field)) for p in mentors], codes, -2)

    @staticmethod
    def _codes(values: list[Hashable | None], codes: dict[Hashable, int], missing: int) -> IntArray:
        return np.array([missing if v is None else codes.setdefault(v, len(codes)) for v in values], np.int64)

    def holds(self, rows: slice) -> BoolArray:
        return self.left[rows, None] == self.right[None, :]

    def value(self, rows: slice) -> FloatArray:
        return self.holds(rows).astype(np.float32)


class _Numbers:
    def __init__(self, c: Criterion, mentees: Sequence[Participant], mentors: Sequence[Participant]):
        self.left = np.array([as_number(p.attributes.get(c.field)) for p in mentees], dtype=np.float64)
        self.right = np.array([as_number(p.attributes.get(c.other_field)) for p in mentors], dtype=np.float64)
        self.c = c

    def _distance(self, rows: slice) -> npt.NDArray[np.float64]:
        d = np.abs(self.left[rows, None] - self.right[None, :])
        if self.c.period is not None:
            d %= self.c.period
            np.minimum(d, self.c.period - d, out=d)
        return d

    def value(self, rows: slice) -> FloatArray:
        if self.c.kind is Kind.COMPLEMENTARITY:
            raw = (self.right[None, :] - self.left[rows, None]) / self.c.scale
        else:
            raw = 1.0 - self._distance(rows) / self.c.scale
        return np.nan_to_num(np.clip(raw, 0.0, 1.0), nan=0.0).astype(np.float32)

    def holds(self, rows: slice) -> BoolArray:
        with np.errstate(invalid="ignore"):
            return self._distance(rows) <= self.c.tolerance + DISTANCE_SLACK  # NaN compares False


def encode(c: Criterion, mentees: Sequence[Participant], mentors: Sequence[Participant]) -> Encoded:
    if c.field_type is FieldType.SET:
        return _Tags(c, mentees, mentors)
    if c.field_type is FieldType.CATEGORY:
        return _Categories(c, mentees, mentors)
    return _Numbers(c, mentees, mentors)
