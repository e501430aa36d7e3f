"""The matching pages end to end: a participant answers the questions after launch; a trainer sets up the
questionnaire, runs, reviews the pairs with their reasons, pins and forbids, reruns and publishes."""

from __future__ import annotations

import re

from sqlalchemy import select

from lti_app.extensions import db
from lti_app.models.matching import MatchingCriterion, MatchingRun, PairConstraint, ProgrammeQuestion
from lti_app.models.programme import ProgrammeMembership
from lti_app.models.relationship import Relationship
from tests.factories.core import enrol
from tests.factories.matching import ProgrammeQuestionFactory, criterion, mentee, mentor
from tests.functional.matching.support import Browser, learner_actor, setting, text


def test_a_participant_answers_the_questions_linked_from_home(app, client) -> None:
    s = setting()
    ProgrammeQuestionFactory(programme=s.programme, key="pace", text="How often can you meet?", required=True)
    ProgrammeQuestionFactory(programme=s.programme, key="topics", text="Topics?", multiple=True)
    criterion(s.programme, "languages", "must")
    learner = enrol(s.course, "participant")
    db.session.commit()
    browser = Browser(app, client, learner_actor(learner, s.course))

    home = browser.get("/home")
    assert "2 short questions" in text(home)
    assert f"/programmes/{s.programme.id}/questions" in home.get_data(as_text=True)

    page = browser.get(f"/programmes/{s.programme.id}/questions")
    assert page.status_code == 200
    assert "How often can you meet?" in text(page) and "Matching also reads your profile: languages" in text(
        page
    )

    missing = browser.post(f"/programmes/{s.programme.id}/questions", {"a-topics": ["o1", "o3"]})
    assert missing.status_code == 422 and "This question needs an answer." in text(missing)
    wrong = browser.post(f"/programmes/{s.programme.id}/questions", {"a-pace": "o9"})
    assert wrong.status_code == 422 and "Choose from the options given." in text(wrong)
    assert db.session.scalar(select(ProgrammeMembership)) is None  # nothing half-written

    saved = browser.post(
        f"/programmes/{s.programme.id}/questions", {"a-pace": "o2", "a-topics": ["o1", "o3"]}
    )
    assert saved.status_code == 303
    row = db.session.scalar(select(ProgrammeMembership).where(ProgrammeMembership.person_id == learner.id))
    assert row.answers == {"pace": "o2", "topics": ["o1", "o3"]} and row.open_to_be_mentored
    again = browser.get(f"/programmes/{s.programme.id}/questions", done="answers_saved")
    assert 'value="o2" checked' in again.get_data(as_text=True)
    assert "short question" not in text(browser.get("/home"))


def test_forms_need_their_csrf_token(app, client) -> None:
    s = setting()
    ProgrammeQuestionFactory(programme=s.programme, key="pace")
    learner = enrol(s.course, "participant")
    db.session.commit()
    learner_browser = Browser(app, client, learner_actor(learner, s.course))
    trainer_browser = Browser(app, client, s.trainer_actor)

    assert (
        learner_browser.post(
            f"/programmes/{s.programme.id}/questions", {"a-pace": "o1"}, csrf=False
        ).status_code
        == 400
    )
    assert (
        trainer_browser.post(f"/programmes/{s.programme.id}/matching/runs", {}, csrf=False).status_code == 400
    )
    assert db.session.scalar(select(MatchingRun)) is None


