"""Running the matcher over a real programme: the pool read from profiles, memberships, answers and
relationships; hand-checkable optima; reasons; capacity, constraints and minimum score."""

from __future__ import annotations

import math

import pytest

from lti_app.errors import Conflict, NotFound, ValidationFailed
from lti_app.models.matching import DISCARDED, PROPOSED, MatchingRun
from lti_app.services import matching
from lti_app.services.matching import RunParams, runs
from tests.factories.core import pair
from tests.factories.matching import ProgrammeQuestionFactory, criterion, mentee, mentor
from tests.functional.matching.support import setting


def _pairs(session, s, run):  # type: ignore[no-untyped-def]
    view = matching.view_run(session, s.trainer_actor, s.programme.id, run.id)
    return {(row.pair.mentee_id, row.pair.mentor_id) for row in view.pairs}, view


def test_the_whole_pool_at_once_beats_first_come_first_served(db_session) -> None:
    """Q asks first and would take X; solving together gives X to P, who has no equal alternative."""
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=["python", "sql"])
    y = mentor(s.course, s.programme, skills=["python"])
    q = mentee(s.course, s.programme, skills_wanted=["python"])
    p = mentee(s.course, s.programme, skills_wanted=["python", "sql"])

    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    found, view = _pairs(db_session, s, run)
    assert found == {(p.id, x.id), (q.id, y.id)}
    assert run.total_score == pytest.approx(200.0)
    assert run.status == PROPOSED and run.matched_count == 2 and run.unmatched_count == 0
    assert run.solver == "dense-lsa" and run.proven_optimal
    assert run.mentee_count == 2 and run.mentor_count == 2


def test_must_rules_out_and_reasons_are_kept(db_session) -> None:
    s = setting()
    skills = criterion(s.programme, "skills", "complementarity", 10)
    criterion(s.programme, "languages", "must")
    zone = criterion(s.programme, "time_zone", "similarity", 5)
    m1 = mentor(s.course, s.programme, skills=["python", "data"], languages=["en"], time_zone="Europe/London")
    m2 = mentor(s.course, s.programme, skills=["design"], languages=["en", "fr"], time_zone="Asia/Tokyo")
    a = mentee(s.course, s.programme, skills_wanted=["python"], languages=["en"], time_zone="Europe/London")
    b = mentee(s.course, s.programme, skills_wanted=["python", "design"], languages=["fr"], time_zone="UTC")
    c = mentee(s.course, s.programme, skills_wanted=["design"], languages=["de"])

    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    found, view = _pairs(db_session, s, run)
    assert found == {(a.id, m1.id), (b.id, m2.id)}  # b cannot have m1: no common language
    by_mentee = {row.pair.mentee_id: row for row in view.pairs}
    for row in view.pairs:  # the breakdown adds up to the score
        assert math.fsum(item["points"] for item in row.pair.breakdown) == pytest.approx(
            row.pair.score, abs=1e-3
        )
        assert sum(item["out_of"] for item in row.pair.breakdown) == pytest.approx(100.0, abs=1e-3)
    labels = [item["label"] for item in by_mentee[a.id].pair.breakdown]
    assert labels == ["skills", "time zone"]
    assert by_mentee[a.id].reasons.startswith("skills 67/67, time zone 33/33")
    assert [(u.unmatched.mentee_id, u.unmatched.reason) for u in view.unmatched] == [
        (c.id, "no_feasible_mentor")
    ]
    assert "must" in view.unmatched[0].reason_text
    assert {c["key"] for c in run.criteria} >= {f"c{skills.id}", f"c{zone.id}"}


def test_must_not_keeps_people_with_the_same_line_manager_apart(db_session) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    criterion(s.programme, "line_manager", "must_not")
    boss_mentor = mentor(s.course, s.programme, skills=["python"], line_manager="Ada")
    other = mentor(s.course, s.programme, skills=[], line_manager="Grace")
    e = mentee(s.course, s.programme, skills_wanted=["python"], line_manager="Ada")

    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    assert _pairs(db_session, s, run)[0] == {(e.id, other.id)}
    assert boss_mentor.id not in {m for _, m in _pairs(db_session, s, run)[0]}


