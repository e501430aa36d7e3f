"""Reading attribute values the same way in the single-pair and the vectorised paths.

Both paths call these functions, so "Python" and " python " are one skill everywhere and a missing value
means the same thing in a suggestion list as in the pool solver.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import Any

# Numeric tolerances are compared with this slack so that 5.5 - 3.2 <= 2.3 holds despite binary fractions.
DISTANCE_SLACK = 1e-9


def _item(value: Any) -> Hashable | None:
    if isinstance(value, str):
        value = value.strip().casefold()
        return value or None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if not isinstance(value, Hashable):
        raise ValueError(f"unhashable value {value!r}")
    return value


def as_set(value: Any) -> frozenset[Hashable]:
    """Tags: a string is one tag; None is no tags."""
    if value is None:
        return frozenset()
    items: Iterable[Any] = [value] if isinstance(value, str) or not isinstance(value, Iterable) else value
    return frozenset(x for x in map(_item, items) if x is not None)


def as_category(value: Any) -> Hashable | None:
    if isinstance(value, set | frozenset | list | tuple | dict):
        raise ValueError(f"expected one value, got {value!r}")
    return _item(value)


def as_number(value: Any) -> float:
    """A float, NaN when missing; junk raises so bad profile data is noticed rather than ignored."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"expected a number, got {value!r}") from exc
