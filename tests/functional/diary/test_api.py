"""The diary API under /api/v1: same rules as the pages, precise 4xx answers, documented in OpenAPI."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from lti_app.models.diary import DiaryEntry
from tests.factories.diary import cast
from tests.support.launch import api_headers

TODAY = datetime.now(UTC).date().isoformat()


def body(**overrides):  # type: ignore[no-untyped-def]
    data = {
        "kind": "meeting",
        "occurred_on": TODAY,
        "title": "Kick-off",
        "body": "**Hello**",
        "duration_minutes": 30,
        "topics": ["Career"],
        "action_items": [{"text": "Write goals", "due_on": TODAY}],
    }
    data.update(overrides)
    return data


def test_entry_lifecycle(app, client, db_session) -> None:
    people = cast(diary_readable_by_trainers=False)
    db_session.commit()
    mentee, mentor = api_headers(app, people.actor("mentee")), api_headers(app, people.actor("mentor"))
    rel = people.relationship.id

    created = client.post(f"/api/v1/relationships/{rel}/diary", json=body(), headers=mentee)
    assert created.status_code == 201, created.get_json()
    entry = created.get_json()
    assert entry["version"] == 1 and entry["body_html"] == "<p><strong>Hello</strong></p>\n"
    assert entry["author"]["id"] == people.mentee.id and entry["topics"] == ["career"]
    assert entry["action_items"][0]["text"] == "Write goals"

    listed = client.get(f"/api/v1/relationships/{rel}/diary", headers=mentor).get_json()
    assert [e["id"] for e in listed] == [entry["id"]]
    trainer = api_headers(app, people.actor("trainer"))
    assert client.get(f"/api/v1/relationships/{rel}/diary", headers=trainer).get_json() == []
    marks = client.get(f"/api/v1/relationships/{rel}/meetings", headers=trainer).get_json()
    assert marks == [
        {"entry_id": entry["id"], "occurred_on": TODAY, "duration_minutes": 30, "confirmed": False}
    ]
    assert client.get(f"/api/v1/diary/{entry['id']}", headers=trainer).status_code == 404

    updated = client.put(f"/api/v1/diary/{entry['id']}", json=body(body="Second", version=1), headers=mentor)
    assert updated.status_code == 200 and updated.get_json()["version"] == 2

    stale = client.put(f"/api/v1/diary/{entry['id']}", json=body(body="Third", version=1), headers=mentee)
    assert stale.status_code == 409
    problem = stale.get_json()
    assert problem["error"] == "stale_version"
    assert problem["details"]["current_version"] == 2 and problem["details"]["your_version"] == 1
    assert problem["details"]["current"]["body"] == "Second"

    versions = client.get(f"/api/v1/diary/{entry['id']}/versions", headers=mentee).get_json()
    assert [(v["version"], v["edited_by"]["id"]) for v in versions] == [
        (2, people.mentor.id),
        (1, people.mentee.id),
    ]

    confirmed = client.post(f"/api/v1/diary/{entry['id']}/confirm", headers=mentor)
    assert confirmed.status_code == 200 and confirmed.get_json()["confirmed"] is True

    due = client.get(f"/api/v1/relationships/{rel}/action-items", headers=mentor).get_json()
    assert [i["text"] for i in due] == ["Write goals"]
    ticked = client.patch(f"/api/v1/action-items/{due[0]['id']}", json={"done": True}, headers=mentor)
    assert ticked.status_code == 200 and ticked.get_json()["done"] is True

    assert client.delete(f"/api/v1/diary/{entry['id']}", headers=mentor).status_code == 403
    assert client.delete(f"/api/v1/diary/{entry['id']}", headers=mentee).status_code == 204
    assert client.post(f"/api/v1/diary/{entry['id']}/restore", headers=mentee).status_code == 200
    assert client.post(f"/api/v1/diary/{entry['id']}/purge", headers=mentee).status_code == 403
    admin = api_headers(app, people.actor("admin"))
    assert client.post(f"/api/v1/diary/{entry['id']}/purge", headers=admin).status_code == 204
    assert client.get(f"/api/v1/diary/{entry['id']}", headers=mentee).status_code == 404


def test_invalid_bodies_name_the_fields(app, client, db_session) -> None:
    people = cast()
    db_session.commit()
    mentee = api_headers(app, people.actor("mentee"))
    bad = client.post(
        f"/api/v1/relationships/{people.relationship.id}/diary",
        json={"kind": "party", "occurred_on": "yesterday", "duration_minutes": -1, "action_items": [{}]},
        headers=mentee,
    )
    assert bad.status_code == 422
    details = bad.get_json()["details"]["json"]
    assert {"kind", "occurred_on", "title", "duration_minutes", "action_items"} <= set(details)
    future = client.post(
        f"/api/v1/relationships/{people.relationship.id}/diary",
        json=body(occurred_on="2999-01-01"),
        headers=mentee,
    )
    assert future.status_code == 422 and "occurred_on" in future.get_json()["details"]
    assert db_session.scalar(select(func.count(DiaryEntry.id))) == 0


def test_outsiders_and_anonymous(app, client, db_session) -> None:
    people = cast()
    db_session.commit()
    outsider = api_headers(app, people.actor("outsider"))
    assert (
        client.get(f"/api/v1/relationships/{people.relationship.id}/diary", headers=outsider).status_code
        == 404
    )
    anonymous = client.get(f"/api/v1/relationships/{people.relationship.id}/diary")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "launch_required"


def test_goals_checkins_and_momentum(app, client, db_session) -> None:
    people = cast()
    db_session.commit()
    mentee, mentor = api_headers(app, people.actor("mentee")), api_headers(app, people.actor("mentor"))
    trainer = api_headers(app, people.actor("trainer"))
    rel = people.relationship.id

    proposal = client.post(
        f"/api/v1/relationships/{rel}/goals", json={"title": "Read"}, headers=mentor
    ).get_json()
    assert proposal["is_proposal"] is True and proposal["owner"]["id"] == people.mentee.id
    assert client.post(f"/api/v1/goals/{proposal['id']}/accept", headers=mentee).status_code == 200
    progressed = client.post(
        f"/api/v1/goals/{proposal['id']}/progress", json={"progress": 50}, headers=mentee
    )
    assert progressed.status_code == 200
    assert [p["progress"] for p in progressed.get_json()["history"]] == [0, 50]
    assert client.post(f"/api/v1/goals/{proposal['id']}/progress", json={}, headers=mentee).status_code == 422
    personal = client.post(
        f"/api/v1/programmes/{people.programme.id}/personal-goals", json={"title": "Mine"}, headers=mentee
    )
    assert personal.status_code == 201 and personal.get_json()["relationship_id"] is None

    answered = client.post(
        f"/api/v1/relationships/{rel}/checkins",
        json={"usefulness": 2, "pairing": "no", "comment": "Meh"},
        headers=mentee,
    )
    assert answered.status_code == 201
    assert client.get(f"/api/v1/relationships/{rel}/checkins", headers=mentor).get_json() == []
    assert [
        c["comment"] for c in client.get(f"/api/v1/relationships/{rel}/checkins", headers=trainer).get_json()
    ] == ["Meh"]

    figures = client.get(f"/api/v1/programmes/{people.programme.id}/momentum?months=3", headers=trainer)
    assert figures.status_code == 200
    data = figures.get_json()
    assert len(data["months"]) == 3 and data["pairs"][0]["relationship_id"] == rel
    assert client.get(f"/api/v1/programmes/{people.programme.id}/momentum", headers=mentee).status_code == 403
    assert (
        client.get(
            f"/api/v1/programmes/{people.programme.id}/momentum?months=99", headers=trainer
        ).status_code
        == 422
    )
    assert (
        client.get(f"/api/v1/programmes/{people.programme.id}/pairing-alerts", headers=trainer).get_json()
        == []
    )


def test_openapi_documents_the_diary(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/relationships/{relationship_id}/diary",
        "/api/v1/diary/{entry_id}",
        "/api/v1/diary/{entry_id}/versions",
        "/api/v1/relationships/{relationship_id}/goals",
        "/api/v1/relationships/{relationship_id}/checkins",
        "/api/v1/programmes/{programme_id}/momentum",
    ):
        assert path in spec["paths"], path
    assert "409" in spec["paths"]["/api/v1/diary/{entry_id}"]["put"]["responses"]
    for schema in ("EntryIn", "EntryOut", "GoalOut", "CheckInIn", "MomentumOut"):
        assert schema in spec["components"]["schemas"], schema
