"""Admin-led matching: a programme's matching questionnaire, the trainer's pins and bans, and each run's
proposal (pairs with their reasons, the unmatched with theirs) until it is published or discarded.

A run keeps the criteria it used (``criteria``) and every pair's breakdown, so a proposal reads the same
even after the questionnaire changes. Answers to the programme's questions live on
``ProgrammeMembership.answers`` (question key → option key, or a list of them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lti_app.models.base import Base, TimestampMixin, utcnow
from lti_app.models.programme import Programme

# Where a criterion reads its values: a profile field (see services.matching.fields) or a programme question.
SOURCE_PROFILE = "profile"
SOURCE_QUESTION = "question"
CRITERION_SOURCES = (SOURCE_PROFILE, SOURCE_QUESTION)
# The matching engine's kinds (lti_app.matching.Kind), spelled out so the schema needs no engine import.
CRITERION_KINDS = ("similarity", "complementarity", "must", "must_not")

PROPOSED = "proposed"
PUBLISHED = "published"
DISCARDED = "discarded"
RUN_STATUSES = (PROPOSED, PUBLISHED, DISCARDED)

FIXED = "fixed"
FORBIDDEN = "forbidden"
CONSTRAINT_KINDS = (FIXED, FORBIDDEN)


class MatchingCriterion(TimestampMixin, Base):
    """One line of the questionnaire: what to compare, how (kind), and how much it counts (weight 0-10)."""

    __tablename__ = "matching_criterion"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(10))
    # A profile field key, or the key of one of the programme's questions.
    field: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    weight: Mapped[int] = mapped_column(default=5)
    # Hard constraints on numbers hold within this distance (hours for time zones, levels for seniority).
    tolerance: Mapped[float] = mapped_column(default=0.0)


class ProgrammeQuestion(TimestampMixin, Base):
    """A free choice question participants answer when they join: ``options`` is a list of
    ``{"key", "label"}``; keys never change, so renaming an option keeps everyone's answers."""

    __tablename__ = "programme_question"
    __table_args__ = (UniqueConstraint("programme_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(String(300))
    help: Mapped[str] = mapped_column(String(500), default="")
    multiple: Mapped[bool] = mapped_column(default=False)
    required: Mapped[bool] = mapped_column(default=False)
    options: Mapped[list[Any]] = mapped_column(default=list)

    def option_labels(self) -> dict[str, str]:
        return {o["key"]: o["label"] for o in self.options or ()}


class MatchingRun(Base):
    """One optimisation of a programme's pool. At most one run per programme is ``proposed`` at a time
    (a partial unique index), so two trainers running at once cannot both publish over each other."""

    __tablename__ = "matching_run"
    __table_args__ = (
        Index(
            "uq_matching_run_one_proposed",
            "programme_id",
            unique=True,
            postgresql_where=text("status = 'proposed'"),
            sqlite_where=text("status = 'proposed'"),
        ),
        Index("ix_matching_run_programme_created", "programme_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default=PROPOSED)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # min_score, solver (asked for), candidate_k, scope
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The criteria as the engine saw them (key, label, kind, weight, ...), for reading the breakdowns later.
    criteria: Mapped[list[Any]] = mapped_column(default=list)
    solver: Mapped[str] = mapped_column(String(30), default="")
    proven_optimal: Mapped[bool] = mapped_column(default=False)
    candidates_complete: Mapped[bool] = mapped_column(default=True)
    total_score: Mapped[float] = mapped_column(default=0.0)
    mentee_count: Mapped[int] = mapped_column(default=0)
    mentor_count: Mapped[int] = mapped_column(default=0)
    matched_count: Mapped[int] = mapped_column(default=0)
    unmatched_count: Mapped[int] = mapped_column(default=0)
    # loading_s, scoring_s, solving_s, total_s
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Pins the engine could not honour: [{"mentee_id", "mentor_id", "reason", "detail"}]
    conflicts: Mapped[list[Any]] = mapped_column(default=list)
    published_at: Mapped[datetime | None] = mapped_column()
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    # How the published relationships started: "active" or "pending" (waiting for acceptance).
    published_as: Mapped[str | None] = mapped_column(String(10))

    programme: Mapped[Programme] = relationship()
    pairs: Mapped[list[ProposedPair]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="ProposedPair.id"
    )
    unmatched: Mapped[list[UnmatchedMentee]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="UnmatchedMentee.id"
    )


class ProposedPair(Base):
    __tablename__ = "proposed_pair"
    __table_args__ = (UniqueConstraint("run_id", "mentee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("matching_run.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column()
    # [{"key", "label", "kind", "value", "points", "out_of"}]; the points add up to ``score``.
    breakdown: Mapped[list[Any]] = mapped_column(default=list)
    # Placed by the trainer's pin rather than chosen by the optimiser.
    pinned: Mapped[bool] = mapped_column(default=False)
    relationship_id: Mapped[int | None] = mapped_column(ForeignKey("relationship.id", ondelete="SET NULL"))

    run: Mapped[MatchingRun] = relationship(back_populates="pairs")


class UnmatchedMentee(Base):
    __tablename__ = "unmatched_mentee"
    __table_args__ = (UniqueConstraint("run_id", "mentee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("matching_run.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    # no_feasible_mentor | below_minimum | capacity_used (lti_app.matching.UnmatchedReason)
    reason: Mapped[str] = mapped_column(String(30))

    run: Mapped[MatchingRun] = relationship(back_populates="unmatched")


class PairConstraint(Base):
    """A trainer's decision about one pair, honoured by every later run: ``fixed`` (this mentee gets this
    mentor) or ``forbidden`` (never these two)."""

    __tablename__ = "pair_constraint"
    __table_args__ = (UniqueConstraint("programme_id", "mentee_id", "mentor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
