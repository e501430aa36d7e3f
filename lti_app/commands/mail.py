"""``tandem mail send [--once]``: the worker that delivers notification emails (``lti_app.tasks.mail``)."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from lti_app.extensions import db
from lti_app.services.relationships import expire_due
from lti_app.tasks.mail import MailRun, send_pending

mail = AppGroup("mail", help="Notification emails: queued with each notification, sent by this worker.")


def drain(batch: int) -> MailRun:
    """Send batches until nothing is pending (or only held / retrying rows are left); one commit each."""
    settings = current_app.extensions["tandem.settings"]
    total = MailRun()
    while True:
        run = send_pending(db.session, settings, batch=batch)
        db.session.commit()
        for field in ("sent", "logged", "skipped", "failed", "retrying", "held"):
            setattr(total, field, getattr(total, field) + getattr(run, field))
        # Retrying rows stay pending: stop after a pass that only retried, rather than spin on them.
        if run.handled - run.retrying == 0:
            return total


@mail.command("send")
@click.option("--once", is_flag=True, help="Send what is pending now, then exit (for cron).")
@click.option("--interval", default=30, show_default=True, help="Seconds between passes when running on.")
@click.option("--batch", default=50, show_default=True, help="Emails per transaction.")
def send(once: bool, interval: int, batch: int) -> None:
    """Deliver pending notification emails through TANDEM_SMTP_URL (without it, outside production, they
    are written to the log with masked addresses). Each pass first expires unanswered requests, so their
    notifications go out in the same pass."""
    while True:
        expired, completed = expire_due(db.session)
        db.session.commit()
        if expired or completed:
            click.echo(f"expired {expired} requests, completed {completed} flash relationships")
        total = drain(batch)
        if once or total.handled:
            click.echo(f"sent {total.sent}, logged {total.logged}, skipped {total.skipped}, "
                       f"failed {total.failed}, retrying {total.retrying}, held {total.held}")
        if once:
            return
        time.sleep(interval)


commands = [mail]
