"""Roster sync jobs: one row per sync of a course's enrolments from the LMS (NRPS), so a trainer sees its
progress and summary, a worker can pick up queued syncs, and a second click never starts a second sync.

Statuses: ``queued`` (asked for, not started) → ``running`` → ``done`` | ``failed``. A partial unique index
allows at most one queued or running sync per course, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin
from lti_app.models.course import Course

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
SYNC_STATUSES = (QUEUED, RUNNING, DONE, FAILED)
ACTIVE_STATUSES = (QUEUED, RUNNING)

# Who asked: a trainer's button, the CLI, or a worker sweeping every course.
TRAINER_TRIGGER = "trainer"
CLI_TRIGGER = "cli"

_ACTIVE = text("status IN ('queued', 'running')")


class RosterSync(TimestampMixin, Base):
    __tablename__ = "roster_sync"
    __table_args__ = (
        Index(
            "uq_roster_sync_active_course",
            "course_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_roster_sync_course_id_id", "course_id", "id"),
        Index("ix_roster_sync_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    trigger: Mapped[str] = mapped_column(String(20), default=TRAINER_TRIGGER)
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    # NRPS gives no member count up front: ``total`` starts as the course's enrolment count (an estimate
    # for the progress bar) and becomes the exact number read once the sync is done.
    total: Mapped[int | None] = mapped_column()
    processed: Mapped[int] = mapped_column(default=0)
    added: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    deactivated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    enriched: Mapped[int] = mapped_column(default=0)
    # ``error``: why a failed sync failed. ``notice``: what went wrong without failing it (e.g. Moodle web
    # services unreachable, so profiles were not enriched). Neither ever holds personal data.
    error: Mapped[str | None] = mapped_column(Text)
    notice: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    course: Mapped[Course] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
