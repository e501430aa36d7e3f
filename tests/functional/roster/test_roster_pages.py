"""The trainer's roster page and the status API it polls: queue, progress, summary; and who may use them."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.roster import DONE, QUEUED, RosterSync
from lti_app.tasks.roster import HTTP_KEY, RUNNER_KEY
from tests.factories.core import actor_for
from tests.factories.mentoring import enrol
from tests.functional.roster.conftest import Browser, quick_http


@pytest.fixture
def started(app, monkeypatch) -> list[int]:
    """Jobs handed to the runner, recorded instead of run."""
    found: list[int] = []
    monkeypatch.setitem(app.extensions, RUNNER_KEY, lambda _app, sync_id: found.append(sync_id))
    return found


@pytest.fixture
def trainer(app, platform, lms_course, course) -> Browser:
    """A trainer of the course, in the LMS roster too (as the LMS's instructor)."""
    lms_user = platform.add_user(given_name="Terry", family_name="Teacher")
    platform.enrol(lms_user, lms_course, "instructor")
    tandem_course = db.session.get(Course, course.id)
    person = enrol(tandem_course, "trainer", sub=lms_user.id)
    db.session.commit()
    return Browser(app, actor_for(person, tandem_course, "trainer"))


@pytest.fixture
def learner(app, course) -> Browser:
    tandem_course = db.session.get(Course, course.id)
    person = enrol(tandem_course, "participant")
    db.session.commit()
    return Browser(app, actor_for(person, tandem_course, "participant"))


@pytest.fixture
def members(platform, lms_course):
    people = [platform.add_user() for _ in range(5)]
    for person in people:
        platform.enrol(person, lms_course, "learner")
    return people


def test_the_page_offers_the_sync_to_trainers(trainer) -> None:
    page = trainer.get("/course/roster")

    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Sync roster" in body and "has not been synced yet" in body
    assert 'id="roster-sync"' not in body and "roster-sync.js" not in body


def test_learners_may_not_open_it_or_sync(learner, started) -> None:
    assert learner.get("/course/roster").status_code == 403
    assert learner.post("/course/roster/sync").status_code == 403
    assert learner.api("post", "/api/v1/roster/syncs").status_code == 403
    assert started == []


def test_the_button_queues_a_job_and_the_page_shows_its_progress(trainer, course, started) -> None:
    response = trainer.post("/course/roster/sync")

    assert response.status_code == 303 and response.headers["Location"].startswith("/course/roster?lt=")
    job = db.session.scalars(select(RosterSync)).one()
    assert (job.course_id, job.status) == (course.id, QUEUED)
    assert started == [job.id]
    body = trainer.get("/course/roster").get_data(as_text=True)
    assert f'data-status-url="/api/v1/roster/syncs/{job.id}"' in body
    assert "js/roster-sync.js" in body and "Sync waiting to start" in body
    assert "disabled>Sync roster" in body.replace("\n", "").replace("  ", "")
    # Clicking again while it waits starts nothing new.
    trainer.post("/course/roster/sync")
    assert db.session.scalars(select(RosterSync)).all() == [job]


def test_a_form_without_its_csrf_token_is_refused(trainer, started) -> None:
    response = trainer.post("/course/roster/sync", csrf=False)

    assert response.status_code == 400
    assert db.session.scalars(select(RosterSync)).all() == [] and started == []


def test_the_status_api_reports_progress_to_trainers_of_the_course_only(trainer, learner, started) -> None:
    created = trainer.api("post", "/api/v1/roster/syncs")
    assert created.status_code == 202
    sync_id = created.get_json()["id"]

    status = trainer.api("get", f"/api/v1/roster/syncs/{sync_id}")

    assert status.status_code == 200
    body = status.get_json()
    assert (body["status"], body["processed"], body["progress"], body["total"]) == ("queued", 0, 0.0, 2)
    assert set(body) >= {"added", "updated", "deactivated", "unchanged", "error", "notice", "finished_at"}
    refused = learner.api("get", f"/api/v1/roster/syncs/{sync_id}")
    assert refused.status_code == 404 and refused.get_json()["error"] == "not_found"
    assert trainer.api("get", "/api/v1/roster/syncs/999999").status_code == 404


def test_a_course_without_the_roster_service_says_so(trainer, course, started) -> None:
    db.session.get(Course, course.id).memberships_url = None
    db.session.commit()

    body = trainer.get("/course/roster").get_data(as_text=True)
    assert 'id="roster-unavailable"' in body
    response = trainer.post("/course/roster/sync")
    assert response.status_code == 409 and "Names and Role Provisioning" in response.get_data(as_text=True)
    assert started == []


def test_a_sync_runs_in_the_background_and_the_page_shows_its_summary(
    app, trainer, members, monkeypatch
) -> None:
    monkeypatch.setitem(app.extensions, HTTP_KEY, quick_http)  # the real thread runner, fast retries
    trainer.post("/course/roster/sync")
    sync_id = db.session.scalars(select(RosterSync.id)).one()

    status = {}
    for _ in range(200):  # the thread ends on its own; this only waits for it
        status = trainer.api("get", f"/api/v1/roster/syncs/{sync_id}").get_json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.05)

    assert status["status"] == DONE, status
    assert (status["processed"], status["added"], status["updated"], status["progress"]) == (6, 5, 1, 1.0)
    body = trainer.get("/course/roster").get_data(as_text=True)
    assert "5 added, 1 updated" in body and 'id="roster-history"' in body
    assert 'id="roster-sync"' not in body


def test_the_status_api_is_documented(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()

    assert {"/api/v1/roster/syncs", "/api/v1/roster/syncs/{sync_id}"} <= set(spec["paths"])
    assert "progress" in spec["components"]["schemas"]["RosterSyncOut"]["properties"]
