"""Self-selection suggestions: the best feasible mentors with room, with their reasons."""

import math

import pytest

from lti_app.matching import Criterion, FieldType, Kind, Participant, score_pair, suggest, synthetic

FIT = Criterion("fit", "fit", "x", Kind.SIMILARITY, FieldType.NUMBER, weight=10, scale=100)
LANGUAGES = Criterion("langs", "languages", "languages", Kind.MUST, FieldType.SET)


def person(pid, x, capacity=1, languages=("en",)):
    return Participant(pid, {"x": x, "languages": list(languages)}, capacity)


def test_top_n_best_first_skipping_full_infeasible_and_excluded_mentors():
    mentee = person("a", 0)
    mentors = [
        person("full", 0, capacity=0),
        person("french", 1, languages=["fr"]),
        person("asked", 2),
        person("m10", 10, capacity=3),
        person("m5", 5),
        person("m20", 20),
        person("m30", 30),
    ]
    found = suggest(mentee, mentors, [FIT, LANGUAGES], n=3, exclude={"asked"})
    assert [(s.mentor_id, s.score) for s in found] == [
        ("m5", pytest.approx(95)),
        ("m10", pytest.approx(90)),
        ("m20", pytest.approx(80)),
    ]
    assert found[1].remaining_capacity == 3
    assert [i.display() for i in found[0].breakdown] == ["fit 95/100"]


def test_minimum_score_and_ties():
    mentors = [person("b", -10), person("c", 10), person("d", 60)]
    found = suggest(person("a", 0), mentors, [FIT], n=5, min_score=50)
    assert [s.mentor_id for s in found] == ["b", "c"]  # equal scores keep the given order


def test_suggestions_match_the_exact_scores():
    mentees, mentors = synthetic.pool(5, 40, seed=2)
    criteria = synthetic.criteria()
    for mentee in mentees:
        found = suggest(mentee, mentors, criteria, n=5)
        assert len(found) <= 5
        assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
        for s in found:
            exact = score_pair(criteria, mentee, next(r for r in mentors if r.id == s.mentor_id))
            assert exact.feasible and exact.score == s.score
            assert math.fsum(i.points for i in s.breakdown) == s.score
