"""Feedback cycles: who may start, see and close them, their anonymity settings, and completion.

A report is only ever computed for a *closed* cycle, and a closed cycle never reopens: there is no
"before one more response" and "after" to compare, which is the simplest way to defeat that attack.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from lti_app.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.feedback import (
    AFTER,
    APPROVAL_PENDING,
    APPROVED,
    BEFORE,
    CYCLE_CLOSED,
    CYCLE_OPEN,
    DECLINED,
    DEFAULT_THRESHOLD,
    INVITED,
    MAIL_DROPPED,
    MAIL_PENDING,
    PHASES,
    RATER_GROUPS,
    SELF,
    STANDALONE,
    SUBMITTED,
    FeedbackCycle,
    FeedbackMail,
    FeedbackRequest,
    FeedbackResponse,
    FeedbackTemplate,
)
from lti_app.models.person import Enrolment, Person
from lti_app.models.programme import Programme
from lti_app.models.relationship import Relationship, RelationshipMember
from lti_app.services.access import Actor, is_course_trainer, load_course
from lti_app.services.events import FEEDBACK_COMPLETED, DomainEvent, publish
from lti_app.services.feedback.scoring import Policy, plan_groups
from lti_app.services.feedback.templates import (
    ensure_default_template,
    freeze,
    list_templates,
    load_template,
)
from lti_app.services.programmes import load_visible_programme

MIN_THRESHOLD = 2
MAX_THRESHOLD = 10
DEFAULT_LENGTH = timedelta(days=14)
MAX_LENGTH = timedelta(days=366)


@dataclass(frozen=True)
class CycleSettings:
    """What only trainers may change: a subject must not be able to weaken their raters' anonymity."""

    anonymity_threshold: int = DEFAULT_THRESHOLD
    comment_threshold: int = DEFAULT_THRESHOLD
    allow_single_self: bool = True
    allow_single_manager: bool = False
    nominations_need_approval: bool = False

    def problems(self) -> dict[str, str]:
        found = {}
        for name in ("anonymity_threshold", "comment_threshold"):
            if not MIN_THRESHOLD <= getattr(self, name) <= MAX_THRESHOLD:
                found[name] = f"Between {MIN_THRESHOLD} and {MAX_THRESHOLD}."
        return found


@dataclass(frozen=True)
class CycleAccess:
    cycle: FeedbackCycle
    is_subject: bool
    is_trainer: bool


@dataclass
class GroupProgress:
    """Counts only: who in particular answered is never shown, to anyone. ``answered`` and ``declined`` are
    None where they would be too few people's to show (see ``shown_progress``)."""

    asked: int = 0
    answered: int | None = 0
    declined: int | None = 0
    awaiting_approval: int = 0

    @property
    def waiting(self) -> int | None:
        if self.answered is None or self.declined is None:
            return None
        return self.asked - self.answered - self.declined

    def add(self, other: GroupProgress) -> None:
        self.asked += other.asked
        self.answered = (self.answered or 0) + (other.answered or 0)
        self.declined = (self.declined or 0) + (other.declined or 0)
        self.awaiting_approval += other.awaiting_approval

    def without_answers(self) -> GroupProgress:
        return GroupProgress(self.asked, None, None, self.awaiting_approval)


# Rows of ``CycleProgress.groups`` besides the rater groups.
POOLED = "combined"  # the groups with fewer people asked than the threshold, together
ALL_OTHERS = "all_others"  # everyone asked but the subject


@dataclass
class CycleProgress:
    """Per rater group, plus the ``POOLED`` and ``ALL_OTHERS`` rows, as ``shown_progress`` allows."""

    groups: dict[str, GroupProgress] = field(default_factory=dict)
    threshold: int = DEFAULT_THRESHOLD

    @property
    def self_done(self) -> bool:
        return (self.groups.get(SELF, GroupProgress()).answered or 0) > 0

    @property
    def others_answered(self) -> int | None:
        return self.groups.get(ALL_OTHERS, GroupProgress()).answered

    @property
    def others_asked(self) -> int:
        return self.groups.get(ALL_OTHERS, GroupProgress()).asked


def policy_of(cycle: FeedbackCycle) -> Policy:
    return Policy(
        threshold=cycle.anonymity_threshold,
        comment_threshold=cycle.comment_threshold,
        allow_single_self=cycle.allow_single_self,
        allow_single_manager=cycle.allow_single_manager,
    )


def settings_of(cycle: FeedbackCycle) -> CycleSettings:
    return CycleSettings(
        cycle.anonymity_threshold, cycle.comment_threshold, cycle.allow_single_self,
        cycle.allow_single_manager, cycle.nominations_need_approval,
    )


