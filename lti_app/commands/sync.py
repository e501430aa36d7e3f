"""``tandem sync run|retry|status|sweep``: completion sync to the LMS gradebook (see
``lti_app.tasks.sync_worker``). Run ``tandem sync run`` as a service, or ``tandem sync run --once`` from cron;
several workers may run at once."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from lti_app.extensions import db
from lti_app.models.base import utcnow
from lti_app.models.completion import SyncJob
from lti_app.services.completion import outbox, tracker
from lti_app.tasks.sync_worker import SyncWorker, WorkerConfig

sync = AppGroup("sync", help="Completion sync: the outbox of scores for the LMS gradebook (AGS).")


def _worker(options: dict[str, Any]) -> SyncWorker:
    config = WorkerConfig(
        batch_size=options["batch_size"],
        concurrency=options["concurrency"],
        lease=timedelta(seconds=options["lease_seconds"]),
        max_attempts=options["max_attempts"],
        read_timeout=options["timeout"],
    )
    return SyncWorker(db.session(), current_app.extensions["tandem.settings"].secret_key, config=config)


@sync.command("run")
@click.option("--once", is_flag=True, help="Send what is due now and exit (for cron).")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 5000))
@click.option("--concurrency", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Scores sent at the same time.")
@click.option("--lease-seconds", default=300, show_default=True, type=click.IntRange(60, 86400),
              help="How long a claimed job is this worker's before another may take it over.")
@click.option("--max-attempts", default=12, show_default=True, type=click.IntRange(1, 100))
@click.option("--timeout", default=20.0, show_default=True, type=click.FloatRange(1, 300),
              help="Seconds to wait for the LMS to answer.")
@click.option("--poll-seconds", default=5.0, show_default=True, type=click.FloatRange(0.1, 3600))
@click.option("--sweep-minutes", default=15.0, show_default=True, type=click.FloatRange(0.1, 1440),
              help="How often to re-evaluate completions that time alone may change.")
@click.option("--no-sweep", is_flag=True, help="With --once: only send, do not re-evaluate.")
def run(once: bool, poll_seconds: float, sweep_minutes: float, no_sweep: bool, **options: Any) -> None:
    """Deliver queued scores, retrying with backoff; stops cleanly on SIGTERM or Ctrl-C."""
    with _worker(options) as worker:
        if once:
            swept = 0 if no_sweep else worker.sweep()
            report = worker.run_once()
            click.echo(
                f"Re-evaluated {swept}; sent {report.sent}, already recorded {report.already}, "
                f"to retry {report.retried}, failed {report.failed}."
            )
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        click.echo(f"Sync worker {worker.worker_id} running; SIGTERM stops it.")
        worker.run_forever(stop, poll_seconds=poll_seconds, sweep_every=timedelta(minutes=sweep_minutes))
        click.echo("Sync worker stopped.")


@sync.command("retry")
@click.option("--programme", "programme_id", type=int, help="Only this programme's failed jobs.")
@click.option("--job", "job_id", type=int, help="Only this job.")
@click.option("--all-failed", is_flag=True, help="Every failed job of every programme.")
def retry(programme_id: int | None, job_id: int | None, all_failed: bool) -> None:
    """Make failed jobs due again, with a fresh attempt budget."""
    if not (programme_id or job_id or all_failed):
        raise click.UsageError("Say which: --programme ID, --job ID or --all-failed.")
    count = outbox.retry_failed(db.session(), utcnow(), programme_id=programme_id, job_id=job_id)
    db.session.commit()
    click.echo(f"{count} failed job(s) queued again.")


@sync.command("sweep")
def sweep() -> None:
    """Re-evaluate the completions time may have changed (the worker does this every few minutes)."""
    count = tracker.sweep(db.session())
    db.session.commit()
    click.echo(f"Re-evaluated {count} completion(s).")


@sync.command("status")
@click.option("--programme", "programme_id", type=int, help="Only this programme.")
@click.option("--failures", default=20, show_default=True, type=click.IntRange(0, 1000),
              help="How many failed jobs to list.")
def status(programme_id: int | None, failures: int) -> None:
    """Jobs per status, the oldest one waiting, and the latest failures (ids only, no personal data)."""
    found = outbox.counts(db.session(), programme_id)
    click.echo("  ".join(f"{name}={count}" for name, count in found.items()))
    waiting = select(func.min(SyncJob.created_at)).where(SyncJob.status.in_(("pending", "sending")))
    if programme_id is not None:
        waiting = waiting.where(SyncJob.programme_id == programme_id)
    oldest = db.session.scalar(waiting)
    if oldest is not None:
        click.echo(f"Oldest waiting job queued {int((utcnow() - oldest).total_seconds())} s ago.")
    query = (
        select(SyncJob).where(SyncJob.status == "failed").order_by(SyncJob.updated_at.desc()).limit(failures)
    )
    if programme_id is not None:
        query = query.where(SyncJob.programme_id == programme_id)
    for job in db.session.scalars(query):
        click.echo(f"failed job {job.id} programme {job.programme_id} person {job.person_id} "
                   f"after {job.attempts} attempt(s): {job.last_error[:300]}")


commands = [sync]
