"""Whole numbers from text a browser or an LMS sent: ASCII digits only, within what the database stores.

``str.isdigit()`` is true of "²" (which ``int()`` refuses) and of other scripts' digits (which ``int()``
reads), and Python's integers are unbounded while ids are INTEGER columns: a huge number reaching a query
raises OverflowError in the SQLite driver and "integer out of range" on PostgreSQL. So every id or count
parsed from text goes through here first, and a number beyond ``MAX_ID`` is treated like any other id that
does not exist.
"""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1  # the largest INTEGER (ids are INTEGER columns): no row has a larger id on either database
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII digits only; longer text is no id on any database


def parse_int(value: object, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """The whole number ``value`` holds (an int, or text of ASCII digits with spaces around allowed) when it
    lies within ``low``..``high``; otherwise None. No signs, no decimals, no booleans."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        return None
    return number if low <= number <= high else None


def parse_id(value: object) -> int | None:
    """A row id (1 to ``MAX_ID``) from text or an int; None when ``value`` cannot be one."""
    return parse_int(value, low=1, high=MAX_ID)