def load_cycle(session: Session, actor: Actor, cycle_id: int, now: datetime | None = None) -> CycleAccess:
    """The cycle, for its subject and the trainers and admins of its course; anyone else (raters included)
    is told it does not exist. A cycle past its closing date is closed on the way."""
    cycle = session.scalar(
        select(FeedbackCycle).where(FeedbackCycle.id == cycle_id).options(joinedload(FeedbackCycle.course))
    )
    if cycle is None or cycle.course.registration_id != actor.registration_id:
        raise NotFound("No such feedback cycle.")
    is_subject = cycle.subject_id == actor.person_id
    is_trainer = is_course_trainer(session, actor, cycle.course_id)
    if not (is_subject or is_trainer):
        raise NotFound("No such feedback cycle.")
    close_if_due(session, cycle, now)
    return CycleAccess(cycle, is_subject, is_trainer)


def require_manager(access: CycleAccess) -> None:
    """Subject or trainer: who may nominate, remind and close."""
    if not (access.is_subject or access.is_trainer):
        raise PermissionDenied("Only the person receiving feedback or a trainer can do that.")


def require_open(cycle: FeedbackCycle) -> None:
    if cycle.status != CYCLE_OPEN:
        raise Conflict("This feedback cycle is closed.")


def _resolve_context(
    session: Session,
    actor: Actor,
    course_id: int,
    subject_id: int,
    relationship_id: int | None,
    programme_id: int | None,
) -> tuple[int | None, int | None]:
    if relationship_id is not None:
        relationship = session.get(Relationship, relationship_id)
        programme = session.get(Programme, relationship.programme_id) if relationship else None
        member = session.scalar(
            select(RelationshipMember.id).where(
                RelationshipMember.relationship_id == relationship_id,
                RelationshipMember.person_id == subject_id,
            )
        )
        if programme is None or programme.course_id != course_id or member is None:
            raise NotFound("No such relationship.")
        return relationship_id, programme.id
    if programme_id is not None:
        # A draft is missing to everyone but the course's trainers, here as on every other page.
        found = load_visible_programme(session, actor, programme_id)
        if found.course_id != course_id:
            raise NotFound("No such programme.")
    return None, programme_id


def create_cycle(
    session: Session,
    actor: Actor,
    *,
    course_id: int,
    title: str = "",
    subject_id: int | None = None,
    template_id: int | None = None,
    phase: str = STANDALONE,
    relationship_id: int | None = None,
    programme_id: int | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    settings: CycleSettings | None = None,
    now: datetime | None = None,
) -> FeedbackCycle:
    now = now or utcnow()
    load_course(session, actor, course_id)
    trainer = is_course_trainer(session, actor, course_id)
    subject_id = subject_id or actor.person_id
    if subject_id != actor.person_id:
        if not trainer:
            raise PermissionDenied("Only trainers can start a feedback cycle for someone else.")
        _require_enrolled(session, course_id, subject_id)
    settings = settings or CycleSettings()
    if settings != CycleSettings() and not trainer:
        raise PermissionDenied("Only trainers can change the anonymity settings of a cycle.")
    problems = settings.problems()
    if phase not in PHASES:
        problems["phase"] = "Before, after or standalone."
    opens_at = opens_at or now
    closes_at = closes_at or opens_at + DEFAULT_LENGTH
    if closes_at <= opens_at or closes_at <= now:
        problems["closes_at"] = "The closing date must be after the opening date and in the future."
    elif closes_at - opens_at > MAX_LENGTH:
        problems["closes_at"] = "A cycle lasts at most a year."
    if problems:
        raise ValidationFailed("The feedback cycle is not valid.", details=problems)
    relationship_id, programme_id = _resolve_context(
        session, actor, course_id, subject_id, relationship_id, programme_id
    )
    if phase in (BEFORE, AFTER) and programme_id is None:
        raise ValidationFailed(
            "A before or after cycle belongs to a relationship or a programme.",
            details={"phase": "Choose the relationship (or programme) it measures."},
        )
    _refuse_duplicate(session, subject_id, phase, programme_id, relationship_id)
    if template_id:
        template = load_template(session, actor, template_id, course_id)
    else:
        template = ensure_default_template(session)
    if template.archived:
        raise NotFound("No such feedback template.")
    version = template.latest
    freeze(version, now)
    cycle = FeedbackCycle(
        course_id=course_id, subject_id=subject_id, created_by_id=actor.person_id,
        template_version_id=version.id, title=(title or "").strip()[:200] or version.title,
        phase=phase, relationship_id=relationship_id, programme_id=programme_id,
        opens_at=opens_at, closes_at=closes_at, status=CYCLE_OPEN,
        anonymity_threshold=settings.anonymity_threshold, comment_threshold=settings.comment_threshold,
        allow_single_self=settings.allow_single_self, allow_single_manager=settings.allow_single_manager,
        nominations_need_approval=settings.nominations_need_approval,
    )
    session.add(cycle)
    cycle.requests.append(
        FeedbackRequest(
            rater_group=SELF, rater_person_id=subject_id, nominated_by_id=actor.person_id,
            approval=APPROVED, status=INVITED, invited_at=now,
        )
    )
    session.flush()
    return cycle


