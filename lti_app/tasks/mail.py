"""Delivering notification emails, outside any web request (``tandem mail send``).

Notifications are the outbox: each row with ``email_status = pending`` is one email to write. The worker
takes a batch (locked with SKIP LOCKED on PostgreSQL, so several workers never send one twice), sends each
through ``TANDEM_SMTP_URL``, and records the outcome on the row in the same transaction. Without SMTP,
development and test write the emails to the log with the address masked; production keeps them queued
until SMTP is configured. Failures are retried on later passes, up to ``MAX_ATTEMPTS``.

Log lines carry notification ids, kinds and masked addresses, never a name or a whole address.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlparse

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from config.settings import Settings
from lti_app.models.base import utcnow
from lti_app.models.course import Course
from lti_app.models.notification import (
    EMAIL_FAILED,
    EMAIL_LOGGED,
    EMAIL_PENDING,
    EMAIL_SENT,
    EMAIL_SKIPPED,
    Notification,
)
from lti_app.models.person import Person
from lti_app.services.notifications import render, subject

log = logging.getLogger("tandem.mail")

MAX_ATTEMPTS = 5
SMTP_TIMEOUT = 30
Sender = Callable[[EmailMessage], None]


@dataclass
class MailRun:
    sent: int = 0
    logged: int = 0
    skipped: int = 0
    failed: int = 0
    retrying: int = 0
    held: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.logged + self.skipped + self.failed + self.retrying


def mask(address: str | None) -> str:
    """``sam@example.com`` → ``s***@example.com``: enough to tell deliveries apart, not to read them."""
    if not address or "@" not in address:
        return "-"
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


@dataclass(frozen=True)
class SmtpServer:
    """``smtp://user:pass@host:25`` (plain, STARTTLS when offered), ``smtp+starttls://`` (STARTTLS required),
    ``smtps://host:465`` (TLS from the start)."""

    host: str
    port: int
    username: str | None
    password: str | None
    security: str

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlparse(url)
        schemes = {"smtp": ("opportunistic", 25), "smtp+starttls": ("starttls", 587), "smtps": ("ssl", 465)}
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError("TANDEM_SMTP_URL must look like smtp://host:25, smtp+starttls://… or smtps://…")
        security, port = schemes[parts.scheme]
        if parse_qs(parts.query).get("starttls") == ["1"]:
            security = "starttls"
        return cls(
            host=parts.hostname,
            port=parts.port or port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            security=security,
        )


class SmtpSender:
    """One SMTP connection for a batch: ``with SmtpSender(server) as send: send(message)``."""

    def __init__(self, server: SmtpServer, timeout: float = SMTP_TIMEOUT) -> None:
        self.server, self.timeout = server, timeout
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        s = self.server
        context = ssl.create_default_context()
        if s.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            smtp.ehlo()
            if s.security == "starttls" or (s.security == "opportunistic" and smtp.has_extn("starttls")):
                smtp.starttls(context=context)
                smtp.ehlo()
        if s.username:
            smtp.login(s.username, s.password or "")
        self._smtp = smtp
        return self

    def __call__(self, message: EmailMessage) -> None:
        assert self._smtp is not None, "use SmtpSender as a context manager"
        self._smtp.send_message(message)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None


def log_sender(message: EmailMessage) -> None:
    """Development without SMTP: the email goes to the log, its address masked."""
    log.info(
        "email (not sent, no SMTP configured) to %s: %s\n%s",
        mask(str(message["To"])),
        message["Subject"],
        message.get_content(),
    )


def compose(
    notification: Notification, person: Person, course_title: str | None, settings: Settings
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = person.email or ""
    message["Subject"] = subject(notification)
    where = f" in {course_title}" if course_title else ""
    message.set_content(
        f"{render(notification)}\n\n"
        f"Open Tandem from your course{where} in your LMS to see it.\n\n"
        "You receive these emails because of your mentoring in Tandem. To stop them, open Tandem, go to "
        "Notifications and turn email off.\n"
    )
    return message


def send_pending(
    session: Session,
    settings: Settings,
    *,
    sender: Sender | None = None,
    batch: int = 50,
    now: datetime | None = None,
) -> MailRun:
    """Deliver one batch of pending emails; flushes, the caller commits. ``sender`` replaces the SMTP
    connection (tests, or another transport)."""
    now = now or utcnow()
    run = MailRun()
    query = (
        select(Notification, Person, Course.title)
        .join(Person, Person.id == Notification.person_id)
        .outerjoin(Course, Course.id == Notification.course_id)
        .where(Notification.email_status == EMAIL_PENDING)
        .order_by(Notification.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Notification, skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return run
    if sender is None and not settings.smtp_url and settings.is_production:
        log.warning("%d notification emails held: TANDEM_SMTP_URL is not set", len(rows))
        run.held = len(rows)
        return run
    delivered = EMAIL_SENT if sender is not None or settings.smtp_url else EMAIL_LOGGED
    if sender is not None:
        _deliver(rows, sender, delivered, settings, now, run)
    elif settings.smtp_url:
        try:
            with SmtpSender(SmtpServer.from_url(settings.smtp_url)) as smtp:
                _deliver(rows, smtp, delivered, settings, now, run)
        except (smtplib.SMTPException, OSError) as exc:
            # The server is unreachable or refused us: every row stays pending for the next pass.
            log.warning(
                "SMTP connection failed (%s); %d emails wait for the next pass", type(exc).__name__, len(rows)
            )
            for notification, _, _ in rows:
                if notification.email_status == EMAIL_PENDING:
                    _failed(notification, exc, run)
    else:
        _deliver(rows, log_sender, delivered, settings, now, run)
    session.flush()
    return run


def _deliver(
    rows: Sequence[Row[tuple[Notification, Person, str]]],
    send: Sender,
    delivered: str,
    settings: Settings,
    now: datetime,
    run: MailRun,
) -> None:
    for notification, person, course_title in rows:
        if not (person.email_notifications and person.email):
            notification.email_status = EMAIL_SKIPPED
            run.skipped += 1
            continue
        try:
            send(compose(notification, person, course_title, settings))
        except (smtplib.SMTPException, OSError) as exc:
            _failed(notification, exc, run)
            continue
        notification.email_status = delivered
        notification.emailed_at = now
        notification.email_attempts += 1
        if delivered == EMAIL_SENT:
            run.sent += 1
            log.info(
                "notification %s (%s) emailed to %s", notification.id, notification.kind, mask(person.email)
            )
        else:
            run.logged += 1


def _failed(notification: Notification, exc: BaseException, run: MailRun) -> None:
    notification.email_attempts += 1
    code = getattr(exc, "smtp_code", None)
    notification.email_error = f"{type(exc).__name__}{f' {code}' if code else ''}"[:200]
    if notification.email_attempts >= MAX_ATTEMPTS:
        notification.email_status = EMAIL_FAILED
        run.failed += 1
        log.warning(
            "notification %s: email given up after %d attempts (%s)",
            notification.id,
            notification.email_attempts,
            notification.email_error,
        )
    else:
        run.retrying += 1
