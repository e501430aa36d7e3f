"""The completion pages and API: the trainer's progress and sync page (retry, resend all), the rule editor
(every invalid form a precise 422, nothing half-saved), a participant's own progress, the includes on the
programme pages, authorisation, escaping, CSRF and bounded queries."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from lti_app.extensions import db
from lti_app.models.completion import Completion, SyncJob
from lti_app.models.programme import Programme
from lti_app.services.completion import tracker
from tests.factories.completion import enrol, meetings, pair_up, programme_with_rule, rule
from tests.factories.core import actor_for
from tests.support.launch import api_headers, launch_token

RULE = rule({"kind": "meetings", "count": 2}, {"kind": "relationship_completed"})


@pytest.fixture()
def cast(app, db_session):  # type: ignore[no-untyped-def]
    programme = programme_with_rule(RULE)
    course = programme.course
    trainer = enrol(course, "trainer")
    mentor = enrol(course)
    mentee = enrol(course, given_name="<b>Eve</b>", name="<b>Eve</b> Evil")
    rel = pair_up(programme, mentor, mentee)
    meetings(rel, mentor, 1)
    tracker.refresh_programme(db_session, programme.id)
    db_session.commit()
    return {
        "programme": programme,
        "course": course,
        "trainer": trainer,
        "mentor": mentor,
        "mentee": mentee,
        "rel": rel,
    }


def token(app, person, course, *roles: str) -> str:  # type: ignore[no-untyped-def]
    return launch_token(app, actor_for(person, course, *roles))


def csrf_form(page: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="(csrf_token|lt)" value="([^"]+)"', page))
    assert "csrf_token" in fields, page[:500]
    return fields


# -------------------------------------------------------------------------------------- trainer's page


def test_trainer_sees_progress_and_sync_status(app, client, cast) -> None:
    lt = token(app, cast["trainer"], cast["course"], "trainer")
    page = client.get(f"/programmes/{cast['programme'].id}/completion", query_string={"lt": lt})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "1 of 2 meetings, relationship not completed yet" in text
    assert "&lt;b&gt;Eve&lt;/b&gt; Evil" in text and "<b>Eve</b>" not in text, "names are escaped"
    assert 'data-sync="not_needed"' in text
    assert "At least 2 meetings recorded in the diary" in text


def test_participants_cannot_open_the_trainer_page(app, client, cast) -> None:
    lt = token(app, cast["mentee"], cast["course"])
    assert (
        client.get(f"/programmes/{cast['programme'].id}/completion", query_string={"lt": lt}).status_code
        == 403
    )
    headers = api_headers(app, actor_for(cast["mentee"], cast["course"]))
    response = client.get(f"/api/v1/programmes/{cast['programme'].id}/completion", headers=headers)
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"


def test_failed_deliveries_show_their_reason_and_can_be_retried(app, client, db_session, cast) -> None:
    programme, mentee = cast["programme"], cast["mentee"]
    cast["rel"].status = "completed"
    meetings(cast["rel"], mentee, 1)
    tracker.refresh_people(db_session, programme.id, [mentee.id])
    job = db_session.scalars(select(SyncJob)).one()
    job.status, job.last_error, job.attempts = "failed", "The LMS answered HTTP 400 <script>", 1
    db_session.commit()
    lt = token(app, cast["trainer"], cast["course"], "trainer")
    page = client.get(f"/programmes/{programme.id}/completion", query_string={"lt": lt}).get_data(
        as_text=True
    )
    assert 'data-sync="failed"' in page and "HTTP 400 &lt;script&gt;" in page
    # Without the CSRF token: refused, nothing changes.
    assert client.post(f"/programmes/{programme.id}/completion/retry", data={"lt": lt}).status_code == 400
    retried = client.post(
        f"/programmes/{programme.id}/completion/retry", data={**csrf_form(page), "job_id": job.id}
    )
    assert retried.status_code == 303 and "done=retried" in retried.headers["Location"]
    db_session.expire_all()
    assert db_session.get(SyncJob, job.id).status == "pending"
    bad = client.post(f"/programmes/{programme.id}/completion/retry", data={**csrf_form(page), "job_id": "x"})
    assert bad.status_code == 422


def test_resend_all_queues_every_reported_completion(app, client, db_session, cast) -> None:
    programme, mentee = cast["programme"], cast["mentee"]
    cast["rel"].status = "completed"
    meetings(cast["rel"], mentee, 1)
    tracker.refresh_people(db_session, programme.id, [mentee.id])
    db_session.scalars(select(SyncJob)).one().status = "sent"
    db_session.commit()
    headers = api_headers(app, actor_for(cast["trainer"], cast["course"], "trainer"))
    response = client.post(f"/api/v1/programmes/{programme.id}/completion/resend", headers=headers)
    assert response.status_code == 200 and response.get_json() == {"queued": 1}
    sent, queued = db_session.scalars(select(SyncJob).order_by(SyncJob.id)).all()
    assert (sent.status, queued.status, queued.reason) == ("sent", "pending", "resend")
    assert queued.state_at > sent.state_at, "a fresh timestamp, so the LMS takes it"


# ----------------------------------------------------------------------------------------- rule editor


def test_rule_editor_saves_and_re_evaluates(app, client, db_session, cast) -> None:
    programme = cast["programme"]
    lt = token(app, cast["trainer"], cast["course"], "trainer")
    form = client.get(f"/programmes/{programme.id}/completion/rule", query_string={"lt": lt})
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert re.search(r'id="f-use_meetings"[^>]*checked', page) and 'value="2"' in page
    saved = client.post(
        f"/programmes/{programme.id}/completion/rule",
        data={
            **csrf_form(page),
            "use_meetings": "1",
            "meetings_count": "1",
            "score_mode": "share",
            "report_progress": "1",
        },
    )
    assert saved.status_code == 303, saved.get_data(as_text=True)[:1000]
    db_session.expire_all()
    assert db_session.get(Programme, programme.id).completion_rule == {
        "conditions": [{"kind": "meetings", "count": 1, "confirmed": False}],
        "score_mode": "share",
        "mentors_complete": False,
        "report_progress": True,
    }
    completion = db_session.scalars(select(Completion).where(Completion.person_id == cast["mentee"].id)).one()
    assert completion.met, "re-evaluated with the new rule at once"
    assert db_session.scalars(select(SyncJob)).one().activity_progress == "Completed"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"use_active_days": "1", "active_days": "0"}, "active_days", "days from 1"),
        ({"use_meetings": "1", "meetings_count": "lots"}, "meetings_count", "meetings from 1"),
        ({"use_goals": "1", "goals_mode": "at_least", "goals_count": ""}, "goals_count", "goals from 1"),
        ({"use_goals": "1", "goals_mode": "most"}, "goals_mode", "at_least"),
        ({"use_checkin": "1", "score_mode": "letters"}, "score_mode", "pass_fail"),
    ],
)
def test_rule_editor_names_every_bad_field(app, client, db_session, cast, fields, field, message) -> None:
    programme = cast["programme"]
    lt = token(app, cast["trainer"], cast["course"], "trainer")
    page = client.get(f"/programmes/{programme.id}/completion/rule", query_string={"lt": lt}).get_data(
        as_text=True
    )
    response = client.post(f"/programmes/{programme.id}/completion/rule", data={**csrf_form(page), **fields})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert f'id="f-{field}"' in text and "is-invalid" in text and message in text
    db_session.expire_all()
    assert db_session.get(Programme, programme.id).completion_rule == RULE, "nothing half-saved"


def test_rule_api_round_trip_and_validation(app, client, db_session, cast) -> None:
    programme = cast["programme"]
    headers = api_headers(app, actor_for(cast["trainer"], cast["course"], "trainer"))
    url = f"/api/v1/programmes/{programme.id}/completion/rule"
    assert client.get(url, headers=headers).get_json()["conditions"] == [
        {"kind": "meetings", "count": 2, "confirmed": False},
        {"kind": "relationship_completed"},
    ]
    body = {"conditions": [{"kind": "goals", "mode": "at_least", "count": 2}], "mentors_complete": True}
    response = client.put(url, json=body, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["conditions"] == [{"kind": "goals", "mode": "at_least", "count": 2}]
    bad = client.put(url, json={"conditions": [{"kind": "goals", "mode": "at_least"}]}, headers=headers)
    assert bad.status_code == 422
    assert (
        bad.get_json()["error"] == "validation_failed" and "conditions.0.count" in bad.get_json()["details"]
    )
    unknown = client.put(url, json={"conditions": [{"kind": "lunch"}]}, headers=headers)
    assert unknown.status_code == 422
    learner = api_headers(app, actor_for(cast["mentee"], cast["course"]))
    assert client.put(url, json=body, headers=learner).status_code == 403


# ---------------------------------------------------------------------------------------- participants


def test_participant_sees_their_own_progress(app, client, cast) -> None:
    programme = cast["programme"]
    lt = token(app, cast["mentee"], cast["course"])
    page = client.get(f"/programmes/{programme.id}/completion/me", query_string={"lt": lt}).get_data(
        as_text=True
    )
    assert "1 of 2 meetings, relationship not completed yet" in page
    assert 'data-condition="meetings" data-met="no"' in page
    mine = client.get(
        f"/api/v1/programmes/{programme.id}/completion/me",
        headers=api_headers(app, actor_for(cast["mentee"], cast["course"])),
    ).get_json()
    assert (mine["applies"], mine["met"], mine["conditions_total"]) == (True, False, 2)
    mentor_view = client.get(
        f"/api/v1/programmes/{programme.id}/completion/me",
        headers=api_headers(app, actor_for(cast["mentor"], cast["course"])),
    ).get_json()
    assert mentor_view["applies"] is False


def test_progress_shows_on_the_programme_pages(app, client, cast) -> None:
    programme = cast["programme"]
    if "pages.programme" not in app.view_functions:
        pytest.skip("the programme pages are not part of this build")
    lt = token(app, cast["mentee"], cast["course"])
    page = client.get(f"/programmes/{programme.id}", query_string={"lt": lt}).get_data(as_text=True)
    assert 'id="my-completion"' in page and "1 of 2 meetings" in page
    trainer_lt = token(app, cast["trainer"], cast["course"], "trainer")
    overview = client.get(f"/programmes/{programme.id}/overview", query_string={"lt": trainer_lt})
    text = overview.get_data(as_text=True)
    assert 'id="completion-sync"' in text and 'data-sync="not_needed"' in text
    assert "1 of 2 meetings, relationship not completed yet" in text
    edit = client.get(f"/programmes/{programme.id}/edit", query_string={"lt": trainer_lt})
    assert 'id="completion-rule-link"' in edit.get_data(as_text=True)
    # A participant's overview include shows nothing (the overview itself is the trainer's).
    assert 'id="completion-sync"' not in client.get(
        f"/programmes/{programme.id}", query_string={"lt": lt}
    ).get_data(as_text=True)


def test_the_api_overview_is_bounded_in_queries(app, client, db_session) -> None:
    programme = programme_with_rule(RULE)
    trainer = enrol(programme.course, "trainer")
    headers = api_headers(app, actor_for(trainer, programme.course, "trainer"))
    url = f"/api/v1/programmes/{programme.id}/completion"
    counts = []
    for size in (2, 30):
        for _ in range(size):
            pair_up(programme, enrol(programme.course), enrol(programme.course))
        tracker.refresh_programme(db_session, programme.id)
        db_session.commit()
        statements: list[str] = []

        def count(conn, cursor, statement, *args, statements=statements):  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            body = client.get(url, headers=headers).get_json()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert len(body["participants"]) == 64
    assert counts[0] == counts[1], counts