def test_minimum_score_leaves_a_mentee_unmatched_rather_than_badly_matched(db_session) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    mentor(s.course, s.programme, skills=["design"])
    e = mentee(s.course, s.programme, skills_wanted=["python", "design", "sql", "cloud"])  # scores 25

    low = matching.run_matching(db_session, s.trainer_actor, s.programme.id, RunParams(min_score=20))
    assert low.matched_count == 1
    high = matching.run_matching(db_session, s.trainer_actor, s.programme.id, RunParams(min_score=30))
    _, view = _pairs(db_session, s, high)
    assert high.matched_count == 0
    assert [(u.unmatched.mentee_id, u.unmatched.reason) for u in view.unmatched] == [(e.id, "below_minimum")]
    db_session.refresh(low)
    assert low.status == DISCARDED  # only the newest proposal stays open


def test_capacity_counts_open_relationships_and_reports_capacity_used(db_session) -> None:
    s = setting(default_capacity=2)
    criterion(s.programme, "skills", "complementarity", 10)
    busy = mentor(s.course, s.programme, skills=["python"])
    taken = mentee(s.course, s.programme, skills_wanted=["python"])
    asked = mentee(s.course, s.programme, skills_wanted=["python"])
    pair(s.programme, busy, taken, "active")
    pair(s.programme, busy, asked, "pending")  # a pending request holds its place too
    free = mentor(s.course, s.programme, skills=["python"], capacity=1)
    e1 = mentee(s.course, s.programme, skills_wanted=["python"])
    e2 = mentee(s.course, s.programme, skills_wanted=["python"])

    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    found, view = _pairs(db_session, s, run)
    assert {m for _, m in found} == {free.id}  # busy is full: 2 open of 2
    assert {e for e, _ in found} <= {e1.id, e2.id} and len(found) == 1
    assert run.mentee_count == 2  # people already in a relationship are not matched again
    assert [u.unmatched.reason for u in view.unmatched] == ["capacity_used"]


def test_group_model_fills_each_mentor_up_to_the_group_size(db_session) -> None:
    s = setting(model="group", default_capacity=3)
    criterion(s.programme, "skills", "complementarity", 10)
    g1 = mentor(s.course, s.programme, skills=["python"])
    g2 = mentor(s.course, s.programme, skills=["design"])
    people = [mentee(s.course, s.programme, skills_wanted=["python"]) for _ in range(5)]

    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    found, _ = _pairs(db_session, s, run)
    per_mentor = {g1.id: 0, g2.id: 0}
    for _, m in found:
        per_mentor[m] += 1
    assert per_mentor == {g1.id: 3, g2.id: 2}
    assert {e for e, _ in found} == {p.id for p in people}


def test_pins_and_bans_are_honoured_and_impossible_pins_reported(db_session) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    criterion(s.programme, "languages", "must")
    best = mentor(s.course, s.programme, skills=["python"], languages=["en"])
    weak = mentor(s.course, s.programme, skills=[], languages=["en"])
    french = mentor(s.course, s.programme, skills=["python"], languages=["fr"])
    a = mentee(s.course, s.programme, skills_wanted=["python"], languages=["en"])
    b = mentee(s.course, s.programme, skills_wanted=["python"], languages=["en"])

    matching.set_constraint(db_session, s.trainer_actor, s.programme.id, a.id, weak.id, "fixed")
    matching.set_constraint(db_session, s.trainer_actor, s.programme.id, b.id, best.id, "forbidden")
    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    found, view = _pairs(db_session, s, run)
    assert (a.id, weak.id) in found and (b.id, best.id) not in found
    assert (b.id, best.id) not in found and (b.id, french.id) not in found
    assert next(r for r in view.pairs if r.pair.mentee_id == a.id).pair.pinned
    assert [u.unmatched.mentee_id for u in view.unmatched] == [b.id]

    # A pin that a must criterion rules out is not honoured, and says why.
    matching.set_constraint(db_session, s.trainer_actor, s.programme.id, a.id, french.id, "fixed")
    again = matching.rerun(db_session, s.trainer_actor, s.programme.id, run.id)
    _, view = _pairs(db_session, s, again)
    assert [(c["mentee_id"], c["reason"]) for c in view.conflicts] == [(a.id, "infeasible")]
    assert "languages" in view.conflicts[0]["reason_text"]
    assert (
        len(matching.list_constraints(db_session, s.trainer_actor, s.programme.id)) == 2
    )  # one pin per mentee