def test_trainer_questionnaire_run_review_pin_rerun_publish(app, client) -> None:
    s = setting()
    x = mentor(s.course, s.programme, skills=["python", "sql"], languages=["en"])
    y = mentor(s.course, s.programme, skills=["python"], languages=["en"])
    p = mentee(s.course, s.programme, skills_wanted=["python", "sql"], languages=["en"])
    q = mentee(s.course, s.programme, skills_wanted=["python"], languages=["en"])
    lonely = mentee(s.course, s.programme, skills_wanted=["python"], languages=["de"])
    db.session.commit()
    browser = Browser(app, client, s.trainer_actor)
    base = f"/programmes/{s.programme.id}/matching"

    overview = browser.get(f"/programmes/{s.programme.id}/overview")
    assert f'href="{base}?' in overview.get_data(as_text=True)  # linked from the programme page
    assert browser.get(base).status_code == 200

    editor = browser.get(f"{base}/questionnaire")
    assert editor.status_code == 200 and "Skills the mentee wants that the mentor offers" in text(editor)
    bad = browser.post(
        f"{base}/questionnaire",
        {"what": ["profile:time_zone"], "kind": ["complementarity"], "weight": ["5"], "tolerance": ["0"]},
    )
    assert bad.status_code == 422 and "cannot be compared as complementarity" in text(bad)
    saved = browser.post(
        f"{base}/questionnaire",
        {
            "what": ["profile:skills", "profile:languages", ""],
            "kind": ["complementarity", "must", "similarity"],
            "weight": ["10", "5", "5"],
            "tolerance": ["0", "0", "0"],
        },
    )
    assert saved.status_code == 303
    assert [
        c.field for c in db.session.scalars(select(MatchingCriterion).order_by(MatchingCriterion.position))
    ] == [
        "skills",
        "languages",
    ]
    added = browser.post(f"{base}/questions", {"text": "Preferred format?", "options": "Online\nIn person\n"})
    assert added.status_code == 303
    question = db.session.scalar(select(ProgrammeQuestion))
    assert [o["label"] for o in question.options] == ["Online", "In person"]

    ran = browser.post(f"{base}/runs", {"min_score": "10", "scope": "unmatched", "solver": "auto"})
    assert ran.status_code == 303
    run = db.session.scalar(select(MatchingRun))
    assert ran.headers["Location"].startswith(f"{base}/runs/{run.id}")
    review = browser.get(f"{base}/runs/{run.id}")
    page = text(review)
    assert "skills 100/100" in page and "proven optimal" in page
    assert f'data-mentee="{p.id}" data-mentor="{x.id}"' in review.get_data(as_text=True)
    assert f'data-mentee="{q.id}" data-mentor="{y.id}"' in review.get_data(as_text=True)
    assert f'data-mentee="{lonely.id}" data-reason="no_feasible_mentor"' in review.get_data(as_text=True)

    pinned = browser.post(
        f"{base}/constraints", {"mentee_id": q.id, "mentor_id": x.id, "kind": "fixed", "run_id": run.id}
    )
    assert pinned.status_code == 303 and f"/runs/{run.id}" in pinned.headers["Location"]
    rerun = browser.post(f"{base}/runs/{run.id}/rerun")
    assert rerun.status_code == 303
    newest = db.session.scalars(select(MatchingRun).order_by(MatchingRun.id.desc())).first()
    review = browser.get(f"{base}/runs/{newest.id}")
    assert f'data-mentee="{q.id}" data-mentor="{x.id}"' in review.get_data(as_text=True)
    assert "pinned" in text(review)

    published = browser.post(f"{base}/runs/{newest.id}/publish")
    assert published.status_code == 303
    rels = list(db.session.scalars(select(Relationship)))
    assert len(rels) == 2 and {r.status for r in rels} == {"active"}
    after = text(browser.get(f"{base}/runs/{newest.id}", done="published"))
    assert "Published: the relationships are created" in after and "status: published" in after
    assert db.session.scalar(select(PairConstraint)) is None
    assert browser.post(f"{base}/runs/{newest.id}/publish").status_code == 409


def test_names_and_questions_are_escaped(app, client) -> None:
    s = setting()
    evil = "<script>alert(1)</script>"
    ProgrammeQuestionFactory(programme=s.programme, key="pace", text=f"Pace {evil}")
    criterion(s.programme, "pace", "similarity", 5, source="question")
    criterion(s.programme, "skills", "complementarity", 5)
    mentor(s.course, s.programme, skills=["python"], answers={"pace": "o1"})
    learner = mentee(s.course, s.programme, skills_wanted=["python"], answers={"pace": "o1"})
    learner.name = f"<b>{evil}</b>"
    db.session.commit()
    trainer = Browser(app, client, s.trainer_actor)
    trainer.post(f"/programmes/{s.programme.id}/matching/runs", {})
    run = db.session.scalar(select(MatchingRun))

    for response in (
        trainer.get(f"/programmes/{s.programme.id}/matching/runs/{run.id}"),
        trainer.get(f"/programmes/{s.programme.id}/matching/questionnaire"),
        Browser(app, client, learner_actor(learner, s.course)).get(f"/programmes/{s.programme.id}/questions"),
    ):
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "<script>alert(1)" not in body and "&lt;script&gt;" in body


def test_the_search_page_suggests_mentors_with_reasons(app, client) -> None:
    s = setting(matching_mode="both", default_capacity=2)
    criterion(s.programme, "skills", "complementarity", 10)
    criterion(s.programme, "languages", "similarity", 5)
    best = mentor(s.course, s.programme, skills=["python"], languages=["en"])
    mentor(s.course, s.programme, skills=[], languages=["en"])
    learner = mentee(s.course, s.programme, skills_wanted=["python"], languages=["en"])
    db.session.commit()
    browser = Browser(app, client, learner_actor(learner, s.course))

    page = browser.get(f"/programmes/{s.programme.id}/mentors")

    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Suggested for you" in text(page)
    section = body[body.index('id="suggested-mentors"') :]
    first = re.search(r'data-person-id="(\d+)"', section)
    assert first is not None and int(first.group(1)) == best.id
    assert re.search(r"skills 67/67 ?, languages 33/33", text(page))
