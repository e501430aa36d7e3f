"""Whole numbers from text: ASCII digits only, bounded by what the database stores."""

from __future__ import annotations

import pytest

from lti_app.domain.numbers import MAX_ID, parse_id, parse_int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        (" 7 ", 7),
        (7, 7),
        ("0", None),  # ids start at 1
        ("²", None),  # str.isdigit() says yes; int() says no
        ("٣", None),  # another script's digit: int() would read 3
        ("-1", None),
        ("1.0", None),
        ("", None),
        (None, None),
        (True, None),
        (3.0, None),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("9" * 30, None),
        (MAX_ID + 1, None),
    ],
)
def test_parse_id(value, expected) -> None:
    assert parse_id(value) == expected


def test_parse_int_bounds() -> None:
    assert parse_int("0", low=0, high=10) == 0
    assert parse_int("11", low=0, high=10) is None
    assert parse_int("10", low=0, high=10) == 10
