"""Each criterion's measure and condition, read the way the docstring of `Criterion` promises."""

import math

import pytest

from lti_app.matching import Criterion, FieldType, Kind, Participant
from lti_app.matching.pair import condition_holds, criterion_value

SET, CAT, NUM = FieldType.SET, FieldType.CATEGORY, FieldType.NUMBER


def value(criterion, mine, theirs):
    field, other = criterion.field, criterion.other_field
    return criterion_value(criterion, Participant("e", {field: mine}), Participant("r", {other: theirs}))


def holds(criterion, mine, theirs):
    field, other = criterion.field, criterion.other_field
    return condition_holds(criterion, Participant("e", {field: mine}), Participant("r", {other: theirs}))


def test_set_similarity_is_jaccard():
    goals = Criterion("goals", "goals", "goals", Kind.SIMILARITY, SET)
    assert value(goals, ["a", "b"], ["b", "c", "d"]) == pytest.approx(1 / 4)
    assert value(goals, [], []) == 0.0


def test_set_complementarity_is_the_share_of_wanted_items_offered():
    skills = Criterion("skills", "skills", "wanted", Kind.COMPLEMENTARITY, SET, mentor_field="offered")
    assert value(skills, ["python", "sql", "r"], ["Python ", "SQL", "java", "go"]) == pytest.approx(2 / 3)
    assert value(skills, [], ["python"]) == 0.0


def test_category_needs_both_values_present_and_equal():
    dept = Criterion("dept", "department", "department", Kind.SIMILARITY, CAT)
    assert value(dept, "Physics", " physics") == 1.0
    assert value(dept, "Physics", "Chemistry") == 0.0
    assert value(dept, None, None) == 0.0
    assert value(dept, "", "") == 0.0


def test_numbers_wrap_around_a_period():
    tz = Criterion("tz", "time zone", "tz", Kind.SIMILARITY, NUM, scale=6, period=24)
    assert value(tz, -11, 12) == pytest.approx(1 - 1 / 6)  # 23 hours apart on the clock, 1 in practice
    assert value(tz, 0, 9) == 0.0
    assert value(tz, None, 3) == 0.0


def test_number_complementarity_is_how_far_the_mentor_is_ahead():
    seniority = Criterion("sen", "seniority", "level", Kind.COMPLEMENTARITY, NUM, scale=4)
    assert value(seniority, 2, 5) == pytest.approx(0.75)
    assert value(seniority, 5, 2) == 0.0
    assert value(seniority, 1, 9) == 1.0


def test_conditions_and_missing_values():
    langs = Criterion("langs", "languages", "languages", Kind.MUST, SET)
    tz = Criterion("tz", "time zone", "tz", Kind.MUST, NUM, tolerance=2.3)
    manager = Criterion("mgr", "line manager", "manager", Kind.MUST_NOT, CAT)
    assert holds(langs, ["en", "fr"], ["FR"]) and not holds(langs, ["en"], ["de"])
    assert holds(tz, 5.5, 3.2) and not holds(tz, 5.5, 3.1)
    assert not holds(manager, None, None)  # missing never holds: a must-not on it passes
    assert not holds(tz, math.nan, 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"weight": 11},
        {"weight": -1},
        {"scale": 0},
        {"tolerance": -1},
        {"period": 24, "field_type": SET},
        {"period": 24, "kind": Kind.COMPLEMENTARITY},
    ],
)
def test_invalid_criteria_are_refused(kwargs):
    base = {"key": "k", "label": "k", "field": "f", "kind": Kind.SIMILARITY, "field_type": NUM}
    with pytest.raises(ValueError):
        Criterion(**{**base, **kwargs})


def test_junk_numbers_are_refused_rather_than_ignored():
    tz = Criterion("tz", "time zone", "tz", Kind.SIMILARITY, NUM)
    with pytest.raises(ValueError):
        value(tz, "soon", 3)