def _require_enrolled(session: Session, course_id: int, person_id: int) -> None:
    found = session.scalar(
        select(Enrolment.id).where(
            Enrolment.course_id == course_id, Enrolment.person_id == person_id, Enrolment.status == "active"
        )
    )
    if found is None:
        raise NotFound("That person is not in this course.")


def _refuse_duplicate(
    session: Session, subject_id: int, phase: str, programme_id: int | None, relationship_id: int | None
) -> None:
    """One open cycle at a time per person, phase and programme (or relationship). Two cycles running side
    by side with nearly the same raters would let their difference point at the one rater who is not in
    both."""
    query = select(FeedbackCycle.id).where(
        FeedbackCycle.subject_id == subject_id,
        FeedbackCycle.phase == phase,
        FeedbackCycle.status == CYCLE_OPEN,
    )
    if programme_id is None:
        query = query.where(FeedbackCycle.programme_id.is_(None))
    else:
        query = query.where(FeedbackCycle.programme_id == programme_id)
    if relationship_id is not None:
        query = query.where(FeedbackCycle.relationship_id == relationship_id)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict("A cycle of this kind is already running for this person; close it first.")


def require_trainer_here(session: Session, actor: Actor, course_id: int) -> None:
    load_course(session, actor, course_id)
    if not is_course_trainer(session, actor, course_id):
        raise PermissionDenied("Only trainers of this course can do that.")


@dataclass(frozen=True)
class StartOptions:
    """What the "start a cycle" form offers: templates, what the cycle can measure, and (for trainers) whom
    it can be about."""

    templates: list[FeedbackTemplate]
    contexts: list[tuple[str, str]]
    people: list[Person]
    is_trainer: bool


def start_options(session: Session, actor: Actor, course_id: int) -> StartOptions:
    found = list_templates(session, actor, course_id)
    trainer = is_course_trainer(session, actor, course_id)
    hidden = ("archived",) if trainer else ("archived", "draft")
    programmes = session.scalars(
        select(Programme)
        .where(Programme.course_id == course_id, Programme.status.not_in(hidden))
        .order_by(Programme.title, Programme.id)
        .limit(200)
    ).all()
    contexts = [(f"programme:{p.id}", f"Programme: {p.title}") for p in programmes]
    query = (
        select(Relationship)
        .join(Programme, Programme.id == Relationship.programme_id)
        .where(Programme.course_id == course_id)
        .options(
            selectinload(Relationship.members).joinedload(RelationshipMember.person),
            joinedload(Relationship.programme),
        )
        .order_by(Relationship.id.desc())
        .limit(500)
    )
    if not trainer:
        mine = select(RelationshipMember.relationship_id).where(
            RelationshipMember.person_id == actor.person_id
        )
        query = query.where(Relationship.id.in_(mine))
    for rel in session.scalars(query):
        names = [m.person.display_name for m in rel.members if trainer or m.person_id != actor.person_id]
        contexts.append((f"relationship:{rel.id}", f"{rel.programme.title}: with {', '.join(names)}"))
    people: list[Person] = []
    if trainer:
        people = list(
            session.scalars(
                select(Person)
                .join(Enrolment, Enrolment.person_id == Person.id)
                .where(Enrolment.course_id == course_id, Enrolment.status == "active")
                .order_by(Person.family_name, Person.given_name, Person.id)
                .limit(1000)
            )
        )
    return StartOptions(found, contexts, people, trainer)


def list_cycles(session: Session, actor: Actor, course_id: int, limit: int = 200) -> list[FeedbackCycle]:
    """Trainers see every cycle of the course; everyone else their own."""
    load_course(session, actor, course_id)
    query = (
        select(FeedbackCycle)
        .where(FeedbackCycle.course_id == course_id)
        .options(joinedload(FeedbackCycle.subject))
        .order_by(FeedbackCycle.created_at.desc(), FeedbackCycle.id.desc())
        .limit(limit)
    )
    if not is_course_trainer(session, actor, course_id):
        query = query.where(FeedbackCycle.subject_id == actor.person_id)
    return list(session.scalars(query))


