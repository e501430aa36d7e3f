"""``tandem roster sync`` and ``tandem platform moodle-ws`` through the real command group."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lti_app.cli import main
from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.person import Enrolment
from lti_app.models.registration import Registration
from lti_app.models.roster import DONE, FAILED, RosterSync
from lti_app.tasks.roster import HTTP_KEY
from tests.factories.roster import RosterSyncFactory, tandem_course
from tests.functional.roster.conftest import WS_TOKEN, quick_http
from tests.platform import Fault


@pytest.fixture
def tandem(app, monkeypatch):
    monkeypatch.setitem(app.extensions, HTTP_KEY, quick_http)
    runner = app.test_cli_runner()

    def invoke(*args: str, **kwargs):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), catch_exceptions=False, **kwargs)

    return invoke


@pytest.fixture
def members(platform, lms_course):
    people = [platform.add_user() for _ in range(4)]
    for person in people:
        platform.enrol(person, lms_course, "learner")
    return people


def test_sync_one_course_prints_progress_and_the_summary(tandem, course, members) -> None:
    result = tandem("roster", "sync", "--course", str(course.id))

    assert result.exit_code == 0, result.output
    assert f"Course {course.id} (Leadership 101): 4 read, 4 added, 0 updated, 0 deactivated" in result.output
    job = db.session.scalars(select(RosterSync)).one()
    assert (job.trigger, job.status, job.added) == ("cli", DONE, 4)
    assert db.session.scalar(select(db.func.count(Enrolment.id))) == 4


def test_sync_all_courses_skips_those_without_a_roster_service(
    tandem, platform, registration, course, members
) -> None:
    second = tandem_course(platform, registration, platform.add_course(title="Second"))
    no_roster = Course(registration_id=registration.id, context_id="no-nrps", title="Offline")
    db.session.add(no_roster)
    db.session.commit()

    result = tandem("roster", "sync", "--all")

    assert result.exit_code == 0, result.output
    assert "4 read, 4 added" in result.output and f"Course {second.id} (Second): 0 read" in result.output
    assert "Offline" not in result.output
    assert db.session.scalar(select(db.func.count(RosterSync.id))) == 2


def test_pending_runs_the_jobs_trainers_queued(tandem, course, members) -> None:
    job = RosterSyncFactory(course=db.session.get(Course, course.id))
    db.session.commit()

    result = tandem("roster", "sync", "--pending", "--quiet")

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(RosterSync, job.id).status == DONE


def test_a_failed_sync_exits_non_zero_with_the_reason(tandem, platform, course, members) -> None:
    platform.faults.add("nrps", Fault.error(401, body="Unauthorized"))
    platform.faults.add("nrps", Fault.error(401, body="Unauthorized"))

    result = tandem("roster", "sync", "--course", str(course.id))

    assert result.exit_code == 1
    assert "failed: The LMS roster could not be read" in result.output
    assert db.session.scalars(select(RosterSync.status)).one() == FAILED


def test_options_are_checked(tandem, course) -> None:
    assert tandem("roster", "sync").exit_code == 2
    assert tandem("roster", "sync", "--all", "--course", str(course.id)).exit_code == 2
    assert tandem("roster", "sync", "--all", "--watch", "5").exit_code == 2
    missing = tandem("roster", "sync", "--course", "999999")
    assert missing.exit_code == 1 and "No course 999999" in missing.output


@pytest.mark.usefixtures("moodle_is_the_issuer")
def test_moodle_ws_stores_the_settings_after_a_connection_check(tandem, registration, moodle_ws, box) -> None:
    result = tandem(
        "platform",
        "moodle-ws",
        registration.issuer,
        "--url",
        moodle_ws.url,
        "--token",
        WS_TOKEN,
        "--map",
        "department=department",
        "--map",
        "profile_field_skills=skills",
    )

    assert result.exit_code == 0, result.output
    assert "Connected to Moodle Lab" in result.output and WS_TOKEN not in result.output
    db.session.expire_all()
    saved = db.session.get(Registration, registration.id)
    assert box.open(saved.moodle_ws_token_sealed) == WS_TOKEN
    assert saved.moodle_field_map == {"department": "department", "profile_field_skills": "skills"}


@pytest.mark.usefixtures("moodle_is_the_issuer")
def test_moodle_ws_refuses_a_bad_token_and_can_be_cleared(tandem, registration, moodle_ws) -> None:
    refused = tandem(
        "platform", "moodle-ws", str(registration.id), "--url", moodle_ws.url, "--token", "a" * 32
    )
    assert refused.exit_code == 1 and "invalidtoken" in refused.output
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).moodle_ws_url is None

    tandem("platform", "moodle-ws", str(registration.id), "--url", moodle_ws.url, "--token", WS_TOKEN)
    cleared = tandem("platform", "moodle-ws", str(registration.id), "--clear")
    assert cleared.exit_code == 0
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).moodle_ws_token_sealed is None


@pytest.mark.usefixtures("moodle_is_the_issuer")
def test_moodle_ws_asks_for_the_token_without_echoing_it(tandem, registration, moodle_ws) -> None:
    result = tandem(
        "platform", "moodle-ws", str(registration.id), "--url", moodle_ws.url, input=WS_TOKEN + "\n"
    )

    assert result.exit_code == 0, result.output
    assert "Web service token" in result.output and WS_TOKEN not in result.output
