"""The questionnaire through the API: criteria replaced whole and checked together, questions with stable
option keys, answers checked against the options; the API documented in OpenAPI."""

from __future__ import annotations

from sqlalchemy import func, select

from lti_app.extensions import db
from lti_app.models.matching import MatchingCriterion
from tests.factories.core import enrol
from tests.factories.matching import criterion, mentee, mentor
from tests.functional.matching.support import Browser, learner_actor, setting


def _criteria_count() -> int:
    return db.session.scalar(select(func.count()).select_from(MatchingCriterion))


def test_criteria_are_replaced_whole_and_checked_together(app, client) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    db.session.commit()
    browser = Browser(app, client, s.trainer_actor)
    url = f"/api/v1/programmes/{s.programme.id}/matching"

    fields = browser.api("get", f"{url}/fields").json
    assert {f["key"] for f in fields} >= {"skills", "time_zone", "languages", "seniority", "line_manager"}
    assert "complementarity" not in next(f for f in fields if f["key"] == "time_zone")["kinds"]

    bad = browser.api(
        "put",
        f"{url}/criteria",
        json={
            "criteria": [
                {"source": "profile", "field": "time_zone", "kind": "complementarity", "weight": 3},
                {"source": "profile", "field": "shoe_size", "kind": "similarity"},
                {"source": "question", "field": "nope", "kind": "must"},
                {"source": "profile", "field": "languages", "kind": "must"},
                {"source": "profile", "field": "languages", "kind": "must"},
            ]
        },
    )
    assert bad.status_code == 422
    assert set(bad.json["details"]["criteria"]) == {"0", "1", "2", "4"}
    out_of_range = browser.api(
        "put",
        f"{url}/criteria",
        json={"criteria": [{"source": "profile", "field": "skills", "kind": "must", "weight": 11}]},
    )
    assert out_of_range.status_code == 422
    assert _criteria_count() == 1  # nothing changed by refused calls

    good = browser.api(
        "put",
        f"{url}/criteria",
        json={
            "criteria": [
                {"source": "profile", "field": "skills", "kind": "complementarity", "weight": 10},
                {"source": "profile", "field": "time_zone", "kind": "must", "tolerance": 3},
            ]
        },
    )
    assert good.status_code == 200
    assert [(c["label"], c["kind"], c["weight"], c["tolerance"]) for c in good.json["criteria"]] == [
        ("skills", "complementarity", 10, 0.0),
        ("time zone", "must", 5, 3.0),
    ]


def test_questions_keep_option_keys_and_take_their_criteria_with_them(app, client) -> None:
    s = setting()
    db.session.commit()
    browser = Browser(app, client, s.trainer_actor)
    url = f"/api/v1/programmes/{s.programme.id}/matching"

    created = browser.api(
        "post", f"{url}/questions", json={"text": "Format?", "options": ["Online", "In person"]}
    )
    assert created.status_code == 201
    question = created.json
    assert [o["key"] for o in question["options"]] == ["o1", "o2"]
    assert (
        browser.api("post", f"{url}/questions", json={"text": "Bad", "options": ["x", "X"]}).status_code
        == 422
    )

    renamed = browser.api(
        "patch",
        f"{url}/questions/{question['id']}",
        json={"options": ["in person", "Hybrid", "Online"], "multiple": True},
    )
    assert renamed.status_code == 200
    assert [(o["key"], o["label"]) for o in renamed.json["options"]] == [
        ("o2", "in person"),
        ("o3", "Hybrid"),
        ("o1", "Online"),
    ]
    assert renamed.json["multiple"] is True and renamed.json["text"] == "Format?"

    put = browser.api(
        "put",
        f"{url}/criteria",
        json={
            "criteria": [{"source": "question", "field": question["key"], "kind": "similarity", "weight": 4}]
        },
    )
    assert put.status_code == 200 and put.json["criteria"][0]["label"] == "Format?"
    assert browser.api("delete", f"{url}/questions/{question['id']}").status_code == 204
    assert _criteria_count() == 0
    assert browser.api("delete", f"{url}/questions/{question['id']}").status_code == 404