def test_programme_questions_are_read_from_answers(db_session) -> None:
    s = setting()
    question = ProgrammeQuestionFactory(programme=s.programme, key="pace", multiple=False)
    criterion(s.programme, "pace", "similarity", 10, source="question")
    yes = mentor(s.course, s.programme, answers={"pace": "o1"})
    no = mentor(s.course, s.programme, answers={"pace": "o2"})
    e1 = mentee(s.course, s.programme, answers={"pace": "o2"})
    e2 = mentee(s.course, s.programme, answers={"pace": "o1"})

    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    found, view = _pairs(db_session, s, run)
    assert found == {(e1.id, no.id), (e2.id, yes.id)}
    assert view.pairs[0].pair.breakdown[0]["label"] == question.text


def test_the_large_pool_solver_can_be_asked_for_and_says_so(db_session) -> None:
    s = setting(default_capacity=2)
    criterion(s.programme, "skills", "complementarity", 10)
    for _ in range(3):
        mentor(s.course, s.programme, skills=["python"])
    for _ in range(5):
        mentee(s.course, s.programme, skills_wanted=["python"])

    run = matching.run_matching(
        db_session, s.trainer_actor, s.programme.id, RunParams(solver="sparse", candidate_k=1)
    )

    assert run.solver == "sparse-bipartite" and run.matched_count == 5
    assert run.proven_optimal is False and run.candidates_complete is False
    assert set(run.timings) == {"loading_s", "scoring_s", "solving_s", "total_s"}


def test_invalid_settings_and_unknown_runs(db_session) -> None:
    s = setting()
    with pytest.raises(ValidationFailed) as caught:
        matching.run_matching(
            db_session, s.trainer_actor, s.programme.id, RunParams(min_score=101, solver="x")
        )
    assert set(caught.value.details) == {"min_score", "solver"}
    with pytest.raises(NotFound):
        matching.view_run(db_session, s.trainer_actor, s.programme.id, 999_999)
    assert db_session.query(MatchingRun).count() == 0


def test_answers_are_read_as_the_question_now_is(db_session) -> None:
    """A question switched from several answers to one after people answered still compares."""
    s = setting()
    question = ProgrammeQuestionFactory(programme=s.programme, key="pace", multiple=True)
    criterion(s.programme, "pace", "similarity", 10, source="question")
    fast = mentor(s.course, s.programme, answers={"pace": ["o1"]})
    slow = mentor(s.course, s.programme, answers={"pace": ["o2", "o3"]})
    e = mentee(s.course, s.programme, answers={"pace": ["o2"], "deleted-question": "o1"})
    question.multiple = False
    db_session.flush()

    run = matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    found, _ = _pairs(db_session, s, run)
    assert found == {(e.id, slow.id)} and fast.id not in {m for _, m in found}
    assert run.total_score == pytest.approx(100.0)


def test_two_trainers_running_at_once_get_a_clean_conflict(db_session, monkeypatch) -> None:
    """The other trainer's run committed between our discard and our insert: the partial unique index
    refuses the second open proposal, and ours stays untouched."""
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    mentor(s.course, s.programme, skills=["python"])
    mentee(s.course, s.programme, skills_wanted=["python"])
    first = matching.run_matching(db_session, s.trainer_actor, s.programme.id)
    monkeypatch.setattr(runs, "_discard_open", lambda session, programme_id: None)

    with pytest.raises(Conflict):
        matching.run_matching(db_session, s.trainer_actor, s.programme.id)

    assert db_session.query(MatchingRun).all() == [first] and first.status == PROPOSED
    assert len(matching.view_run(db_session, s.trainer_actor, s.programme.id, first.id).pairs) == 1