def progress(session: Session, cycle_ids: list[int]) -> dict[int, CycleProgress]:
    """Per cycle: how many were asked, answered, declined, as ``shown_progress`` allows (one query for any
    number of cycles)."""
    counted: dict[int, dict[str, GroupProgress]] = defaultdict(dict)
    thresholds: dict[int, int] = {}
    if not cycle_ids:
        return defaultdict(CycleProgress)
    rows = session.execute(
        select(
            FeedbackRequest.cycle_id, FeedbackCycle.anonymity_threshold, FeedbackRequest.rater_group,
            FeedbackRequest.approval, FeedbackRequest.status, func.count(),
        )
        .join(FeedbackCycle, FeedbackCycle.id == FeedbackRequest.cycle_id)
        .where(FeedbackRequest.cycle_id.in_(cycle_ids))
        .group_by(
            FeedbackRequest.cycle_id, FeedbackCycle.anonymity_threshold, FeedbackRequest.rater_group,
            FeedbackRequest.approval, FeedbackRequest.status,
        )
    )
    for cycle_id, threshold, group, approval, status, count in rows:
        thresholds[cycle_id] = threshold
        entry = counted[cycle_id].setdefault(group, GroupProgress())
        if approval == APPROVAL_PENDING:
            entry.awaiting_approval += count
        elif approval == APPROVED and status != "nominated":
            entry.asked += count
            entry.answered = (entry.answered or 0) + (count if status == SUBMITTED else 0)
            entry.declined = (entry.declined or 0) + (count if status == DECLINED else 0)
    found: dict[int, CycleProgress] = defaultdict(CycleProgress)
    for cycle_id, groups in counted.items():
        found[cycle_id] = shown_progress(groups, thresholds[cycle_id])
    return found


def shown_progress(counts: Mapping[str, GroupProgress], threshold: int) -> CycleProgress:
    """What may be shown of a running cycle's progress, to its subject and trainers alike.

    The subject chooses each rater's group, so with one person in a group "answered in this group" is
    "answered, this person". Hence, as in the report, but over the people *asked*:

    * a group with at least ``threshold`` people asked shows its answered and declined counts;
    * the groups with fewer are pooled (``POOLED``), whose counts show when the pool reaches the threshold;
    * when the pool does not, no group shows its counts (all others minus the shown groups would give the
      pool away): only the total of everyone asked (``ALL_OTHERS``) does;
    * when fewer than ``threshold`` people were asked in all, no answered or declined count shows at all.

    How many were asked in each group, and how many nominations await approval, are always shown: the list
    of people asked says as much.
    """
    groups: dict[str, GroupProgress] = {}
    pooled, total = GroupProgress(), GroupProgress()
    pooled_groups = []
    for group in RATER_GROUPS:
        entry = counts.get(group)
        if entry is None:
            continue
        if group == SELF:
            groups[SELF] = replace(entry)  # the subject's own answer, no secret to them or their trainers
            continue
        total.add(entry)
        if entry.asked < threshold:
            pooled.add(entry)
            pooled_groups.append(group)
        groups[group] = replace(entry)
    pool_shown = pooled.asked == 0 or pooled.asked >= threshold
    for group, entry in groups.items():
        if group != SELF and (group in pooled_groups or not pool_shown):
            groups[group] = entry.without_answers()
    if pooled_groups:
        groups[POOLED] = pooled if pool_shown else pooled.without_answers()
    if len(groups) > (SELF in groups):  # anyone besides the subject nominated
        groups[ALL_OTHERS] = total if total.asked >= threshold else total.without_answers()
    return CycleProgress(groups, threshold)


