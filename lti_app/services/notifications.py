"""Telling people what happened: a notification row per person, in the same transaction as the change.

The row is both what the home page lists and the outbox the mail worker drains (``lti_app.tasks.mail``):
email is never sent inside a web request. Texts are rendered from ``kind`` and ``params`` at display time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from lti_app.errors import NotFound
from lti_app.models.base import utcnow
from lti_app.models.notification import EMAIL_PENDING, EMAIL_SKIPPED, Notification
from lti_app.models.person import Person
from lti_app.services.access import Actor

# kind → (short subject, sentence). Placeholders are filled from the notification's params.
KINDS: dict[str, tuple[str, str]] = {
    "request.asked": ("New mentoring request", "{asker} asked you to be their mentor in {programme}."),
    "request.offered": ("New mentoring offer", "{asker} offered to mentor you in {programme}."),
    "request.accepted": ("Request accepted", "{responder} accepted your request in {programme}."),
    "request.accepted_pending": (
        "Request accepted",
        "{responder} accepted your request in {programme}; a trainer still has to approve it.",
    ),
    "request.needs_approval": ("Approval needed", "A request in {programme} is waiting for your approval."),
    "request.declined": ("Request declined", "{responder} declined your request in {programme}."),
    "request.withdrawn": ("Request withdrawn", "{asker} withdrew their request in {programme}."),
    "request.expired": ("Request expired", "A request in {programme} expired without an answer."),
    "relationship.started": ("Relationship started", "Your relationship in {programme} has started."),
    "relationship.created": ("New relationship", "A trainer paired you with {others} in {programme}."),
    "relationship.proposed": (
        "New match",
        "A trainer matched you with {others} in {programme}; accept or decline the match.",
    ),
    "relationship.retracted": ("Match withdrawn", "A trainer withdrew a proposed match in {programme}."),
    "relationship.paused": ("Relationship paused", "Your relationship in {programme} was paused."),
    "relationship.resumed": ("Relationship resumed", "Your relationship in {programme} is active again."),
    "relationship.ended": ("Relationship ended", "Your relationship in {programme} was ended."),
    "relationship.completed": ("Relationship completed", "Your relationship in {programme} is completed."),
    "relationship.reassigned": (
        "Relationship changed",
        "A trainer changed the members of your relationship in {programme}.",
    ),
    "relationship.left": (
        "Relationship changed",
        "A trainer moved you out of a relationship in {programme}.",
    ),
}


class _Blank(dict[str, Any]):
    """A notification whose params lack a name still reads as a sentence."""

    def __missing__(self, key: str) -> str:
        return {"programme": "a programme", "others": "other people"}.get(key, "someone")


def render(notification: Notification) -> str:
    _, sentence = KINDS.get(notification.kind, ("", "Something changed in Tandem."))
    return sentence.format_map(_Blank(notification.params or {}))


def subject(notification: Notification) -> str:
    return "Tandem: " + KINDS.get(notification.kind, ("Notification", ""))[0]


def notify(
    session: Session,
    person_ids: Iterable[int],
    kind: str,
    *,
    course_id: int | None,
    params: Mapping[str, Any] | None = None,
    link_endpoint: str | None = None,
    link_values: Mapping[str, Any] | None = None,
) -> list[Notification]:
    """One notification per person (duplicates dropped); email queued for those who want it and have an
    address, decided now so the worker never has to look the preference up again."""
    ids = list(dict.fromkeys(int(i) for i in person_ids))
    if not ids:
        return []
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    rows = session.execute(
        select(Person.id, Person.email_notifications, Person.email).where(Person.id.in_(ids))
    )
    wants = {pid: bool(enabled and email) for pid, enabled, email in rows}
    created = [
        Notification(
            person_id=pid,
            course_id=course_id,
            kind=kind,
            params=dict(params or {}),
            link_endpoint=link_endpoint,
            link_values=dict(link_values or {}),
            email_status=EMAIL_PENDING if wants.get(pid) else EMAIL_SKIPPED,
        )
        for pid in ids
        if pid in wants
    ]
    session.add_all(created)
    session.flush()
    return created


@dataclass(frozen=True)
class Message:
    """One notification with its own words: for ``notify_each``."""

    person_id: int
    kind: str
    params: Mapping[str, Any]
    link_values: Mapping[str, Any] | None = None


def notify_each(
    session: Session,
    messages: Sequence[Message],
    *,
    course_id: int | None,
    link_endpoint: str | None = None,
) -> int:
    """Many notifications, each with its own words (one per member of many new relationships, say), in two
    statements whatever their number: everyone's email preference at once, then one batched insert (rows
    are not loaded back). Email is decided as ``notify`` decides it. Returns how many were written."""
    unknown = {m.kind for m in messages} - set(KINDS)
    if unknown:
        raise ValueError(f"unknown notification kinds {sorted(unknown)!r}")
    ids = list(dict.fromkeys(int(m.person_id) for m in messages))
    if not ids:
        return 0
    rows = session.execute(
        select(Person.id, Person.email_notifications, Person.email).where(Person.id.in_(ids))
    )
    wants = {pid: bool(enabled and email) for pid, enabled, email in rows}
    values = [
        {
            "person_id": m.person_id,
            "course_id": course_id,
            "kind": m.kind,
            "params": dict(m.params),
            "link_endpoint": link_endpoint,
            "link_values": dict(m.link_values or {}),
            "email_status": EMAIL_PENDING if wants.get(m.person_id) else EMAIL_SKIPPED,
        }
        for m in messages
        if m.person_id in wants
    ]
    if values:
        session.execute(insert(Notification), values)
    return len(values)


def for_person(
    session: Session, actor: Actor, *, limit: int = 20, unread_only: bool = False
) -> list[Notification]:
    query = select(Notification).where(Notification.person_id == actor.person_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(
        session.scalars(query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    )


def unread_count(session: Session, actor: Actor) -> int:
    return (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.person_id == actor.person_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def mark_read(
    session: Session, actor: Actor, ids: Iterable[int] | None = None, *, now: datetime | None = None
) -> int:
    """Mark the actor's own notifications read (all of them when ``ids`` is None); others' are untouched."""
    query = update(Notification).where(
        Notification.person_id == actor.person_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        wanted = [int(i) for i in ids]
        if not wanted:
            return 0
        query = query.where(Notification.id.in_(wanted))
    result = session.execute(
        query.values(read_at=now or utcnow()).execution_options(synchronize_session=False)
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def set_email_notifications(session: Session, actor: Actor, enabled: bool) -> Person:
    """Each person decides whether Tandem emails them; turning it off also drops emails still queued."""
    person = session.get(Person, actor.person_id)
    if person is None:
        raise NotFound("No such person.")
    person.email_notifications = enabled
    if not enabled:
        session.execute(
            update(Notification)
            .where(Notification.person_id == person.id, Notification.email_status == EMAIL_PENDING)
            .values(email_status=EMAIL_SKIPPED)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return person
