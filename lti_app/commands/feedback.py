"""``tandem feedback close-due|send-mail``: the 360 feedback jobs that run outside web requests (cron or a
loop): closing cycles past their date (which completes them and feeds completion rules), and sending the
invitation and reminder emails queued in the feedback outbox."""

from __future__ import annotations

import smtplib
from collections import Counter

import click
from flask import current_app
from flask.cli import AppGroup

from lti_app.extensions import db
from lti_app.services.feedback import cycles, mail

feedback = AppGroup("feedback", help="360 feedback: close due cycles, send invitations and reminders.")


@feedback.command("close-due")
def close_due() -> None:
    """Close every open cycle whose closing date has passed."""
    closed = cycles.close_due_cycles(db.session)
    db.session.commit()
    click.echo(f"closed {closed} feedback cycle(s)")


@feedback.command("send-mail")
@click.option("--limit", default=200, show_default=True, help="Emails per run.")
def send_mail(limit: int) -> None:
    """Send pending invitations and reminders through TANDEM_SMTP_URL, one commit per email. Without SMTP
    they stay queued: their links are credentials, so they are never written to a log instead."""
    from lti_app.tasks.mail import SmtpSender, SmtpServer

    settings = current_app.extensions["tandem.settings"]
    due = mail.due_mail_ids(db.session, limit=limit)
    if not due:
        click.echo("no feedback email to send")
        return
    if not settings.smtp_url:
        click.echo(f"{len(due)} feedback email(s) wait: TANDEM_SMTP_URL is not set")
        return
    outcome: Counter[str] = Counter()
    try:
        with SmtpSender(SmtpServer.from_url(settings.smtp_url)) as smtp:
            for mail_id in due:
                result = mail.deliver(
                    db.session, mail_id, smtp, base_url=settings.base_url, mail_from=settings.mail_from
                )
                db.session.commit()
                outcome[result.status] += 1
    except (smtplib.SMTPException, OSError) as exc:
        db.session.rollback()
        failure = type(exc).__name__
        raise click.ClickException(f"SMTP connection failed ({failure}); emails stay queued") from exc
    click.echo(", ".join(f"{status} {count}" for status, count in sorted(outcome.items())))


commands = [feedback]