def update_cycle(
    session: Session,
    actor: Actor,
    cycle_id: int,
    *,
    settings: CycleSettings | None = None,
    setting_changes: Mapping[str, Any] | None = None,
    closes_at: datetime | None = None,
    now: datetime | None = None,
) -> FeedbackCycle:
    """Change the closing date (subject or trainer) or the anonymity settings (trainers). Once anyone has
    answered, anonymity can only get stronger: a lower threshold would expose answers given under a
    promise of a higher one."""
    now = now or utcnow()
    access = load_cycle(session, actor, cycle_id, now)
    require_manager(access)
    cycle = access.cycle
    require_open(cycle)
    if closes_at is not None:
        if closes_at <= now or closes_at <= cycle.opens_at or closes_at - cycle.opens_at > MAX_LENGTH:
            raise ValidationFailed(
                "The closing date is not valid.",
                details={"closes_at": "After the opening date, in the future, within a year."},
            )
        cycle.closes_at = closes_at
    if setting_changes:
        settings = replace(settings or settings_of(cycle), **setting_changes)
    if settings is not None and settings != settings_of(cycle):
        if not access.is_trainer:
            raise PermissionDenied("Only trainers can change the anonymity settings of a cycle.")
        problems = settings.problems()
        if problems:
            raise ValidationFailed("The anonymity settings are not valid.", details=problems)
        if _has_responses(session, cycle.id) and _weaker(settings, settings_of(cycle)):
            raise RuleViolation(
                "People have already answered under the current anonymity settings; they can be made "
                "stricter, never weaker."
            )
        cycle.anonymity_threshold = settings.anonymity_threshold
        cycle.comment_threshold = settings.comment_threshold
        cycle.allow_single_self = settings.allow_single_self
        cycle.allow_single_manager = settings.allow_single_manager
        cycle.nominations_need_approval = settings.nominations_need_approval
    session.flush()
    return cycle


def _weaker(new: CycleSettings, old: CycleSettings) -> bool:
    return (
        new.anonymity_threshold < old.anonymity_threshold
        or new.comment_threshold < old.comment_threshold
        or (new.allow_single_manager and not old.allow_single_manager)
        or (new.allow_single_self and not old.allow_single_self)
    )


def _has_responses(session: Session, cycle_id: int) -> bool:
    query = select(FeedbackResponse.id).where(FeedbackResponse.cycle_id == cycle_id).limit(1)
    return session.scalar(query) is not None


def response_counts(session: Session, cycle_id: int) -> Counter[str]:
    rows = session.execute(
        select(FeedbackResponse.rater_group, func.count())
        .where(FeedbackResponse.cycle_id == cycle_id)
        .group_by(FeedbackResponse.rater_group)
    )
    return Counter({group: count for group, count in rows})


def close_cycle(session: Session, actor: Actor, cycle_id: int, now: datetime | None = None) -> FeedbackCycle:
    access = load_cycle(session, actor, cycle_id, now)
    require_manager(access)
    require_open(access.cycle)
    _close(session, access.cycle, now or utcnow())
    return access.cycle


def close_if_due(session: Session, cycle: FeedbackCycle, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if cycle.status == CYCLE_OPEN and cycle.closes_at <= now:
        _close(session, cycle, now)
        return True
    return False


def close_due_cycles(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    now = now or utcnow()
    due = session.scalars(
        select(FeedbackCycle)
        .where(FeedbackCycle.status == CYCLE_OPEN, FeedbackCycle.closes_at <= now)
        .order_by(FeedbackCycle.id)
        .limit(limit)
    ).all()
    for cycle in due:
        _close(session, cycle, now)
    return len(due)


def _close(session: Session, cycle: FeedbackCycle, now: datetime) -> None:
    """Close for good: links stop working, unsent mail is dropped, and the cycle counts as completed when
    its report shows the subject's own view next to at least one view of others."""
    cycle.status = CYCLE_CLOSED
    cycle.closed_at = now
    session.execute(
        update(FeedbackRequest)
        .where(FeedbackRequest.cycle_id == cycle.id)
        .values(token_hash=None, token_expires_at=None)
    )
    pending_requests = select(FeedbackRequest.id).where(FeedbackRequest.cycle_id == cycle.id)
    session.execute(
        update(FeedbackMail)
        .where(FeedbackMail.request_id.in_(pending_requests), FeedbackMail.status == MAIL_PENDING)
        .values(status=MAIL_DROPPED)
    )
    counts = response_counts(session, cycle.id)
    plan = plan_groups(counts, policy_of(cycle))
    if counts.get(SELF, 0) > 0 and plan.others_responses > 0:
        cycle.completed_at = now
        session.flush()
        publish(
            session,
            DomainEvent(
                FEEDBACK_COMPLETED, programme_id=cycle.programme_id, relationship_id=cycle.relationship_id,
                person_ids=(cycle.subject_id,),
            ),
        )
    session.flush()


def after_cycle_completed(
    session: Session, person_id: int, relationship_id: int | None = None, programme_id: int | None = None
) -> bool:
    """For completion rules such as "after-relationship 360 completed"."""
    query = select(FeedbackCycle.id).where(
        FeedbackCycle.subject_id == person_id,
        FeedbackCycle.phase == AFTER,
        FeedbackCycle.completed_at.is_not(None),
    )
    if relationship_id is not None:
        query = query.where(FeedbackCycle.relationship_id == relationship_id)
    if programme_id is not None:
        query = query.where(FeedbackCycle.programme_id == programme_id)
    return session.scalar(query.limit(1)) is not None
