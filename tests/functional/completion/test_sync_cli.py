"""``tandem sync run|retry|status|sweep`` through the real command group, and a worker process killed with
SIGKILL in the middle of a request."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from lti_app.cli import main
from lti_app.models.base import utcnow
from lti_app.models.completion import Completion, SyncJob
from lti_app.services.completion import tracker
from lti_app.tasks.sync_worker import SyncWorker, WorkerConfig
from tests.factories.completion import connect, enrol, pair_up, programme_with_rule, rule
from tests.platform.faults import Fault

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def tandem(app):  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def queue(db_session, book, count: int):  # type: ignore[no-untyped-def]
    programme = programme_with_rule(rule({"kind": "relationship_completed"}), course=book.course)
    mentor = enrol(book.course)
    people = [book.learner() for _ in range(count)]
    for person in people:
        pair_up(programme, mentor, person, status="completed")
    tracker.refresh_programme(db_session, programme.id)
    db_session.commit()
    return programme, people


def statuses(db_session) -> list[str]:  # type: ignore[no-untyped-def]
    db_session.expire_all()
    return [job.status for job in db_session.scalars(select(SyncJob).order_by(SyncJob.id))]


def test_run_once_delivers_and_status_reports(tandem, db_session, lti_platform) -> None:
    book = connect(lti_platform)
    queue(db_session, book, 2)
    result = tandem("sync", "status")
    assert "pending=2" in result.output
    result = tandem("sync", "run", "--once")
    assert result.exit_code == 0, result.output
    assert "sent 2" in result.output
    assert statuses(db_session) == ["sent", "sent"]
    assert len(lti_platform.final_scores()) == 2
    assert "sent=2" in tandem("sync", "status").output


def test_failures_are_listed_and_retried(tandem, db_session, lti_platform) -> None:
    book = connect(lti_platform)
    _, [person] = queue(db_session, book, 1)
    lti_platform.unenrol(book.user(person), book.lms_course)
    tandem("sync", "run", "--once", "--no-sweep")
    output = tandem("sync", "status").output
    assert "failed=1" in output and f"person {person.id}" in output and "HTTP 400" in output
    assert person.name not in output and (person.email or "@") not in output, "ids only"
    result = tandem("sync", "retry", "--all-failed")
    assert "1 failed job(s) queued again" in result.output
    assert statuses(db_session) == ["pending"]


def test_retry_needs_a_target(app) -> None:
    result = app.test_cli_runner().invoke(main, ["sync", "retry"])
    assert result.exit_code == 2 and "--all-failed" in result.output


def test_sweep_command(tandem, db_session) -> None:
    programme = programme_with_rule(rule({"kind": "active_days", "days": 1}))
    mentee = enrol(programme.course)
    pair_up(programme, enrol(programme.course), mentee, started_at=utcnow() - timedelta(days=3))
    db_session.commit()
    assert "Re-evaluated 1 completion(s)" in tandem("sync", "sweep").output
    db_session.expire_all()
    assert db_session.scalars(select(Completion)).one().met


def test_killing_the_worker_process_mid_request_loses_nothing(
    app, db_session, lti_platform, tmp_path
) -> None:
    """A real ``tandem sync run`` process, SIGKILLed while the LMS is still answering its score POST."""
    book = connect(lti_platform)
    _, people = queue(db_session, book, 3)
    lti_platform.faults.add("scores", Fault.slow(2.0))  # the first score POST hangs for two seconds
    settings = app.extensions["tandem.settings"]
    env = {
        **os.environ,
        "TANDEM_ENV": "test",
        "TANDEM_DATABASE_URL": settings.database_url,
        "TANDEM_SECRET_KEY": settings.secret_key,
        "TANDEM_INSTANCE_DIR": str(tmp_path),
        "TANDEM_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [
            sys.executable,
            "-c",
            "from lti_app.cli import main; main()",
            "sync",
            "run",
            "--lease-seconds",
            "60",
            "--concurrency",
            "1",
            "--poll-seconds",
            "30",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while lti_platform.faults.pending("scores") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not lti_platform.faults.pending("scores"), "the worker never sent a score"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    # The LMS finishes what it was answering; the worker never heard back.
    deadline = time.monotonic() + 10
    while not lti_platform.received_scores and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "sending" in statuses(db_session)

    worker = SyncWorker(
        db_session(),
        settings.secret_key,
        config=WorkerConfig(concurrency=2),
        clock=lambda: utcnow() + timedelta(seconds=61),
    )
    with worker:
        worker.run_once()
    assert set(statuses(db_session)) == {"sent"}
    finals = lti_platform.final_scores()
    assert len(finals) == 3
    for person in people:
        assert len(lti_platform.scores_for(book.user(person))) == 1, "recorded exactly once"