def test_answers_are_checked_against_the_options(app, client) -> None:
    s = setting()
    db.session.commit()
    trainer = Browser(app, client, s.trainer_actor)
    url = f"/api/v1/programmes/{s.programme.id}/matching"
    single = trainer.api(
        "post", f"{url}/questions", json={"text": "Pace?", "options": ["Weekly", "Monthly"], "required": True}
    ).json
    multi = trainer.api(
        "post", f"{url}/questions", json={"text": "Topics?", "options": ["a", "b", "c"], "multiple": True}
    ).json
    learner = enrol(s.course, "participant")
    db.session.commit()
    browser = Browser(app, client, learner_actor(learner, s.course))

    before = browser.api("get", f"{url}/answers").json
    assert before["unanswered"] == 2 and before["answers"] == {}
    for bad in (
        {single["key"]: ["o1", "o2"]},  # one answer only
        {single["key"]: "o7"},  # no such option
        {multi["key"]: ["o1"]},  # the required one is missing
        {single["key"]: "o1", "ghost": "o1"},  # no such question
    ):
        response = browser.api("put", f"{url}/answers", json={"answers": bad})
        assert response.status_code == 422, bad
    ok = browser.api(
        "put", f"{url}/answers", json={"answers": {single["key"]: "o2", multi["key"]: ["o3", "o1", "o3"]}}
    )
    assert ok.status_code == 200
    assert (
        ok.json["answers"] == {single["key"]: "o2", multi["key"]: ["o3", "o1"]} and ok.json["unanswered"] == 0
    )


def test_the_matching_api_is_documented(app, client) -> None:
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in (
        "/api/v1/programmes/{programme_id}/matching/runs",
        "/api/v1/programmes/{programme_id}/matching/runs/{run_id}/publish",
        "/api/v1/programmes/{programme_id}/matching/suggestions",
        "/api/v1/programmes/{programme_id}/matching/criteria",
    ):
        assert path in paths, path


def test_run_review_pin_rerun_and_publish_through_the_api(app, client) -> None:
    s = setting()
    criterion(s.programme, "skills", "complementarity", 10)
    x = mentor(s.course, s.programme, skills=["python"])
    y = mentor(s.course, s.programme, skills=["design"])
    a = mentee(s.course, s.programme, skills_wanted=["python"])
    db.session.commit()
    browser = Browser(app, client, s.trainer_actor)
    url = f"/api/v1/programmes/{s.programme.id}/matching"

    assert browser.api("post", f"{url}/runs", json={"min_score": 120}).status_code == 422
    run = browser.api("post", f"{url}/runs", json={"min_score": 0}).json
    assert (run["status"], run["solver"], run["proven_optimal"], run["matched_count"]) == (
        "proposed",
        "dense-lsa",
        True,
        1,
    )
    detail = browser.api("get", f"{url}/runs/{run['id']}").json
    assert [(p["mentee_id"], p["mentor_id"], p["reasons"]) for p in detail["pairs"]] == [
        (a.id, x.id, "skills 100/100")
    ]

    pin = browser.api(
        "post", f"{url}/constraints", json={"mentee_id": a.id, "mentor_id": y.id, "kind": "fixed"}
    )
    assert pin.status_code == 201 and pin.json["kind"] == "fixed"
    again = browser.api("post", f"{url}/runs/{run['id']}/rerun").json
    pinned = browser.api("get", f"{url}/runs/{again['id']}").json["pairs"]
    assert [(p["mentor_id"], p["pinned"], p["score"]) for p in pinned] == [(y.id, True, 0.0)]

    published = browser.api("post", f"{url}/runs/{again['id']}/publish")
    assert published.status_code == 200
    assert published.json["started_as"] == "active" and len(published.json["created"]) == 1
    assert [r["status"] for r in browser.api("get", f"{url}/runs").json] == ["published", "discarded"]
    assert browser.api("get", f"{url}/constraints").json == []
