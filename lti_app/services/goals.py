"""Goals of a relationship and personal goals of a mentee, with milestones and a kept progress history.

Ownership: the mentee owns a goal. A mentee's new goal is agreed at once; a mentor's is a *proposal*
until its owner accepts it, and only its proposer may reword it meanwhile. After that only the owner changes
it. Who may see: a relationship's goals, everyone who may open the relationship (members, trainers of the
course, admins of the platform); a personal goal, its owner and the course's trainers and admins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from lti_app.errors import NotFound, PermissionDenied, RuleViolation, StaleVersion, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.goal import (
    ACHIEVED,
    DROPPED,
    GOAL_STATUSES,
    IN_PROGRESS,
    NOT_STARTED,
    TITLE_MAX,
    Goal,
    GoalProgress,
    Milestone,
)
from lti_app.models.person import LMS_MENTOR, PARTICIPANT
from lti_app.models.programme import Programme
from lti_app.models.relationship import ACTIVE, MENTEE, PAUSED, Relationship
from lti_app.services import events
from lti_app.services.access import Actor, course_roles, is_course_trainer, load_programme, load_relationship
from lti_app.services.diary import find

TEXT_MAX = 5_000
MAX_MILESTONES = 30


@dataclass(frozen=True)
class MilestoneInput:
    title: str
    due_on: date | None = None
    done: bool = False
    id: int | None = None  # an existing milestone being edited; None for a new one


@dataclass(frozen=True)
class GoalInput:
    title: str
    description: str = ""
    success_measure: str = ""
    due_on: date | None = None
    owner_id: int | None = None  # a mentor proposing in a group relationship names the mentee
    milestones: Sequence[MilestoneInput] | None = None  # None keeps the milestones as they are


@dataclass(frozen=True)
class GoalAccess:
    goal_relationship: Relationship | None
    programme_id: int
    person_ids: tuple[int, ...]
    may_edit: bool
    may_track: bool  # record progress, tick milestones, accept: the owner only


def _load_goal(session: Session, actor: Actor, goal_id: int) -> tuple[Goal, GoalAccess]:
    goal = find(session, Goal, goal_id)
    if goal is None:
        raise NotFound("No such goal.")
    is_owner = goal.owner_id == actor.person_id
    if goal.relationship_id is not None:
        relationship = load_relationship(session, actor, goal.relationship_id)
        person_ids = tuple(relationship.person_ids())
    else:
        relationship = None
        programme = load_programme(session, actor, goal.programme_id)
        if not is_owner and not is_course_trainer(session, actor, programme.course_id):
            raise NotFound("No such goal.")
        person_ids = (goal.owner_id,)
    proposer_editing = goal.is_proposal and goal.proposed_by_id == actor.person_id
    access = GoalAccess(
        goal_relationship=relationship, programme_id=goal.programme_id, person_ids=person_ids,
        may_edit=is_owner or proposer_editing, may_track=is_owner,
    )
    return goal, access


def _require_open(access: GoalAccess) -> None:
    rel = access.goal_relationship
    if rel is not None and rel.status not in (ACTIVE, PAUSED):
        raise RuleViolation("This relationship is closed: its goals can be read but no longer changed.")


def _goal_query() -> Select[tuple[Goal]]:
    return (
        select(Goal)
        .options(selectinload(Goal.milestones), selectinload(Goal.history), selectinload(Goal.owner))
        .order_by(Goal.id)
    )


def list_goals(session: Session, actor: Actor, relationship_id: int) -> list[Goal]:
    load_relationship(session, actor, relationship_id)
    return list(session.scalars(_goal_query().where(Goal.relationship_id == relationship_id).limit(200)))


def personal_goals(
    session: Session, actor: Actor, programme_id: int, owner_id: int | None = None
) -> list[Goal]:
    """A person's personal goals in a programme: your own, or (trainers and admins) anyone's."""
    owner_id = owner_id or actor.person_id
    programme = load_programme(session, actor, programme_id)
    if owner_id != actor.person_id and not is_course_trainer(session, actor, programme.course_id):
        raise NotFound("No such person in this programme.")
    return list(
        session.scalars(
            _goal_query()
            .where(Goal.programme_id == programme_id, Goal.owner_id == owner_id)
            .where(Goal.relationship_id.is_(None))
            .limit(200)
        )
    )


def get_goal(session: Session, actor: Actor, goal_id: int) -> Goal:
    return _load_goal(session, actor, goal_id)[0]


def _validated(data: GoalInput) -> dict[str, object]:
    errors: dict[str, list[str]] = {}
    title = (data.title or "").strip()
    if not title:
        errors["title"] = ["Give the goal a title."]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"At most {TITLE_MAX} characters."]
    for name in ("description", "success_measure"):
        if len(getattr(data, name) or "") > TEXT_MAX:
            errors[name] = [f"At most {TEXT_MAX} characters."]
    milestones = list(data.milestones or ())
    problems = []
    for n, milestone in enumerate(milestones, start=1):
        if not milestone.title.strip():
            problems.append(f"Milestone {n}: give it a title.")
        elif len(milestone.title.strip()) > TITLE_MAX:
            problems.append(f"Milestone {n}: at most {TITLE_MAX} characters.")
    if len(milestones) > MAX_MILESTONES:
        problems.append(f"At most {MAX_MILESTONES} milestones.")
    if problems:
        errors["milestones"] = problems
    if errors:
        raise ValidationFailed("Some fields are missing or invalid.", details=errors)
    return {
        "title": title, "description": data.description or "", "success_measure": data.success_measure or "",
        "due_on": data.due_on,
    }


def _apply_milestones(goal: Goal, milestones: Sequence[MilestoneInput]) -> None:
    existing = {m.id: m for m in goal.milestones}
    kept = []
    for position, data in enumerate(milestones):
        milestone = existing.get(data.id) if data.id is not None else None
        milestone = milestone or Milestone()
        was_done = milestone.done
        milestone.position, milestone.title, milestone.due_on = position, data.title.strip(), data.due_on
        milestone.done = bool(data.done)
        milestone.done_at = (milestone.done_at if was_done else utcnow()) if milestone.done else None
        kept.append(milestone)
    goal.milestones = kept


def _publish(session: Session, goal: Goal, access: GoalAccess) -> None:
    events.publish(
        session,
        events.DomainEvent(
            events.GOAL_CHANGED, programme_id=goal.programme_id, relationship_id=goal.relationship_id,
            person_ids=access.person_ids,
        ),
    )


def _owner_for(relationship: Relationship, actor: Actor, member_role: str, owner_id: int | None) -> int:
    mentees = relationship.person_ids(MENTEE)
    if member_role == MENTEE:
        if owner_id not in (None, actor.person_id):
            raise PermissionDenied("You set goals for yourself; the other mentees set their own.")
        return actor.person_id
    if owner_id is None and len(mentees) == 1:
        return mentees[0]
    if owner_id not in mentees:
        raise ValidationFailed(
            "Say which mentee the goal is for.",
            details={"owner_id": ["Choose a mentee of this relationship."]},
        )
    return int(owner_id)


def create_goal(
    session: Session, actor: Actor, data: GoalInput, *, relationship_id: int | None = None,
    programme_id: int | None = None,
) -> Goal:
    """A relationship goal (``relationship_id``) or a personal goal of the actor (``programme_id``)."""
    fields = _validated(data)
    now = utcnow()
    if relationship_id is not None:
        relationship = load_relationship(session, actor, relationship_id)
        role = next((m.role for m in relationship.members if m.person_id == actor.person_id), None)
        if role is None:
            raise PermissionDenied("Only the people in this relationship set its goals.")
        members = tuple(relationship.person_ids())
        access = GoalAccess(relationship, relationship.programme_id, members, True, True)
        _require_open(access)
        owner_id = _owner_for(relationship, actor, role, data.owner_id)
        programme = session.get(Programme, relationship.programme_id)
    elif programme_id is not None:
        programme = load_programme(session, actor, programme_id)
        if not course_roles(session, actor, programme.course_id) & {PARTICIPANT, LMS_MENTOR}:
            raise PermissionDenied("Personal goals are for the programme's participants.")
        owner_id, access = actor.person_id, GoalAccess(None, programme_id, (actor.person_id,), True, True)
    else:
        raise ValidationFailed("A goal belongs to a relationship or a programme.")
    assert programme is not None
    goal = Goal(
        programme_id=programme.id, course_id=programme.course_id, relationship_id=relationship_id,
        owner_id=owner_id, proposed_by_id=actor.person_id,
        accepted_at=now if owner_id == actor.person_id else None, status=NOT_STARTED, progress=0, **fields,
    )
    _apply_milestones(goal, data.milestones or ())
    goal.history = [GoalProgress(at=now, progress=0, status=NOT_STARTED, recorded_by_id=actor.person_id)]
    session.add(goal)
    session.flush()
    _publish(session, goal, access)
    return goal


def update_goal(
    session: Session, actor: Actor, goal_id: int, data: GoalInput, based_on_version: int | None = None
) -> Goal:
    goal, access = _load_goal(session, actor, goal_id)
    if not access.may_edit:
        raise PermissionDenied("Only the goal's owner changes it (and its proposer, until it is accepted).")
    _require_open(access)
    if based_on_version is not None and based_on_version != goal.version:
        raise StaleVersion(
            "Someone changed this goal after you opened it. Nothing was overwritten: reload and try again.",
            details={"current_version": goal.version, "your_version": based_on_version},
        )
    for name, value in _validated(data).items():
        setattr(goal, name, value)
    if data.milestones is not None:
        _apply_milestones(goal, data.milestones)
    _flush(session, based_on_version or goal.version)
    _publish(session, goal, access)
    return goal


def _flush(session: Session, based_on_version: int) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            "Someone changed this goal at the same moment. Nothing was overwritten: reload it and try again.",
            details={"your_version": based_on_version},
        ) from exc


def accept_goal(session: Session, actor: Actor, goal_id: int) -> Goal:
    goal, access = _load_goal(session, actor, goal_id)
    if not access.may_track:
        raise PermissionDenied("Only the mentee the goal is for can accept it.")
    _require_open(access)
    if goal.accepted_at is None:
        goal.accepted_at = utcnow()
        _flush(session, goal.version)
        _publish(session, goal, access)
    return goal


def record_progress(
    session: Session, actor: Actor, goal_id: int, *, progress: int | None = None, status: str | None = None
) -> Goal:
    """Move a goal on. Achieving it sets progress to 100 unless told otherwise; any progress on a goal
    not started yet starts it. Every change adds a point to the goal's history."""
    goal, access = _load_goal(session, actor, goal_id)
    if not access.may_track:
        raise PermissionDenied("Only the goal's owner records its progress.")
    _require_open(access)
    if goal.is_proposal:
        raise RuleViolation("Accept this proposed goal before recording progress on it.")
    errors: dict[str, list[str]] = {}
    if progress is not None and not 0 <= progress <= 100:
        errors["progress"] = ["Between 0 and 100."]
    if status is not None and status not in GOAL_STATUSES:
        errors["status"] = [f"Choose one of: {', '.join(GOAL_STATUSES)}."]
    if errors:
        raise ValidationFailed("Some fields are missing or invalid.", details=errors)
    new_status = status or goal.status
    new_progress = progress if progress is not None else goal.progress
    if status == ACHIEVED and progress is None:
        new_progress = 100
    if status is None and new_status == NOT_STARTED and new_progress > 0:
        new_status = IN_PROGRESS
    if (new_status, new_progress) == (goal.status, goal.progress):
        return goal
    goal.status, goal.progress = new_status, new_progress
    goal.achieved_at = (goal.achieved_at or utcnow()) if new_status == ACHIEVED else None
    goal.history.append(
        GoalProgress(progress=new_progress, status=new_status, recorded_by_id=actor.person_id)
    )
    _flush(session, goal.version)
    _publish(session, goal, access)
    return goal


def set_milestone_done(session: Session, actor: Actor, milestone_id: int, done: bool) -> Milestone:
    milestone = find(session, Milestone, milestone_id)
    if milestone is None:
        raise NotFound("No such milestone.")
    goal, access = _load_goal(session, actor, milestone.goal_id)
    if not access.may_track:
        raise PermissionDenied("Only the goal's owner ticks off its milestones.")
    _require_open(access)
    if milestone.done != done:
        milestone.done, milestone.done_at = done, utcnow() if done else None
        session.flush()
        _publish(session, goal, access)
    return milestone


def goal_counts(session: Session, relationship_id: int) -> tuple[int, int]:
    """For completion rules: ``(achieved, total)`` over the relationship's agreed goals. Proposals not yet
    accepted and dropped goals count in neither."""
    row = session.execute(
        select(
            func.coalesce(func.sum(case((Goal.status == ACHIEVED, 1), else_=0)), 0),
            func.count(Goal.id),
        ).where(
            Goal.relationship_id == relationship_id, Goal.accepted_at.is_not(None), Goal.status != DROPPED
        )
    ).one()
    return int(row[0]), int(row[1])
