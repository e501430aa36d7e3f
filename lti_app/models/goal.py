"""Goals: a relationship's shared goals, and a mentee's personal goals in a programme (no relationship).

The mentee owns a goal; a mentor may only propose one, which the mentee accepts (or drops). Every change of
progress or status is kept (``GoalProgress``) so progress over time can be drawn.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin, utcnow
from lti_app.models.person import Person

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
ACHIEVED = "achieved"
DROPPED = "dropped"
GOAL_STATUSES = (NOT_STARTED, IN_PROGRESS, ACHIEVED, DROPPED)
STATUS_LABELS = {
    NOT_STARTED: "Not started", IN_PROGRESS: "In progress", ACHIEVED: "Achieved", DROPPED: "Dropped",
}

TITLE_MAX = 200


class Goal(TimestampMixin, Base):
    __tablename__ = "goal"
    __table_args__ = (
        Index("ix_goal_owner_programme", "owner_id", "programme_id"),
        CheckConstraint("progress >= 0 AND progress <= 100", name="progress_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    # None for a mentee's personal goal.
    relationship_id: Mapped[int | None] = mapped_column(
        ForeignKey("relationship.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    # Set when the owner has agreed to it (at once when the owner creates it; later for a mentor's proposal).
    accepted_at: Mapped[datetime | None] = mapped_column()
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    success_measure: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), default=NOT_STARTED)
    progress: Mapped[int] = mapped_column(default=0)
    achieved_at: Mapped[datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)

    owner: Mapped[Person] = relationship(foreign_keys=[owner_id])
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="goal", cascade="all, delete-orphan", order_by="Milestone.position",
        passive_deletes=True,
    )
    history: Mapped[list[GoalProgress]] = relationship(
        back_populates="goal", cascade="all, delete-orphan", order_by="GoalProgress.id", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_proposal(self) -> bool:
        return self.accepted_at is None

    @property
    def is_personal(self) -> bool:
        return self.relationship_id is None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


class Milestone(TimestampMixin, Base):
    __tablename__ = "goal_milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    due_on: Mapped[date | None] = mapped_column()
    done: Mapped[bool] = mapped_column(default=False)
    done_at: Mapped[datetime | None] = mapped_column()

    goal: Mapped[Goal] = relationship(back_populates="milestones")


class GoalProgress(Base):
    """One point of a goal's history: its progress and status from ``at`` until the next point."""

    __tablename__ = "goal_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goal.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    progress: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    goal: Mapped[Goal] = relationship(back_populates="history")
