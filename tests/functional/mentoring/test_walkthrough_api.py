"""The issue's "Done when" through the JSON API, plus the API's error shapes and its OpenAPI document."""

from __future__ import annotations

from sqlalchemy import func, select

from lti_app.models.relationship import Relationship
from tests.factories.core import CourseFactory, ProgrammeFactory, actor_for, pair
from tests.factories.mentoring import enrol, mentee, mentor
from tests.functional.mentoring.pages import Browser


def test_done_when_through_the_api(app, client, db_session) -> None:
    course = CourseFactory()
    tess, ada, bob, cy = enrol(course, "trainer"), enrol(course), enrol(course), enrol(course)
    db_session.commit()
    trainer, a, b, c = (
        Browser(app, client, actor_for(p, course, *roles))
        for p, roles in ((tess, ("trainer",)), (ada, ()), (bob, ()), (cy, ()))
    )

    created = trainer.api(
        "post",
        "/api/v1/programmes",
        json={
            "title": "Career mentoring",
            "default_capacity": 1,
            "mentor_roles": ["participant"],
        },
    )
    assert created.status_code == 201, created.get_json()
    programme = created.get_json()
    assert programme["model"] == "one_to_one" and programme["request_policy"] == "mentee"
    pid = programme["id"]

    assert a.api(
        "patch", "/api/v1/profiles/me", json={"skills": ["Python ", "SQL"], "headline": "Analyst"}
    ).get_json()["skills"] == ["python", "sql"]
    assert (
        a.api("put", f"/api/v1/programmes/{pid}/membership", json={"open_to_mentor": True}).status_code == 200
    )
    b.api("patch", "/api/v1/profiles/me", json={"skills_wanted": "python", "goals": "SQL reporting"})

    found = b.api("get", f"/api/v1/programmes/{pid}/mentors", query_string={"skill": "python"}).get_json()
    assert found["total"] == 1 and found["results"][0]["person_id"] == ada.id
    assert found["results"][0]["free_places"] == 1 and found["results"][0]["reasons"]

    asked = b.api(
        "post", "/api/v1/requests", json={"programme_id": pid, "person_id": ada.id, "message": "Hi"}
    )
    assert asked.status_code == 201 and asked.get_json()["status"] == "pending"
    rid = asked.get_json()["id"]
    assert [r["id"] for r in a.api("get", "/api/v1/requests").get_json()["inbound"]] == [rid]
    assert [
        r["id"]
        for r in b.api("get", "/api/v1/requests", query_string={"direction": "outbound"}).get_json()[
            "outbound"
        ]
    ] == [rid]
    notes = a.api("get", "/api/v1/notifications").get_json()
    assert notes["unread"] == 1 and notes["items"][0]["relationship_id"] == rid
    assert bob.display_name in notes["items"][0]["text"]

    accepted = a.api("post", f"/api/v1/relationships/{rid}/accept")
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "active"
    for who in (a, b):
        listed = who.api("get", "/api/v1/relationships").get_json()
        assert [(r["id"], r["status"]) for r in listed] == [(rid, "active")]
    detail = b.api("get", f"/api/v1/relationships/{rid}").get_json()
    assert [(e["from_status"], e["to_status"]) for e in detail["timeline"]] == [
        (None, "pending"),
        ("pending", "active"),
    ]
    assert "end" in detail["actions"] and detail["viewer_role"] == "mentee"

    refused = c.api("post", "/api/v1/requests", json={"programme_id": pid, "person_id": ada.id})
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"] == "mentor_full" and "has no free place" in body["message"]
    assert body["details"] == {"capacity": 1, "load": 1} and body["request_id"]
    assert db_session.scalar(select(func.count(Relationship.id))) == 1

    overview = trainer.api("get", f"/api/v1/programmes/{pid}/overview").get_json()
    assert [(p["mentors"], p["mentees"]) for p in overview["pairs"]] == [
        ([ada.display_name], [bob.display_name])
    ]
    assert overview["counts"]["active_pairs"] == 1


def test_api_validation_errors_name_the_fields(app, client, db_session) -> None:
    programme = ProgrammeFactory()
    tess = enrol(programme.course, "trainer")
    db_session.commit()
    trainer = Browser(app, client, actor_for(tess, programme.course, "trainer"))
    bad = trainer.api(
        "post", "/api/v1/programmes", json={"title": "", "model": "pyramid", "default_capacity": 500}
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["details"]["json"]) == {"title", "model", "default_capacity"}
    crossed = trainer.api(
        "patch",
        f"/api/v1/programmes/{programme.id}",
        json={"starts_on": "2030-02-01", "ends_on": "2030-01-01"},
    )
    assert crossed.status_code == 422 and "ends_on" in crossed.get_json()["details"]
    bad_request = trainer.api("post", "/api/v1/requests", json={"programme_id": programme.id})
    assert bad_request.status_code == 422 and "person_id" in bad_request.get_json()["details"]["json"]


def test_api_needs_a_launch_token(client) -> None:
    response = client.get("/api/v1/programmes")
    assert response.status_code == 401 and response.get_json()["error"] == "launch_required"


def test_loosening_diary_privacy_needs_confirmation(app, client, db_session) -> None:
    programme = ProgrammeFactory()
    tess = enrol(programme.course, "trainer")
    ada, bob = mentor(programme), mentee(programme)
    rel = pair(programme, ada, bob)
    rel.started_at = rel.requested_at
    db_session.commit()
    trainer = Browser(app, client, actor_for(tess, programme.course, "trainer"))
    path = f"/api/v1/programmes/{programme.id}"
    first = trainer.api("patch", path, json={"diary_readable_by_trainers": True})
    assert first.status_code == 409 and first.get_json()["error"] == "confirmation_required"
    assert (
        "Trainers of this course will be able to read the diary entries of 1 existing relationship"
        in (first.get_json()["details"]["warnings"][0])
    )
    confirmed = trainer.api(
        "patch", path, json={"diary_readable_by_trainers": True, "confirm_exposure": True}
    )
    assert confirmed.status_code == 200 and confirmed.get_json()["diary_readable_by_trainers"] is True


def test_openapi_documents_the_mentoring_api(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/programmes",
        "/api/v1/programmes/{programme_id}/mentors",
        "/api/v1/requests",
        "/api/v1/relationships/{relationship_id}/accept",
        "/api/v1/notifications",
        "/api/v1/profiles/me",
        "/api/v1/programmes/{programme_id}/overview",
    ):
        assert path in spec["paths"], path
    assert "RequestIn" in spec["components"]["schemas"]
