"""The built-in demo LMS's own data: its signing key, its course, its people and the links trainers add.

This is the *platform* side (what Moodle would keep), deliberately separate from Tandem's ``registration``,
``course`` and ``person`` tables, which Tandem fills from launches exactly as it does for a real LMS. The
tables exist everywhere (one schema for every environment) but stay empty unless ``tandem demo`` ran, which
production refuses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin


class DemoPlatform(TimestampMixin, Base):
    """One demo LMS per issuer (``<base_url>/demo``), with the RSA key it signs id_tokens with."""

    __tablename__ = "demo_platform"

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500), unique=True)
    client_id: Mapped[str] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(String(255), default="1")
    kid: Mapped[str] = mapped_column(String(100))
    private_key_sealed: Mapped[str] = mapped_column(Text)

    courses: Mapped[list[DemoCourse]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="DemoCourse.id"
    )
    people: Mapped[list[DemoPerson]] = relationship(
        back_populates="platform", cascade="all, delete-orphan", order_by="DemoPerson.id"
    )


class DemoPerson(Base):
    """A person of the demo LMS; ``user_id`` becomes the ``sub`` of their launches, ``role`` a role-set
    name of the platform core (learner, instructor, administrator, mentor)."""

    __tablename__ = "demo_person"
    __table_args__ = (UniqueConstraint("platform_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("demo_platform.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(50))
    # What the demo page calls them ("Mentor"), which need not be their LMS role.
    label: Mapped[str] = mapped_column(String(100), default="")

    platform: Mapped[DemoPlatform] = relationship(back_populates="people")


class DemoCourse(Base):
    __tablename__ = "demo_course"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("demo_platform.id", ondelete="CASCADE"), index=True)
    context_id: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500))

    platform: Mapped[DemoPlatform] = relationship(back_populates="courses")
    links: Mapped[list[DemoLink]] = relationship(
        back_populates="course", cascade="all, delete-orphan", order_by="DemoLink.id"
    )


class DemoLink(TimestampMixin, Base):
    """A resource link in the demo course: Tandem added there by a trainer through deep linking."""

    __tablename__ = "demo_link"
    __table_args__ = (UniqueConstraint("course_id", "resource_link_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("demo_course.id", ondelete="CASCADE"), index=True)
    resource_link_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text, default="")
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)

    course: Mapped[DemoCourse] = relationship(back_populates="links")
    line_items: Mapped[list[DemoLineItem]] = relationship(back_populates="link", order_by="DemoLineItem.id")


class DemoLineItem(TimestampMixin, Base):
    """A gradebook column (AGS 2.0 §3.2): asked for in a deep linking content item, or created by the tool
    through the line items service."""

    __tablename__ = "demo_line_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("demo_course.id", ondelete="CASCADE"), index=True)
    link_id: Mapped[int | None] = mapped_column(ForeignKey("demo_link.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(500))
    score_maximum: Mapped[float] = mapped_column(Float)
    resource_id: Mapped[str] = mapped_column(String(255), default="")
    tag: Mapped[str] = mapped_column(String(255), default="")

    link: Mapped[DemoLink | None] = relationship(back_populates="line_items")
    scores: Mapped[list[DemoScore]] = relationship(
        back_populates="line_item", cascade="all, delete-orphan", order_by="DemoScore.user_id"
    )


class DemoScore(Base):
    """The latest score the tool posted for one person in one column (AGS 2.0 §3.4): what the demo's
    gradebook shows."""

    __tablename__ = "demo_score"
    __table_args__ = (UniqueConstraint("line_item_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("demo_line_item.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(255))
    score_given: Mapped[float | None] = mapped_column(Float)
    score_maximum: Mapped[float | None] = mapped_column(Float)
    activity_progress: Mapped[str] = mapped_column(String(30))
    grading_progress: Mapped[str] = mapped_column(String(30))
    comment: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column()

    line_item: Mapped[DemoLineItem] = relationship(back_populates="scores")
