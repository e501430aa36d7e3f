"""Completion of a programme's rule per person, and the outbox that carries it to the LMS gradebook.

``Completion`` is Tandem's own record: where a person stands against the rule, and the *state* the LMS must
end up holding (a version and the time it last changed). ``SyncJob`` rows are the outbox: one row is
written in the same transaction as every reportable state change, and the sync worker drains them. A job
carries the whole score it sends (values and timestamp), so a replay after a crash sends exactly the same
score, which AGS makes harmless.

At most one *live* (unsent: pending or failed) job exists per programme and person, enforced by a partial
unique index; a newer state supersedes the older unsent one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from lti_app.models.base import Base, TimestampMixin, utcnow


class SyncStatus(StrEnum):
    """Where a job is. ``sending`` holds a lease (``claimed_by``/``claimed_until``); a lease that runs out
    (the worker died) makes the job due again."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPERSEDED = "superseded"


SYNC_STATUSES = tuple(s.value for s in SyncStatus)
# Unsent and waiting: at most one per (programme, person).
LIVE_STATUSES = (SyncStatus.PENDING.value, SyncStatus.FAILED.value)
_LIVE_SQL = text("status IN ('pending', 'failed')")


class Completion(TimestampMixin, Base):
    __tablename__ = "completion"
    __table_args__ = (UniqueConstraint("programme_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # The relationship progress is measured on (the person's best one) and their role in it.
    relationship_id: Mapped[int | None] = mapped_column(ForeignKey("relationship.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(10), default="")
    met: Mapped[bool] = mapped_column(default=False)
    conditions_met: Mapped[int] = mapped_column(default=0)
    conditions_total: Mapped[int] = mapped_column(default=0)
    # One entry per condition: {"kind", "met", "value", "target", "label"}; no personal data.
    progress: Mapped[list[Any]] = mapped_column(default=list)
    summary: Mapped[str] = mapped_column(String(500), default="")
    # The score the LMS should hold: AGS activityProgress/gradingProgress and scoreGiven.
    activity_progress: Mapped[str] = mapped_column(String(20), default="Initialized")
    grading_progress: Mapped[str] = mapped_column(String(20), default="NotReady")
    score_given: Mapped[float | None] = mapped_column(Float)
    # Bumped whenever that score changes; ``changed_at`` is its AGS timestamp.
    version: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # True once a score was queued for the LMS: from then on every change must reach it, so a completion
    # that is no longer met is withdrawn there too.
    reported: Mapped[bool] = mapped_column(default=False)


class SyncJob(TimestampMixin, Base):
    """One score to deliver: the outbox row."""

    __tablename__ = "sync_job"
    __table_args__ = (
        Index(
            "uq_sync_job_live",
            "programme_id",
            "person_id",
            unique=True,
            postgresql_where=_LIVE_SQL,
            sqlite_where=_LIVE_SQL,
        ),
        Index("ix_sync_job_due", "status", "next_attempt_at"),
        Index("ix_sync_job_programme_person", "programme_id", "person_id"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'superseded')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completion.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=SyncStatus.PENDING.value)
    # Why it was queued: "change" (the rule's state changed), "resend" (a trainer asked).
    reason: Mapped[str] = mapped_column(String(12), default="change")

    # The score, frozen when queued.
    state_version: Mapped[int] = mapped_column()
    state_at: Mapped[datetime] = mapped_column()
    activity_progress: Mapped[str] = mapped_column(String(20))
    grading_progress: Mapped[str] = mapped_column(String(20))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float] = mapped_column(Float)

    # Delivery.
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_http_status: Mapped[int | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
