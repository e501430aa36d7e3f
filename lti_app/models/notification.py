"""In-tool notifications, which double as the outbox for notification emails.

A row is written in the same transaction as the change it reports, so a request that rolls back never
notifies anyone, and the mail worker (``tandem mail send``) can deliver emails later without losing any.
The text is rendered from ``kind`` and ``params`` when shown, so log lines and the mail queue only ever
need ids and kinds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, utcnow
from lti_app.models.person import Person

# Email delivery states. "skipped": the person turned email off or has no address; "logged": no SMTP server
# outside production, so the message went to the log instead.
EMAIL_PENDING = "pending"
EMAIL_SENT = "sent"
EMAIL_LOGGED = "logged"
EMAIL_SKIPPED = "skipped"
EMAIL_FAILED = "failed"
EMAIL_STATUSES = (EMAIL_PENDING, EMAIL_SENT, EMAIL_LOGGED, EMAIL_SKIPPED, EMAIL_FAILED)


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        # The home page asks "my unread notifications, newest first"; the mail worker asks "pending emails".
        Index("ix_notification_person_read", "person_id", "read_at"),
        Index("ix_notification_email_status", "email_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where the notification leads: a page endpoint and its URL values (the page adds the launch token).
    link_endpoint: Mapped[str | None] = mapped_column(String(100))
    link_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    read_at: Mapped[datetime | None] = mapped_column()
    email_status: Mapped[str] = mapped_column(String(10), default=EMAIL_PENDING)
    email_attempts: Mapped[int] = mapped_column(default=0)
    emailed_at: Mapped[datetime | None] = mapped_column()
    # An exception class name or SMTP code, never the message (it may echo an address).
    email_error: Mapped[str] = mapped_column(String(200), default="")

    person: Mapped[Person] = relationship()
