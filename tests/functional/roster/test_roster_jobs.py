"""Roster sync jobs: one active job per course, claimed once, progress committed per batch, failures
recorded in words a trainer can act on, and jobs whose runner died no longer blocking the course."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lti_app.errors import Conflict, NotFound, PermissionDenied
from lti_app.extensions import db
from lti_app.models.base import utcnow
from lti_app.models.course import Course
from lti_app.models.person import Enrolment
from lti_app.models.registration import Registration
from lti_app.models.roster import DONE, FAILED, QUEUED, RUNNING, RosterSync
from lti_app.services import roster_jobs
from lti_app.tasks.roster import run_sync
from tests.factories.core import CourseFactory, actor_for
from tests.factories.mentoring import enrol
from tests.factories.roster import RosterSyncFactory
from tests.functional.roster.conftest import quick_http
from tests.platform import Fault


@pytest.fixture
def trainer(course):
    person = enrol(db.session.get(Course, course.id), "trainer")
    db.session.commit()
    return actor_for(person, db.session.get(Course, course.id), "trainer")


@pytest.fixture
def members(platform, lms_course):
    people = [platform.add_user(given_name=f"Pat{n}", family_name="Private") for n in range(5)]
    for person in people:
        platform.enrol(person, lms_course, "learner")
    return people


def test_a_trainer_queues_one_sync_however_often_they_ask(course, trainer) -> None:
    first = roster_jobs.request_sync(db.session, trainer, course.id)
    db.session.commit()
    again = roster_jobs.request_sync(db.session, trainer, course.id)

    assert again.id == first.id
    assert (first.status, first.trigger, first.requested_by_id, first.total) == (
        QUEUED,
        "trainer",
        trainer.person_id,
        1,
    )
    assert db.session.scalars(select(RosterSync)).all() == [first]


def test_only_trainers_of_the_course_may_ask(course, trainer) -> None:
    learner = enrol(db.session.get(Course, course.id), "participant")
    with pytest.raises(PermissionDenied):
        roster_jobs.request_sync(db.session, actor_for(learner, db.session.get(Course, course.id)), course.id)
    job = roster_jobs.request_sync(db.session, trainer, course.id)
    db.session.commit()

    elsewhere = CourseFactory(registration=db.session.get(Registration, course.registration_id))
    other_trainer = enrol(elsewhere, "trainer")
    with pytest.raises(NotFound):
        roster_jobs.get_sync(db.session, actor_for(other_trainer, elsewhere, "trainer"), job.id)
    with pytest.raises(NotFound):
        roster_jobs.get_sync(db.session, actor_for(learner, db.session.get(Course, course.id)), job.id)
    assert roster_jobs.get_sync(db.session, trainer, job.id).id == job.id


def test_an_inactive_platform_is_refused(course, trainer) -> None:
    db.session.get(Registration, course.registration_id).is_active = False
    db.session.commit()

    with pytest.raises(Conflict):
        roster_jobs.request_sync(db.session, trainer, course.id)


def test_running_a_job_records_progress_and_the_summary(course, trainer, members, box) -> None:
    job = roster_jobs.request_sync(db.session, trainer, course.id)
    db.session.commit()
    seen: list[int] = []

    done = run_sync(
        db.session, job.id, box, http_factory=quick_http, on_progress=lambda s: seen.append(s.processed)
    )

    assert done is not None and done.status == DONE
    assert (done.processed, done.added, done.total, done.error) == (5, 5, 5, None)
    assert done.started_at is not None and done.finished_at is not None
    assert seen[-1] == 5
    # The trainer enrolled by hand is not in the LMS roster: deactivated, not deleted.
    assert done.deactivated == 1
    assert db.session.scalars(
        select(Enrolment.status).where(Enrolment.person_id == trainer.person_id)
    ).one() == ("inactive")


def test_a_job_runs_once_even_if_two_runners_pick_it(course, trainer, members, box) -> None:
    job = roster_jobs.request_sync(db.session, trainer, course.id)
    db.session.commit()

    assert run_sync(db.session, job.id, box, http_factory=quick_http) is not None
    assert run_sync(db.session, job.id, box, http_factory=quick_http) is None


def test_a_failed_read_is_recorded_without_personal_data(platform, course, trainer, members, box) -> None:
    platform.faults.add("nrps", Fault.error(403, body="Forbidden"))
    job = roster_jobs.request_sync(db.session, trainer, course.id)
    db.session.commit()

    failed = run_sync(db.session, job.id, box, http_factory=quick_http)

    assert failed is not None and failed.status == FAILED
    assert failed.error.startswith("The LMS roster could not be read") and "HTTP 403" in failed.error
    assert "Private" not in failed.error and "Pat" not in failed.error
    assert roster_jobs.active_sync(db.session, course.id) is None  # the course can be synced again


def test_a_job_whose_runner_died_no_longer_blocks_the_course(course, trainer) -> None:
    stuck = RosterSyncFactory(course=db.session.get(Course, course.id), status=RUNNING, started_at=utcnow())
    stuck.updated_at = utcnow() - roster_jobs.STALE_AFTER - timedelta(minutes=1)
    db.session.commit()

    fresh = roster_jobs.request_sync(db.session, trainer, course.id)
    db.session.commit()

    assert fresh.id != stuck.id and fresh.status == QUEUED
    db.session.refresh(stuck)
    assert stuck.status == FAILED and "stopped without finishing" in stuck.error


def test_a_job_no_runner_ever_started_no_longer_blocks_the_course(course, trainer) -> None:
    waiting = RosterSyncFactory(course=db.session.get(Course, course.id))
    waiting.created_at = utcnow() - roster_jobs.STALE_AFTER - timedelta(minutes=1)
    db.session.commit()

    overview = roster_jobs.overview(db.session, trainer, course.id)

    assert overview.current is None
    assert overview.history[0].id == waiting.id and "did not start" in overview.history[0].error


def test_pending_jobs_are_listed_oldest_first(course, trainer) -> None:
    other = CourseFactory(registration=db.session.get(Registration, course.registration_id))
    first = RosterSyncFactory(course=db.session.get(Course, course.id))
    second = RosterSyncFactory(course=other)
    RosterSyncFactory(course=other, status=DONE)
    db.session.commit()

    assert roster_jobs.pending_sync_ids(db.session) == [first.id, second.id]
