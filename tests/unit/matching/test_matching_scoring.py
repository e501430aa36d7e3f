"""Pair scores add up, and the vectorised pool scorer agrees with the exact single-pair scorer."""

import math

import numpy as np
import pytest

from lti_app.matching import Criterion, FieldType, Kind, Participant, score_pair, score_pool, synthetic

SET, CAT, NUM = FieldType.SET, FieldType.CATEGORY, FieldType.NUMBER
CRITERIA = [
    Criterion("skills", "skills", "wanted", Kind.COMPLEMENTARITY, SET, 5, "offered"),
    Criterion("tz", "time zone", "tz", Kind.SIMILARITY, NUM, 1, scale=6, period=24),
    Criterion("langs", "languages", "languages", Kind.SIMILARITY, SET, 1),
    Criterion("mgr", "line manager", "manager", Kind.MUST_NOT, CAT),
]


def test_breakdown_adds_up_to_the_score():
    mentee = Participant("e", {"wanted": ["a", "b"], "tz": 1, "languages": ["en"], "manager": "m1"})
    mentor = Participant("r", {"offered": ["a", "c"], "tz": 1, "languages": ["fr"], "manager": "m2"})
    scored = score_pair(CRITERIA, mentee, mentor)
    assert scored.feasible
    assert [(i.label, i.points, i.out_of) for i in scored.breakdown] == [
        ("skills", pytest.approx(500 / 14), pytest.approx(500 / 7)),
        ("time zone", pytest.approx(100 / 7), pytest.approx(100 / 7)),
        ("languages", 0.0, pytest.approx(100 / 7)),
    ]
    assert math.fsum(i.points for i in scored.breakdown) == scored.score
    assert sum(i.out_of for i in scored.breakdown) == pytest.approx(100)
    assert [i.display() for i in scored.breakdown] == ["skills 36/71", "time zone 14/14", "languages 0/14"]


def test_breakdown_adds_up_on_a_synthetic_pool():
    mentees, mentors = synthetic.pool(20, 10, seed=3)
    for mentee in mentees:
        for mentor in mentors:
            scored = score_pair(synthetic.criteria(), mentee, mentor)
            assert math.fsum(i.points for i in scored.breakdown) == scored.score
            assert 0 <= scored.score <= 100


def test_a_violated_constraint_is_named():
    mentee = Participant("e", {"manager": "M1"})
    mentor = Participant("r", {"manager": "m1"})
    scored = score_pair(CRITERIA, mentee, mentor)
    assert not scored.feasible and scored.violations == ("line manager",)


def test_no_weighted_criteria_means_every_feasible_pair_scores_zero():
    only_rules = [c for c in CRITERIA if c.is_constraint]
    scored = score_pair(only_rules, Participant("e", {}), Participant("r", {}))
    assert scored.feasible and scored.score == 0.0 and scored.breakdown == ()


def _assert_paths_agree(criteria, mentees, mentors):
    scores, feasible = score_pool(criteria, mentees, mentors)
    for i, mentee in enumerate(mentees):
        for j, mentor in enumerate(mentors):
            exact = score_pair(criteria, mentee, mentor)
            assert scores[i, j] == pytest.approx(exact.score, abs=1e-3), (i, j)
            assert bool(feasible[i, j]) == exact.feasible, (i, j)


def test_vectorised_scores_equal_single_pair_scores_on_a_synthetic_pool():
    mentees, mentors = synthetic.pool(60, 40, seed=7)
    _assert_paths_agree(synthetic.criteria(), mentees, mentors)


def test_vectorised_scores_equal_single_pair_scores_on_awkward_values():
    criteria = [
        *CRITERIA,
        Criterion("goals", "goals", "goals", Kind.SIMILARITY, SET, 3),
        Criterion("site", "location", "site", Kind.SIMILARITY, CAT, 2),
        Criterion("level", "seniority", "level", Kind.COMPLEMENTARITY, NUM, 4, scale=3),
        Criterion("near", "near", "tz", Kind.MUST, NUM, tolerance=2.3, period=24),
        Criterion("speak", "speak", "languages", Kind.MUST_NOT, SET),
    ]
    values = [
        {},
        {"wanted": "Python", "tz": -11, "languages": None, "goals": [], "level": "2", "manager": " X"},
        {"wanted": ["python", "SQL"], "tz": 12, "languages": ["en"], "goals": ["a"], "site": "Lyon"},
        {"offered": [" python"], "tz": 5.5, "languages": "de", "goals": ["a", "b"], "site": "lyon"},
        {"offered": ["sql", "go"], "tz": 3.2, "languages": ["fr"], "site": None, "level": 9, "manager": "x"},
        {"wanted": [], "offered": [], "tz": float("nan"), "manager": None, "level": None},
    ]
    people = [Participant(f"p{i}", v) for i, v in enumerate(values)]
    _assert_paths_agree(criteria, people, people)


def test_pool_scores_are_float32_and_bounded():
    mentees, mentors = synthetic.pool(30, 12, seed=1)
    scores, _ = score_pool(synthetic.criteria(), mentees, mentors)
    assert scores.dtype == np.float32 and scores.shape == (30, 12)
    assert scores.min() >= 0 and scores.max() <= 100 + 1e-4
