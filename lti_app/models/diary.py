"""The relationship diary: meetings, notes and reflections, their edit history, action items and the goals
they touched.

An entry carries an optimistic ``version``: every save names the version it was based on, and the UPDATE
only matches that version (``version_id_col``), so two people editing at once never overwrite each other,
even when both requests pass the service's own check at the same moment.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin, utcnow
from lti_app.models.person import Person

if TYPE_CHECKING:
    from lti_app.models.goal import Goal

MEETING = "meeting"
NOTE = "note"
REFLECTION = "reflection"
ENTRY_KINDS = (MEETING, NOTE, REFLECTION)

# A private entry is its author's alone, whatever the programme's reader rules (they govern shared ones).
PRIVATE = "private"
SHARED = "shared"
VISIBILITIES = (PRIVATE, SHARED)

TITLE_MAX = 200
ACTION_TEXT_MAX = 500

diary_entry_goal = Table(
    "diary_entry_goal",
    Base.metadata,
    Column("entry_id", ForeignKey("diary_entry.id", ondelete="CASCADE"), primary_key=True),
    Column("goal_id", ForeignKey("goal.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class DiaryEntry(TimestampMixin, Base):
    __tablename__ = "diary_entry"
    __table_args__ = (
        Index("ix_diary_entry_relationship_occurred", "relationship_id", "occurred_on"),
        CheckConstraint("duration_minutes IS NULL OR duration_minutes >= 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("relationship.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=NOTE)
    visibility: Mapped[str] = mapped_column(String(10), default=SHARED)
    occurred_on: Mapped[date] = mapped_column()
    duration_minutes: Mapped[int | None] = mapped_column()
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    topics: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(default=1)
    last_edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    # The other member confirms that a meeting happened; completion rules may count confirmed meetings only.
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column()

    # Soft delete (the author may restore; nobody else can), then purge for privacy requests (admins only):
    # a purged entry keeps its row as a tombstone (ids and dates) with every word of content gone.
    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    purged_at: Mapped[datetime | None] = mapped_column()
    purged_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    author: Mapped[Person] = relationship(foreign_keys=[author_id])
    action_items: Mapped[list[ActionItem]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="ActionItem.position"
    )
    versions: Mapped[list[DiaryEntryVersion]] = relationship(
        back_populates="entry", cascade="all, delete-orphan", order_by="DiaryEntryVersion.version",
        passive_deletes=True,
    )
    goals: Mapped[list[Goal]] = relationship(secondary=diary_entry_goal, order_by="Goal.id")

    # The service sets the next version itself (so the history row can carry the same number); SQLAlchemy
    # still adds "AND version = <old>" to every UPDATE and fails a save based on a stale read.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def is_meeting(self) -> bool:
        return self.kind == MEETING

    @property
    def is_private(self) -> bool:
        return self.visibility == PRIVATE

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class DiaryEntryVersion(Base):
    """One saved state of an entry: who saved it, when, and everything it said then."""

    __tablename__ = "diary_entry_version"
    __table_args__ = (UniqueConstraint("entry_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("diary_entry.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column()
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    edited_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    visibility: Mapped[str] = mapped_column(String(10))
    occurred_on: Mapped[date] = mapped_column()
    duration_minutes: Mapped[int | None] = mapped_column()
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    topics: Mapped[list[Any]] = mapped_column(default=list)
    action_items: Mapped[list[Any]] = mapped_column(default=list)

    entry: Mapped[DiaryEntry] = relationship(back_populates="versions")
    edited_by: Mapped[Person | None] = relationship(foreign_keys=[edited_by_id])


class ActionItem(TimestampMixin, Base):
    """Something someone agreed to do. ``relationship_id`` is copied from the entry so "what is due" and
    the trainers' open-item counts are one indexed query per relationship or programme."""

    __tablename__ = "action_item"
    __table_args__ = (Index("ix_action_item_relationship_done_due", "relationship_id", "done", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("diary_entry.id", ondelete="CASCADE"), index=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("relationship.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(String(ACTION_TEXT_MAX))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    due_on: Mapped[date | None] = mapped_column()
    done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[datetime | None] = mapped_column()
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    entry: Mapped[DiaryEntry] = relationship(back_populates="action_items")
    owner: Mapped[Person | None] = relationship(foreign_keys=[owner_id])

    def is_overdue(self, today: date) -> bool:
        return not self.done and self.due_on is not None and self.due_on < today
