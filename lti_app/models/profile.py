"""A person's mentoring profile (one per person, so per registration)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin
from lti_app.models.person import Person


class Profile(TimestampMixin, Base):
    __tablename__ = "profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), unique=True)
    headline: Mapped[str] = mapped_column(String(200), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    skills: Mapped[list[Any]] = mapped_column(default=list)
    skills_wanted: Mapped[list[Any]] = mapped_column(default=list)
    interests: Mapped[list[Any]] = mapped_column(default=list)
    goals: Mapped[str] = mapped_column(Text, default="")
    languages: Mapped[list[Any]] = mapped_column(default=list)
    location: Mapped[str] = mapped_column(String(200), default="")
    department: Mapped[str] = mapped_column(String(200), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="")
    availability: Mapped[str] = mapped_column(String(500), default="")
    seniority: Mapped[int | None] = mapped_column()
    line_manager: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int | None] = mapped_column()
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    person: Mapped[Person] = relationship()
