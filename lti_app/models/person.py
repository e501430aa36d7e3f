"""People (an LTI ``sub`` on one registration) and their enrolments in courses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin, utcnow
from lti_app.models.course import Course
from lti_app.models.registration import Registration

# Tandem roles (the LTI roles they come from are mapped in lti_app.lti.roles).
PARTICIPANT = "participant"
TRAINER = "trainer"
ADMIN = "admin"
LMS_MENTOR = "mentor"
TANDEM_ROLES = (PARTICIPANT, TRAINER, ADMIN, LMS_MENTOR)


class Person(TimestampMixin, Base):
    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("registration_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), index=True)
    sub: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(300), default="")
    given_name: Mapped[str] = mapped_column(String(200), default="")
    family_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    picture: Mapped[str | None] = mapped_column(String(1000))
    locale: Mapped[str | None] = mapped_column(String(35))
    lis_person_sourcedid: Mapped[str | None] = mapped_column(String(255))
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    email_notifications: Mapped[bool] = mapped_column(default=True)
    last_launch_at: Mapped[datetime | None] = mapped_column()

    registration: Mapped[Registration] = relationship()

    @property
    def display_name(self) -> str:
        return self.name or " ".join(p for p in (self.given_name, self.family_name) if p) or f"User {self.sub}"


class Enrolment(TimestampMixin, Base):
    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("course_id", "person_id"),
        Index("ix_enrolment_person_course", "person_id", "course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    roles: Mapped[list[Any]] = mapped_column(default=list)
    lti_roles: Mapped[list[Any]] = mapped_column(default=list)
    # LTI role_scope_mentor: the subs this person mentors in the LMS (e.g. a parent or line manager role).
    mentor_of_subs: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="active")
    source: Mapped[str] = mapped_column(String(20), default="launch")
    last_synced_at: Mapped[datetime | None] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship()
    person: Mapped[Person] = relationship()

    def has_role(self, role: str) -> bool:
        return role in (self.roles or [])
