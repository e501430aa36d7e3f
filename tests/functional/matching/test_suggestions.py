"""Suggestions for self-selection: one mentee's best mentors with scores and reasons, leaving out those
who are full, ruled out, already asked, declined or banned."""

from __future__ import annotations

import math

import pytest

from lti_app.errors import ValidationFailed
from lti_app.services import matching
from tests.factories.core import pair
from tests.factories.matching import criterion, mentee, mentor
from tests.functional.matching.support import learner_actor, setting


def test_top_mentors_with_reasons_best_first(db_session) -> None:
    s = setting(matching_mode="both", default_capacity=2)
    criterion(s.programme, "skills", "complementarity", 10)
    criterion(s.programme, "languages", "must")
    criterion(s.programme, "seniority", "complementarity", 5)
    best = mentor(s.course, s.programme, skills=["python", "sql"], languages=["en"], seniority=5)
    good = mentor(s.course, s.programme, skills=["python"], languages=["en"], seniority=5)
    fair = mentor(s.course, s.programme, skills=["python"], languages=["en"], seniority=2)
    mentor(
        s.course, s.programme, skills=["python", "sql"], languages=["fr"], seniority=5
    )  # no common language
    me = mentee(s.course, s.programme, skills_wanted=["python", "sql"], languages=["en"], seniority=2)

    found = matching.suggest_mentors(db_session, learner_actor(me, s.course), s.programme.id, n=2)

    assert [x.person.id for x in found] == [best.id, good.id]
    assert found[0].score == pytest.approx(100.0) and found[0].free_places == 2
    assert found[0].reasons == "skills 67/67, seniority 33/33"
    for x in found:
        assert math.fsum(b.points for b in x.breakdown) == pytest.approx(x.score)
    third = matching.suggest_mentors(db_session, learner_actor(me, s.course), s.programme.id, n=5)
    assert [x.person.id for x in third] == [best.id, good.id, fair.id]


def test_full_asked_declined_and_banned_mentors_are_left_out(db_session) -> None:
    s = setting(matching_mode="both", default_capacity=1)
    criterion(s.programme, "skills", "complementarity", 10)
    full = mentor(s.course, s.programme, skills=["python"])
    asked = mentor(s.course, s.programme, skills=["python"], capacity=3)
    declined = mentor(s.course, s.programme, skills=["python"])
    banned = mentor(s.course, s.programme, skills=["python"])
    free = mentor(s.course, s.programme, skills=[])
    someone = mentee(s.course, s.programme, skills_wanted=["python"])
    me = mentee(s.course, s.programme, skills_wanted=["python"])
    pair(s.programme, full, someone, "active")
    pair(s.programme, asked, me, "pending")
    pair(s.programme, declined, me, "declined")
    matching.set_constraint(db_session, s.trainer_actor, s.programme.id, me.id, banned.id, "forbidden")

    found = matching.suggest_mentors(db_session, learner_actor(me, s.course), s.programme.id)

    assert [x.person.id for x in found] == [free.id]


def test_no_scoring_criteria_no_suggestions(db_session) -> None:
    s = setting(matching_mode="both")
    criterion(s.programme, "languages", "must")
    mentor(s.course, s.programme, languages=["en"])
    me = mentee(s.course, s.programme, languages=["en"])
    assert matching.suggest_mentors(db_session, learner_actor(me, s.course), s.programme.id) == []
    with pytest.raises(ValidationFailed):
        matching.suggest_mentors(db_session, learner_actor(me, s.course), s.programme.id, n=0)
