"""Courses (LTI contexts) and placements (resource links) as launches reveal them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin
from lti_app.models.registration import Registration


class Course(TimestampMixin, Base):
    __tablename__ = "course"
    __table_args__ = (UniqueConstraint("registration_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), index=True)
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id", ondelete="SET NULL"))
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500), default="")
    label: Mapped[str] = mapped_column(String(255), default="")
    # Service endpoints from the last launch: roster sync and grade sync run outside any launch.
    memberships_url: Mapped[str | None] = mapped_column(String(1000))
    lineitems_url: Mapped[str | None] = mapped_column(String(1000))
    ags_scopes: Mapped[list[Any] | None] = mapped_column()

    registration: Mapped[Registration] = relationship()


class Placement(TimestampMixin, Base):
    """A resource link: the spot in the course where Tandem was added."""

    __tablename__ = "placement"
    __table_args__ = (UniqueConstraint("course_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500), default="")
    lineitem_url: Mapped[str | None] = mapped_column(String(1000))
    custom: Mapped[dict[str, Any] | None] = mapped_column()

    course: Mapped[Course] = relationship()
