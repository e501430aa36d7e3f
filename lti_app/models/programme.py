"""Mentoring programmes bound to a course (and placement), with the rules that govern relationships."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin, utcnow
from lti_app.models.course import Course, Placement
from lti_app.models.person import Person

RELATIONSHIP_TYPES = ("mentoring", "coaching", "sponsorship", "custom")
MODELS = ("one_to_one", "group", "peer", "reverse", "team", "flash")
REQUEST_POLICIES = ("mentee", "mentor", "either", "trainers_only")
DIARY_WRITERS = ("mentor", "mentee", "both")
MATCHING_MODES = ("self_selection", "admin_led", "both")
PROGRAMME_STATUSES = ("draft", "open", "closed", "archived")


class Programme(TimestampMixin, Base):
    __tablename__ = "programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    placement_id: Mapped[int | None] = mapped_column(ForeignKey("placement.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    relationship_type: Mapped[str] = mapped_column(String(20), default="mentoring")
    custom_type_name: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(20), default="one_to_one")
    status: Mapped[str] = mapped_column(String(20), default="open")

    # Rules
    request_policy: Mapped[str] = mapped_column(String(20), default="mentee")
    mentor_roles: Mapped[list[Any]] = mapped_column(default=lambda: ["participant", "trainer"])
    mentor_requires_opt_in: Mapped[bool] = mapped_column(default=True)
    default_capacity: Mapped[int] = mapped_column(default=3)
    requires_trainer_approval: Mapped[bool] = mapped_column(default=False)
    request_expiry_days: Mapped[int] = mapped_column(default=14)
    starts_on: Mapped[date | None] = mapped_column()
    ends_on: Mapped[date | None] = mapped_column()
    meeting_cadence_days: Mapped[int | None] = mapped_column()
    # Flash mentoring: one time-boxed conversation; the relationship completes on its own after this many days.
    flash_duration_days: Mapped[int] = mapped_column(default=14)
    diary_writers: Mapped[str] = mapped_column(String(10), default="both")
    diary_readable_by_trainers: Mapped[bool] = mapped_column(default=False)
    diary_readable_by_admins: Mapped[bool] = mapped_column(default=False)
    matching_mode: Mapped[str] = mapped_column(String(20), default="self_selection")
    completion_rule: Mapped[dict[str, Any] | None] = mapped_column()

    # Grade sync target (AGS line item), filled by deep linking or found/created by the sync worker.
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    lineitem_tag: Mapped[str] = mapped_column(String(100), default="tandem-completion")
    score_maximum: Mapped[float] = mapped_column(default=100.0)

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    course: Mapped[Course] = relationship()
    placement: Mapped[Placement | None] = relationship()

    @property
    def type_label(self) -> str:
        if self.relationship_type == "custom" and self.custom_type_name:
            return self.custom_type_name
        return self.relationship_type.capitalize()


class ProgrammeMembership(TimestampMixin, Base):
    """A person's participation in one programme: whether they offer or seek mentoring there, how many
    mentees they take there, and their answers to the programme's matching questions.

    Two capacity figures, kept apart so neither side can undo the other: ``capacity_override`` is the
    person's own choice, ``trainer_capacity`` the limit a trainer set. The smaller one applies
    (``services.capacity.effective_capacity``)."""

    __tablename__ = "programme_membership"
    __table_args__ = (UniqueConstraint("programme_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    open_to_mentor: Mapped[bool] = mapped_column(default=False)
    open_to_be_mentored: Mapped[bool] = mapped_column(default=True)
    capacity_override: Mapped[int | None] = mapped_column()  # the person's own figure
    trainer_capacity: Mapped[int | None] = mapped_column()  # a trainer's limit; the person cannot raise it
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    programme: Mapped[Programme] = relationship()
    person: Mapped[Person] = relationship()
