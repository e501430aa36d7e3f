"""360 feedback: questionnaire templates (versioned), cycles, rater requests, and anonymous responses.

Anonymity is a property of the storage, not only of the pages:

* a ``FeedbackResponse`` has no link to the ``FeedbackRequest`` that produced it, no timestamp and a random
  primary key, so neither a join, nor a time, nor an id order ties an answer to a rater;
* open answers (``FeedbackComment``) are stored apart from the response, again with a random key, no time
  and no rater group, so a comment cannot be tied to a response either;
* a request records *that* its rater answered (to refuse a second answer) but not *when*; it carries no
  ``updated_at`` for the same reason.

A template version is frozen the first time a cycle uses it; a later edit creates a new version, so a
running cycle's questionnaire never changes under its raters.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin, utcnow
from lti_app.models.course import Course
from lti_app.models.person import Person

# Rater groups, in report order.
SELF = "self"
MENTOR = "mentor"
MANAGER = "manager"
PEER = "peer"
DIRECT_REPORT = "direct_report"
OTHER = "other"
RATER_GROUPS = (SELF, MENTOR, MANAGER, PEER, DIRECT_REPORT, OTHER)
GROUP_LABELS = {
    SELF: "Self",
    MENTOR: "Mentor",
    MANAGER: "Manager",
    PEER: "Peers",
    DIRECT_REPORT: "Direct reports",
    OTHER: "Other",
}

# Item kinds.
RATING = "rating"
OPEN = "open"
ITEM_KINDS = (RATING, OPEN)

# Cycle phase relative to a mentoring relationship (or programme).
BEFORE = "before"
AFTER = "after"
STANDALONE = "standalone"
PHASES = (BEFORE, AFTER, STANDALONE)

# Cycle status.
CYCLE_OPEN = "open"
CYCLE_CLOSED = "closed"
CYCLE_STATUSES = (CYCLE_OPEN, CYCLE_CLOSED)

# Nomination approval.
APPROVAL_PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
APPROVALS = (APPROVAL_PENDING, APPROVED, REJECTED)

# Request status: nominated (not yet invited) → invited → submitted | declined.
NOMINATED = "nominated"
INVITED = "invited"
SUBMITTED = "submitted"
DECLINED = "declined"
REQUEST_STATUSES = (NOMINATED, INVITED, SUBMITTED, DECLINED)

# Outbox mail kinds and states.
MAIL_INVITATION = "invitation"
MAIL_REMINDER = "reminder"
MAIL_PENDING = "pending"
MAIL_SENT = "sent"
MAIL_FAILED = "failed"
MAIL_DROPPED = "dropped"

DEFAULT_THRESHOLD = 3


def _random_id() -> str:
    return uuid.uuid4().hex


class FeedbackTemplate(TimestampMixin, Base):
    """A questionnaire a trainer maintains for a course (or the one shipped with Tandem, which has a
    ``builtin_key`` and no course). Its content lives in versions."""

    __tablename__ = "feedback_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    builtin_key: Mapped[str | None] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    archived: Mapped[bool] = mapped_column(default=False)

    course: Mapped[Course | None] = relationship()
    versions: Mapped[list[FeedbackTemplateVersion]] = relationship(
        back_populates="template", order_by="FeedbackTemplateVersion.number", cascade="all, delete-orphan"
    )

    @property
    def latest(self) -> FeedbackTemplateVersion:
        return self.versions[-1]


class FeedbackTemplateVersion(Base):
    __tablename__ = "feedback_template_version"
    __table_args__ = (UniqueConstraint("template_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_template.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    scale_min: Mapped[int] = mapped_column(default=1)
    scale_max: Mapped[int] = mapped_column(default=5)
    scale_labels: Mapped[list[Any]] = mapped_column(default=list)
    # None: every rating item must be answered on the scale; otherwise the label of the opt-out choice.
    not_observed_label: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    # Set when the first cycle uses this version: from then on it is never edited.
    frozen_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    template: Mapped[FeedbackTemplate] = relationship(back_populates="versions")
    competencies: Mapped[list[FeedbackCompetency]] = relationship(
        order_by="FeedbackCompetency.position", cascade="all, delete-orphan", back_populates="version"
    )
    items: Mapped[list[FeedbackItem]] = relationship(
        order_by="FeedbackItem.position", cascade="all, delete-orphan", back_populates="version"
    )

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None


class FeedbackCompetency(Base):
    __tablename__ = "feedback_competency"
    __table_args__ = (UniqueConstraint("version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("feedback_template_version.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    # Stable across versions, so a before/after comparison can pair competencies of two versions.
    key: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    version: Mapped[FeedbackTemplateVersion] = relationship(back_populates="competencies")


class FeedbackItem(Base):
    """A rating item (on the version's scale) or an open question; an open question may stand outside
    any competency (e.g. "What should they keep doing?")."""

    __tablename__ = "feedback_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_template_version.id", ondelete="CASCADE"), index=True
    )
    competency_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback_competency.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(10), default=RATING)
    prompt: Mapped[str] = mapped_column(Text)

    version: Mapped[FeedbackTemplateVersion] = relationship(back_populates="items")
    competency: Mapped[FeedbackCompetency | None] = relationship()


class FeedbackCycle(TimestampMixin, Base):
    """One round of 360 feedback about one person (the subject), on one frozen template version."""

    __tablename__ = "feedback_cycle"
    __table_args__ = (Index("ix_feedback_cycle_subject_phase", "subject_id", "phase", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programme.id", ondelete="SET NULL"))
    relationship_id: Mapped[int | None] = mapped_column(ForeignKey("relationship.id", ondelete="SET NULL"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    template_version_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_template_version.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    phase: Mapped[str] = mapped_column(String(12), default=STANDALONE)
    opens_at: Mapped[datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[datetime] = mapped_column()

    # Anonymity: per-group results need this many responses; comments per question need comment_threshold.
    anonymity_threshold: Mapped[int] = mapped_column(default=DEFAULT_THRESHOLD)
    comment_threshold: Mapped[int] = mapped_column(default=DEFAULT_THRESHOLD)
    allow_single_self: Mapped[bool] = mapped_column(default=True)
    allow_single_manager: Mapped[bool] = mapped_column(default=False)
    nominations_need_approval: Mapped[bool] = mapped_column(default=False)

    status: Mapped[str] = mapped_column(String(12), default=CYCLE_OPEN)
    closed_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()

    course: Mapped[Course] = relationship()
    subject: Mapped[Person] = relationship(foreign_keys=[subject_id])
    template_version: Mapped[FeedbackTemplateVersion] = relationship()
    requests: Mapped[list[FeedbackRequest]] = relationship(
        back_populates="cycle", order_by="FeedbackRequest.id", cascade="all, delete-orphan"
    )


class FeedbackRequest(Base):
    """A nomination, then an invitation, for one rater (a person of the course, or an outside email that
    answers through a single-use link whose token is stored only as a SHA-256 hash)."""

    __tablename__ = "feedback_request"
    __table_args__ = (
        UniqueConstraint("cycle_id", "rater_person_id"),
        UniqueConstraint("cycle_id", "external_email"),
        Index("ix_feedback_request_rater", "rater_person_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("feedback_cycle.id", ondelete="CASCADE"), index=True)
    rater_group: Mapped[str] = mapped_column(String(20))
    rater_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    external_email: Mapped[str | None] = mapped_column(String(320))
    external_name: Mapped[str] = mapped_column(String(200), default="")
    nominated_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    approval: Mapped[str] = mapped_column(String(10), default=APPROVED)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default=NOMINATED)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[datetime | None] = mapped_column()
    invited_at: Mapped[datetime | None] = mapped_column()
    last_reminded_at: Mapped[datetime | None] = mapped_column()
    reminder_count: Mapped[int] = mapped_column(default=0)
    # The rater's unsent answers; cleared when they submit or decline.
    draft: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cycle: Mapped[FeedbackCycle] = relationship(back_populates="requests")
    rater: Mapped[Person | None] = relationship(foreign_keys=[rater_person_id])

    @property
    def rater_label(self) -> str:
        if self.rater is not None:
            return self.rater.display_name
        return self.external_name or self.external_email or ""

    @property
    def is_external(self) -> bool:
        return self.rater_person_id is None


class FeedbackResponse(Base):
    """One submitted questionnaire: the rater's group and their ratings, nothing that says who or when.

    ``ratings`` maps item id (as text) to a score, or to null for "not observed"."""

    __tablename__ = "feedback_response"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_random_id)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("feedback_cycle.id", ondelete="CASCADE"), index=True)
    rater_group: Mapped[str] = mapped_column(String(20))
    ratings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class FeedbackComment(Base):
    """An answer to an open question, stored apart from its response and without a rater group (only
    whether it is the subject's own), so it can only ever be shown in a shuffled pool."""

    __tablename__ = "feedback_comment"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=_random_id)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("feedback_cycle.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("feedback_item.id", ondelete="CASCADE"))
    from_self: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)


class FeedbackMail(Base):
    """Outbox for invitation and reminder emails (external raters are not people of the platform, so the
    general notifications cannot reach them). A worker sends them; a web request never does."""

    __tablename__ = "feedback_mail"
    __table_args__ = (Index("ix_feedback_mail_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("feedback_request.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(10), default=MAIL_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    request: Mapped[FeedbackRequest] = relationship()
