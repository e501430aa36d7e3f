"""Who may do what with matching: trainers of the course (and admins of its platform) run, review, pin and
publish; learners answer questions and read their own suggestions; anyone from elsewhere sees nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti_app.extensions import db
from lti_app.models.matching import MatchingRun, PairConstraint
from lti_app.services import matching
from lti_app.services.access import Actor
from tests.factories.core import CourseFactory, PersonFactory, ProgrammeFactory, actor_for, enrol
from tests.factories.matching import ProgrammeQuestionFactory, criterion, mentee, mentor
from tests.functional.matching.support import Browser, learner_actor, setting

TRAINER_CALLS = [
    ("get", "matching/fields", None),
    ("get", "matching/questionnaire", None),
    ("put", "matching/criteria", {"criteria": []}),
    ("post", "matching/questions", {"text": "Q?", "options": ["a", "b"]}),
    ("get", "matching/runs", None),
    ("post", "matching/runs", {}),
    ("get", "matching/runs/{run}", None),
    ("post", "matching/runs/{run}/rerun", None),
    ("post", "matching/runs/{run}/publish", None),
    ("post", "matching/runs/{run}/discard", None),
    ("get", "matching/constraints", None),
    ("post", "matching/constraints", {"mentee_id": "{mentee}", "mentor_id": "{mentor}", "kind": "forbidden"}),
]


@pytest.fixture()
def world(app):  # type: ignore[no-untyped-def]
    s = setting()
    ProgrammeQuestionFactory(programme=s.programme, key="pace")
    criterion(s.programme, "skills", "complementarity", 10)
    m = mentor(s.course, s.programme, skills=["python"])
    e = mentee(s.course, s.programme, skills_wanted=["python"])
    run = matching.run_matching(db.session, s.trainer_actor, s.programme.id)
    db.session.commit()
    return s, m, e, run


def _call(browser: Browser, s, method: str, path: str, body, ids: dict[str, int]):  # type: ignore[no-untyped-def]
    url = f"/api/v1/programmes/{s.programme.id}/" + path.format(**ids)
    if body is not None:
        body = {
            k: int(v.format(**ids)) if isinstance(v, str) and v.startswith("{") else v
            for k, v in body.items()
        }
    return browser.api(method, url, json=body) if body is not None else browser.api(method, url)


def _counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(MatchingRun)),
        db.session.scalar(select(func.count()).select_from(PairConstraint)),
    )


def test_learners_cannot_run_or_see_runs(app, client, world) -> None:
    s, m, e, run = world
    browser = Browser(app, client, learner_actor(e, s.course))
    before = _counts()
    ids = {"run": run.id, "mentee": e.id, "mentor": m.id}
    for method, path, body in TRAINER_CALLS:
        response = _call(browser, s, method, path, body, ids)
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json["error"] == "forbidden"
    for page in ("matching", f"matching/runs/{run.id}", "matching/questionnaire"):
        response = browser.get(f"/programmes/{s.programme.id}/{page}")
        assert response.status_code == 403 and "text/html" in response.content_type
    assert browser.post(f"/programmes/{s.programme.id}/matching/runs/{run.id}/publish").status_code == 403
    assert _counts() == before
    # What learners may do: their own answers and suggestions.
    assert browser.api("get", f"/api/v1/programmes/{s.programme.id}/matching/answers").status_code == 200
    answered = browser.api(
        "put", f"/api/v1/programmes/{s.programme.id}/matching/answers", json={"answers": {"pace": "o1"}}
    )
    assert answered.status_code == 200 and answered.json["answers"] == {"pace": "o1"}
    suggested = browser.api("get", f"/api/v1/programmes/{s.programme.id}/matching/suggestions")
    assert suggested.status_code == 200 and [x["person_id"] for x in suggested.json] == [m.id]


def test_trainers_of_another_course_see_nothing(app, client, world) -> None:
    s, m, e, run = world
    other_course = CourseFactory(registration=s.course.registration)
    other_trainer = enrol(other_course, "trainer")
    ProgrammeFactory(course=other_course)
    db.session.commit()
    browser = Browser(app, client, actor_for(other_trainer, other_course, "trainer"))
    ids = {"run": run.id, "mentee": e.id, "mentor": m.id}
    for method, path, body in TRAINER_CALLS:
        response = _call(browser, s, method, path, body, ids)
        assert response.status_code == 404, (method, path, response.status_code)
    outsider = PersonFactory(registration=s.course.registration)
    db.session.commit()
    stranger = Browser(
        app, client, Actor(outsider.id, outsider.registration_id, None, frozenset({"participant"}))
    )
    assert stranger.api("get", f"/api/v1/programmes/{s.programme.id}/matching/answers").status_code == 404
    assert stranger.api("get", f"/api/v1/programmes/{s.programme.id}/matching/suggestions").status_code == 404


def test_platform_admins_may_run_matching(app, client, world) -> None:
    s, m, e, run = world
    admin = PersonFactory(registration=s.course.registration, is_platform_admin=True)
    db.session.commit()
    browser = Browser(app, client, Actor(admin.id, admin.registration_id, None, frozenset({"admin"})))
    response = browser.api("post", f"/api/v1/programmes/{s.programme.id}/matching/runs", json={})
    assert response.status_code == 201 and response.json["matched_count"] == 1


def test_a_run_of_another_programme_is_not_found(app, client, world) -> None:
    s, m, e, run = world
    other = ProgrammeFactory(course=s.course)
    db.session.commit()
    browser = Browser(app, client, s.trainer_actor)
    assert browser.api("get", f"/api/v1/programmes/{other.id}/matching/runs/{run.id}").status_code == 404
    assert (
        browser.api("post", f"/api/v1/programmes/{other.id}/matching/runs/{run.id}/publish").status_code
        == 404
    )
    assert (
        browser.api(
            "post",
            f"/api/v1/programmes/{s.programme.id}/matching/constraints",
            json={"mentee_id": e.id, "mentor_id": PersonFactory().id, "kind": "fixed"},
        ).status_code
        == 404
    )
