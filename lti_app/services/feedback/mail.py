"""Invitation and reminder emails: queued as outbox rows in the caller's transaction, sent by a worker
(``tandem feedback send-mail``), never inside a web request.

Reminders go to everyone who has not answered yet, in one action: offering a reminder per rater would tell
the sender who has answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from lti_app.errors import RuleViolation
from lti_app.models.base import utcnow
from lti_app.models.feedback import (
    APPROVED,
    CYCLE_OPEN,
    INVITED,
    MAIL_DROPPED,
    MAIL_FAILED,
    MAIL_INVITATION,
    MAIL_PENDING,
    MAIL_REMINDER,
    MAIL_SENT,
    NOMINATED,
    SELF,
    FeedbackCycle,
    FeedbackMail,
    FeedbackRequest,
)
from lti_app.models.person import Person
from lti_app.services.access import Actor
from lti_app.services.feedback.answering import anonymity_notice
from lti_app.services.feedback.cycles import load_cycle, require_manager, require_open
from lti_app.services.feedback.links import issue_link

# At most one reminder per rater in this time, however often the subject presses the button.
REMINDER_INTERVAL = timedelta(days=3)
MAX_ATTEMPTS = 5

Sender = Callable[[EmailMessage], None]


def address_of(session: Session, request: FeedbackRequest) -> str | None:
    if request.rater_person_id is not None:
        rater = session.get(Person, request.rater_person_id)
        return rater.email if rater is not None and rater.email and rater.email_notifications else None
    return request.external_email


def queue_mail(session: Session, request: FeedbackRequest, kind: str) -> FeedbackMail | None:
    """An outbox row, unless there is nobody to write to (the subject; a person without email)."""
    if request.rater_group == SELF or address_of(session, request) is None:
        return None
    mail = FeedbackMail(request=request, kind=kind, status=MAIL_PENDING)
    session.add(mail)
    return mail


def send_reminders(
    session: Session, actor: Actor, cycle_id: int, now: datetime | None = None
) -> int | None:
    """Remind every invited rater who has not answered or declined and was not reminded in the last three
    days (``REMINDER_INTERVAL``).
    Returns how many were reminded, or None while fewer people were asked than the cycle's anonymity
    threshold: then "one reminded" or "nobody to remind" would say whether they answered (the same rule
    as the progress counts, ``cycles.shown_progress``)."""
    now = now or utcnow()
    access = load_cycle(session, actor, cycle_id, now)
    require_manager(access)
    cycle = access.cycle
    require_open(cycle)
    if cycle.opens_at > now:
        raise RuleViolation("This cycle has not opened yet: there is nobody to remind.")
    waiting = session.scalars(
        select(FeedbackRequest)
        .where(
            FeedbackRequest.cycle_id == cycle.id, FeedbackRequest.status == INVITED,
            FeedbackRequest.approval == APPROVED, FeedbackRequest.rater_group != SELF,
        )
        .options(joinedload(FeedbackRequest.rater))
    ).all()
    reminded = 0
    for request in waiting:
        if request.last_reminded_at is not None and now - request.last_reminded_at < REMINDER_INTERVAL:
            continue
        request.last_reminded_at = now
        request.reminder_count += 1
        if queue_mail(session, request, MAIL_REMINDER) is not None:
            reminded += 1
    session.flush()
    asked = session.scalar(
        select(func.count(FeedbackRequest.id)).where(
            FeedbackRequest.cycle_id == cycle.id, FeedbackRequest.approval == APPROVED,
            FeedbackRequest.status != NOMINATED, FeedbackRequest.rater_group != SELF,
        )
    )
    return reminded if (asked or 0) >= cycle.anonymity_threshold else None


def due_mail_ids(session: Session, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Pending mail of open cycles that have opened (an invitation waits for its cycle's opening day)."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(FeedbackMail.id)
            .join(FeedbackRequest, FeedbackRequest.id == FeedbackMail.request_id)
            .join(FeedbackCycle, FeedbackCycle.id == FeedbackRequest.cycle_id)
            .where(FeedbackMail.status == MAIL_PENDING, FeedbackCycle.opens_at <= now)
            .order_by(FeedbackMail.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Delivery:
    status: str
    error: str = ""


def deliver(
    session: Session,
    mail_id: int,
    send: Sender,
    *,
    base_url: str,
    mail_from: str,
    now: datetime | None = None,
) -> Delivery:
    """Send one outbox row. The caller commits after each one, so a crash never sends a mail twice unknowingly
    nor loses one. Errors are recorded by class name only: messages may quote addresses."""
    now = now or utcnow()
    # Locked (skipping rows another worker holds) so two workers never send the same email.
    mail = session.scalar(
        select(FeedbackMail).where(FeedbackMail.id == mail_id).with_for_update(skip_locked=True)
    )
    if mail is None or mail.status != MAIL_PENDING:
        return Delivery(mail.status if mail else MAIL_DROPPED)
    request = mail.request
    cycle = request.cycle
    to = address_of(session, request)
    if cycle.status != CYCLE_OPEN or request.status != INVITED or to is None:
        mail.status = MAIL_DROPPED
        session.flush()
        return Delivery(MAIL_DROPPED)
    previous = (request.token_hash, request.token_expires_at)
    link = None
    if request.is_external:
        link = f"{base_url.rstrip('/')}/feedback/answer/{issue_link(session, request, now)}"
    try:
        send(compose(request, mail.kind, to, mail_from, link))
    except Exception as exc:  # noqa: BLE001 - any transport failure is retried later
        request.token_hash, request.token_expires_at = previous
        mail.attempts += 1
        mail.last_error = type(exc).__name__[:200]
        mail.status = MAIL_FAILED if mail.attempts >= MAX_ATTEMPTS else MAIL_PENDING
        session.flush()
        return Delivery(mail.status, mail.last_error)
    mail.status = MAIL_SENT
    mail.sent_at = now
    mail.attempts += 1
    session.flush()
    return Delivery(MAIL_SENT)


def compose(request: FeedbackRequest, kind: str, to: str, mail_from: str, link: str | None) -> EmailMessage:
    cycle = request.cycle
    subject_name = cycle.subject.display_name
    closes = cycle.closes_at.strftime("%d %B %Y")
    message = EmailMessage()
    message["To"] = to
    message["From"] = mail_from
    opening = "Reminder: " if kind == MAIL_REMINDER else ""
    message["Subject"] = f"{opening}{subject_name} asks for your feedback"
    if link:
        how = f"Answer here (the link works once, until {closes}):\n{link}"
    else:
        how = (
            f"Open Tandem from the course \"{cycle.course.title}\" in your learning platform and choose "
            f"\"Feedback to give\". Answers are welcome until {closes}."
        )
    message.set_content(
        f"Hello,\n\n{subject_name} is collecting 360 feedback (\"{cycle.title}\") and would value yours. "
        f"It takes about ten minutes. {anonymity_notice(request)}\n\n"
        f"{how}\n\nIf you would rather not answer, you can decline from the same page.\n"
    )
    return message


__all__ = [
    "MAIL_INVITATION", "MAIL_REMINDER", "Delivery", "deliver", "due_mail_ids", "queue_mail", "send_reminders",
]
