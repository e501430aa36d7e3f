"""Running roster sync jobs: the transaction boundary around ``lti_app.services.roster``.

Execution model (``TANDEM_ROSTER_SYNC``):

* ``thread`` (default; development and small sites): the trainer's request commits a queued job and starts
  a daemon thread with its own app context and database session, which claims and runs it. The request
  answers at once; the page polls the job's status.
* ``worker`` (large sites): the request only queues the job; the worker runs
  ``tandem roster sync --pending`` (every minute from cron, or ``--watch``), which claims queued jobs.

Either way the job row is the truth: a claim is one conditional UPDATE, so two runners never run one job;
progress is committed after every batch, so the page sees it and a crash keeps the batches done; a thread
that died with its process leaves a running job that stops making progress and is failed after
``STALE_AFTER`` (``lti_app.services.roster_jobs``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask
from sqlalchemy.orm import Session

from lms_clients import LMSHttp, LMSRequestError
from lti_app.crypto import SecretBox
from lti_app.errors import TandemError
from lti_app.models.course import Course
from lti_app.models.registration import Registration
from lti_app.models.roster import RosterSync
from lti_app.services import roster_jobs
from lti_app.services.roster import ProgressCallback, RosterSummary, roster_services, sync_course

logger = logging.getLogger(__name__)

RUNNER_KEY = "tandem.roster_runner"  # app.extensions override: how a queued job is started (tests)
HTTP_KEY = "tandem.roster_http"  # app.extensions override: the LMSHttp factory (tests, benchmarks)
UNEXPECTED = "The sync failed on an unexpected error; the details are in Tandem's log."

HttpFactory = Callable[[], LMSHttp]


def default_http() -> LMSHttp:
    return LMSHttp(connect_timeout=5.0, read_timeout=30.0, max_attempts=4)


def describe(exc: Exception) -> str:
    """A failure in words a trainer can act on, without personal data (URLs are masked)."""
    if isinstance(exc, LMSRequestError):
        return f"The LMS roster could not be read: {exc}"
    if isinstance(exc, TandemError):
        return exc.message
    return UNEXPECTED


def run_sync(
    session: Session,
    sync_id: int,
    box: SecretBox,
    *,
    http_factory: HttpFactory = default_http,
    on_progress: ProgressCallback | None = None,
) -> RosterSync | None:
    """Claim the queued job ``sync_id`` and run it, committing after every batch. Returns the finished
    (done or failed) job, or None when another runner claimed it first. LMS and rule failures are
    recorded on the job; an unexpected error is recorded too, then raised so it is not lost."""
    if not roster_jobs.claim(session, sync_id):
        session.rollback()
        return None
    session.commit()
    job = session.get(RosterSync, sync_id)
    assert job is not None
    http = http_factory()
    try:
        course = session.get(Course, job.course_id)
        registration = session.get(Registration, course.registration_id) if course else None
        if course is None or registration is None:
            raise TandemError("The course of this sync no longer exists.")
        services = roster_services(session, registration, box, http)

        def progress(summary: RosterSummary) -> None:
            roster_jobs.record_progress(session, sync_id, summary)
            session.commit()
            if on_progress is not None:
                on_progress(summary)

        summary = sync_course(session, course, services, on_progress=progress)
        roster_jobs.finish(job, summary)
        session.commit()
    except (LMSRequestError, TandemError) as exc:
        _record_failure(session, sync_id, describe(exc))
        logger.warning("Roster sync %s failed: %s", sync_id, exc)
    except Exception:
        _record_failure(session, sync_id, UNEXPECTED)
        logger.exception("Roster sync %s failed unexpectedly", sync_id)
        raise
    finally:
        http.close()
    return session.get(RosterSync, sync_id)


def _record_failure(session: Session, sync_id: int, message: str) -> None:
    session.rollback()
    job = session.get(RosterSync, sync_id)
    if job is not None:
        roster_jobs.fail(job, message)
        session.commit()


def start_in_thread(app: Flask, sync_id: int) -> threading.Thread:
    """Run the job in a daemon thread with its own app context (so its own database session)."""
    from lti_app.extensions import db

    settings = app.extensions["tandem.settings"]
    http_factory = app.extensions.get(HTTP_KEY, default_http)

    def target() -> None:
        with app.app_context():
            try:
                run_sync(db.session(), sync_id, SecretBox(settings.secret_key), http_factory=http_factory)
            except Exception:  # noqa: BLE001 - run_sync logged it and recorded it on the job
                logger.debug("Roster sync thread for job %s ended on an error", sync_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=target, name=f"roster-sync-{sync_id}", daemon=True)
    thread.start()
    return thread


def dispatch(app: Flask, sync_id: int) -> None:
    """Start a freshly committed job as ``TANDEM_ROSTER_SYNC`` says (a thread, or leave it to the worker)."""
    runner = app.extensions.get(RUNNER_KEY)
    if runner is not None:
        runner(app, sync_id)
    elif app.extensions["tandem.settings"].roster_sync == "thread":
        start_in_thread(app, sync_id)
