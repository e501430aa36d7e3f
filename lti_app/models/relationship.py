"""Mentoring relationships (a request is a pending relationship), their members and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.orm import relationship as orm_relationship

from lti_app.models.base import Base, TimestampMixin, utcnow
from lti_app.models.person import Person
from lti_app.models.programme import Programme

PENDING = "pending"
ACTIVE = "active"
PAUSED = "paused"
COMPLETED = "completed"
DECLINED = "declined"
WITHDRAWN = "withdrawn"
EXPIRED = "expired"
ENDED = "ended"
RELATIONSHIP_STATUSES = (PENDING, ACTIVE, PAUSED, COMPLETED, DECLINED, WITHDRAWN, EXPIRED, ENDED)
# States that hold a mentor's capacity.
OPEN_STATUSES = (PENDING, ACTIVE, PAUSED)

MENTOR = "mentor"
MENTEE = "mentee"


class Relationship(TimestampMixin, Base):
    __tablename__ = "relationship"
    __table_args__ = (Index("ix_relationship_programme_status", "programme_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    request_message: Mapped[str] = mapped_column(Text, default="")
    needs_trainer_approval: Mapped[bool] = mapped_column(default=False)
    trainer_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    trainer_approved_at: Mapped[datetime | None] = mapped_column()
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    responded_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    # When a time-boxed (flash) relationship completes by itself.
    scheduled_end_at: Mapped[datetime | None] = mapped_column()
    close_reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20), default="request")

    programme: Mapped[Programme] = orm_relationship()
    members: Mapped[list[RelationshipMember]] = orm_relationship(
        back_populates="relationship", cascade="all, delete-orphan", order_by="RelationshipMember.id"
    )

    def person_ids(self, role: str | None = None) -> list[int]:
        return [m.person_id for m in self.members if role is None or m.role == role]


class RelationshipMember(Base):
    __tablename__ = "relationship_member"
    __table_args__ = (UniqueConstraint("relationship_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("relationship.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    relationship: Mapped[Relationship] = orm_relationship(back_populates="members")
    person: Mapped[Person] = orm_relationship()


class RelationshipEvent(Base):
    """Every state change (who, when, from, to, why): the relationship's timeline."""

    __tablename__ = "relationship_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("relationship.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
