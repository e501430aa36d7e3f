"""Check-ins (a member's short answer about their relationship) and pairing-fit alerts for trainers.

Answers are private to the person answering and the course's trainers: the other member never sees them,
which is what lets people say honestly that a pairing is not working.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lti_app.models.base import Base, TimestampMixin, utcnow

PAIRING_YES = "yes"
PAIRING_NOT_SURE = "not_sure"
PAIRING_NO = "no"
PAIRING_ANSWERS = (PAIRING_YES, PAIRING_NOT_SURE, PAIRING_NO)
PAIRING_LABELS = {PAIRING_YES: "Yes", PAIRING_NOT_SURE: "Not sure", PAIRING_NO: "No"}

COMMENT_MAX = 2000


class CheckIn(TimestampMixin, Base):
    """One answer per person, relationship and period: a calendar month ("month:2026-11") or a meeting
    ("meeting:<entry id>"). Answering again for the same period replaces the answer, so a double submit
    never counts as two answers in a row."""

    __tablename__ = "checkin"
    __table_args__ = (
        UniqueConstraint("relationship_id", "person_id", "period"),
        Index("ix_checkin_relationship_person_created", "relationship_id", "person_id", "created_at"),
        CheckConstraint("usefulness >= 1 AND usefulness <= 5", name="usefulness_scale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    relationship_id: Mapped[int] = mapped_column(ForeignKey("relationship.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(40))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("diary_entry.id", ondelete="SET NULL"))
    usefulness: Mapped[int] = mapped_column()
    pairing: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")


class PairingAlert(Base):
    """Raised when a member answers "no" to "Is the pairing working?" twice in a row; open until a trainer
    resolves it. At most one open alert per relationship and person."""

    __tablename__ = "pairing_alert"
    __table_args__ = (Index("ix_pairing_alert_programme_resolved", "programme_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    relationship_id: Mapped[int] = mapped_column(
        ForeignKey("relationship.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id", ondelete="SET NULL"))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
