"""The JSON API end to end: a cycle from creation to report, and its refusals in the documented shape."""

from __future__ import annotations

from tests.factories.feedback import course_with_subject, enrol, items
from tests.support.launch import api_headers


def test_cycle_through_the_api(app, client, db_session) -> None:
    setup = course_with_subject()
    raters = [enrol(setup.course) for _ in range(3)]
    db_session.commit()
    subject_h = api_headers(app, setup.subject_actor)

    created = client.post(
        "/api/v1/feedback/cycles", json={"title": "Start", "phase": "standalone"}, headers=subject_h
    )
    assert created.status_code == 201, created.get_json()
    cycle = created.get_json()
    assert cycle["anonymity_threshold"] == 3 and cycle["progress"]["self"]["asked"] == 1
    cycle_id = cycle["id"]

    for person in raters:
        made = client.post(
            f"/api/v1/feedback/cycles/{cycle_id}/nominations",
            json={"group": "peer", "person_id": person.id},
            headers=subject_h,
        )
        assert made.status_code == 201 and made.get_json()["invited"] is True
    external = client.post(
        f"/api/v1/feedback/cycles/{cycle_id}/nominations",
        json={"group": "other", "email": "Client@Example.org", "name": "A client"},
        headers=subject_h,
    )
    assert external.status_code == 201 and external.get_json()["external"] is True

    listed = client.get(f"/api/v1/feedback/cycles/{cycle_id}/nominations", headers=subject_h).get_json()
    assert {n["group"] for n in listed} == {"self", "peer", "other"}
    assert all("status" not in n for n in listed)

    from lti_app.models.feedback import FeedbackCycle

    rating_ids = [i.id for i in items(db_session.get(FeedbackCycle, cycle_id))]
    for index, person in enumerate(raters):
        from lti_app.services.access import Actor

        actor = Actor(person.id, person.registration_id, setup.course.id, frozenset({"participant"}))
        headers = api_headers(app, actor)
        (mine,) = client.get("/api/v1/feedback/requests", headers=headers).get_json()
        question = client.get(f"/api/v1/feedback/requests/{mine['id']}", headers=headers).get_json()
        assert question["subject_name"] == setup.subject.display_name
        assert "threshold" not in question["notice"] or "3" in question["notice"]
        answers = {"ratings": {str(i): 2 + index for i in rating_ids}}
        assert (
            client.put(
                f"/api/v1/feedback/requests/{mine['id']}/draft", json=answers, headers=headers
            ).status_code
            == 200
        )
        sent = client.post(f"/api/v1/feedback/requests/{mine['id']}/response", json=answers, headers=headers)
        assert sent.status_code == 201 and sent.get_json() == {"status": "submitted"}
        again = client.post(f"/api/v1/feedback/requests/{mine['id']}/response", json=answers, headers=headers)
        assert again.status_code == 409 and again.get_json()["error"] == "already_answered"

    not_ready = client.get(f"/api/v1/feedback/cycles/{cycle_id}/report", headers=subject_h)
    assert not_ready.status_code == 409 and not_ready.get_json()["error"] == "report_not_ready"

    (own,) = client.get("/api/v1/feedback/requests", headers=subject_h).get_json()
    assert own["group"] == "self"
    client.post(
        f"/api/v1/feedback/requests/{own['id']}/response",
        json={"ratings": {str(i): 5 for i in rating_ids}},
        headers=subject_h,
    )
    closed = client.post(f"/api/v1/feedback/cycles/{cycle_id}/close", headers=subject_h)
    assert closed.status_code == 200 and closed.get_json()["completed"] is True

    body = client.get(f"/api/v1/feedback/cycles/{cycle_id}/report", headers=subject_h).get_json()
    assert body["others_responses"] == 3
    assert body["overall"]["self"] == 5.0
    assert body["overall"]["others"]["mean"] == 3.0  # raters answered 2, 3 and 4 everywhere
    assert body["overall"]["gap"] == 2.0 and body["overall"]["flag"] == "blind_spot"
    assert [g["key"] for g in body["groups"]] == ["peer"]


def test_api_refusals_use_the_documented_shape(app, client, db_session) -> None:
    setup = course_with_subject()
    db_session.commit()
    headers = api_headers(app, setup.subject_actor)
    assert client.get("/api/v1/feedback/cycles").status_code == 401
    bad = client.post("/api/v1/feedback/cycles", json={"phase": "sometime"}, headers=headers)
    assert bad.status_code == 422 and "phase" in str(bad.get_json()["details"])
    weaker = client.post("/api/v1/feedback/cycles", json={"anonymity_threshold": 2}, headers=headers)
    assert weaker.status_code == 403
    missing = client.get("/api/v1/feedback/cycles/999999", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    no_template = client.post(
        "/api/v1/feedback/templates", json={"title": "Mine", "competencies": []}, headers=headers
    )
    assert no_template.status_code == 403


def test_openapi_documents_the_feedback_api(client) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/api/v1/feedback/cycles/{cycle_id}/report" in paths
    assert "/api/v1/feedback/requests/{request_id}/response" in paths
