"""Mentoring programmes: a trainer attaches one (or several) to a course and sets its rules; participants
join it by saying whether they offer or seek mentoring there.

Rules that would let more people read existing private data (diary readers) are only loosened when the
trainer confirms a warning that says exactly that; the change is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_app.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from lti_app.models.audit import AuditEvent
from lti_app.models.person import TANDEM_ROLES, Enrolment
from lti_app.models.profile import Profile
from lti_app.models.programme import (
    DIARY_WRITERS,
    MATCHING_MODES,
    MODELS,
    PROGRAMME_STATUSES,
    RELATIONSHIP_TYPES,
    REQUEST_POLICIES,
    Programme,
    ProgrammeMembership,
)
from lti_app.models.relationship import Relationship
from lti_app.services import events
from lti_app.services.access import (
    Actor,
    course_roles,
    is_course_trainer,
    load_course,
    load_programme,
    require_programme_trainer,
    require_trainer,
)
from lti_app.services.capacity import effective_capacity, may_mentor

# Fields a trainer edits. The completion rule has its own editor (the completion feature).
DESCRIPTIVE_FIELDS = ("title", "description", "relationship_type", "custom_type_name", "model", "status")
RULE_FIELDS = (
    "request_policy",
    "mentor_roles",
    "mentor_requires_opt_in",
    "default_capacity",
    "requires_trainer_approval",
    "request_expiry_days",
    "starts_on",
    "ends_on",
    "meeting_cadence_days",
    "flash_duration_days",
    "diary_writers",
    "diary_readable_by_trainers",
    "diary_readable_by_admins",
    "matching_mode",
)
EDITABLE_FIELDS = DESCRIPTIVE_FIELDS + RULE_FIELDS
# Switching one of these on lets a new audience read diaries written while it could not.
EXPOSING_SWITCHES = {
    "diary_readable_by_trainers": "trainers of this course",
    "diary_readable_by_admins": "platform administrators",
}
_CHOICES = {
    "relationship_type": RELATIONSHIP_TYPES,
    "model": MODELS,
    "status": PROGRAMME_STATUSES,
    "request_policy": REQUEST_POLICIES,
    "diary_writers": DIARY_WRITERS,
    "matching_mode": MATCHING_MODES,
}


class ConfirmationRequired(Conflict):
    """The change is allowed, but only once the trainer has read and confirmed what it exposes."""

    code = "confirmation_required"


def list_programmes(session: Session, actor: Actor, course_id: int) -> list[Programme]:
    """The course's programmes; drafts only for its trainers. The one bound to the actor's placement first."""
    load_course(session, actor, course_id)
    query = select(Programme).where(Programme.course_id == course_id).order_by(Programme.title, Programme.id)
    if not is_course_trainer(session, actor, course_id):
        query = query.where(Programme.status != "draft")
    found = list(session.scalars(query))
    found.sort(key=lambda p: p.placement_id is None or p.placement_id != actor.placement_id)
    return found


def load_visible_programme(session: Session, actor: Actor, programme_id: int) -> Programme:
    """The programme, if the actor may see it. A draft exists for the course's trainers (and the platform's
    admins) only: to anyone else it is missing, answered exactly like a wrong id, so nobody learns that a
    draft is being prepared. Every participant-facing read of a programme goes through here."""
    programme = load_programme(session, actor, programme_id)
    if programme.status == "draft" and not is_course_trainer(session, actor, programme.course_id):
        raise NotFound("No such programme.")
    return programme


def get_programme(session: Session, actor: Actor, programme_id: int) -> Programme:
    """A programme as its participants may see it (``load_visible_programme``)."""
    return load_visible_programme(session, actor, programme_id)


def create_programme(session: Session, actor: Actor, course_id: int, data: Mapping[str, Any]) -> Programme:
    require_trainer(session, actor, course_id)
    values = _validated({**defaults(), **{k: v for k, v in data.items() if k in EDITABLE_FIELDS}})
    programme = Programme(course_id=course_id, created_by_id=actor.person_id, **values)
    # Launched from a resource link: the programme belongs to that spot in the course.
    if actor.placement_id is not None and actor.course_id == course_id:
        programme.placement_id = actor.placement_id
    session.add(programme)
    session.flush()
    _audit(session, actor, programme, "programme.created", {})
    return programme


def update_programme(
    session: Session,
    actor: Actor,
    programme_id: int,
    data: Mapping[str, Any],
    *,
    confirm_exposure: bool = False,
) -> Programme:
    programme = require_programme_trainer(session, actor, programme_id)
    current = {f: getattr(programme, f) for f in EDITABLE_FIELDS}
    values = _validated({**current, **{k: v for k, v in data.items() if k in EDITABLE_FIELDS}})
    changed = {k: v for k, v in values.items() if v != current[k]}
    warnings = exposure_warnings(session, programme, changed)
    if warnings and not confirm_exposure:
        raise ConfirmationRequired(
            "This change lets more people read existing diary entries. Confirm it to save.",
            details={"warnings": warnings},
        )
    for key, value in changed.items():
        setattr(programme, key, value)
    session.flush()
    if warnings:
        _audit(
            session,
            actor,
            programme,
            "programme.privacy_loosened",
            {"fields": sorted(k for k in changed if k in EXPOSING_SWITCHES)},
        )
    if any(k in RULE_FIELDS for k in changed):
        _audit(session, actor, programme, "programme.rules_changed", {"fields": sorted(changed)})
        events.publish(session, events.DomainEvent(events.PROGRAMME_RULES_CHANGED, programme_id=programme.id))
    return programme


def exposure_warnings(session: Session, programme: Programme, changed: Mapping[str, Any]) -> list[str]:
    """Plain sentences naming who would newly read what; empty when nothing private is exposed."""
    opened = [
        label
        for field, label in EXPOSING_SWITCHES.items()
        if changed.get(field) is True and not getattr(programme, field)
    ]
    if not opened:
        return []
    started = (
        session.scalar(
            select(func.count(Relationship.id)).where(
                Relationship.programme_id == programme.id, Relationship.started_at.is_not(None)
            )
        )
        or 0
    )
    if not started:
        return []
    return [
        f"{label.capitalize()} will be able to read the diary entries of {started} existing "
        f"relationship{'s' if started != 1 else ''}, written when they could not."
        for label in opened
    ]


def membership(session: Session, programme_id: int, person_id: int) -> ProgrammeMembership | None:
    return session.scalar(
        select(ProgrammeMembership).where(
            ProgrammeMembership.programme_id == programme_id, ProgrammeMembership.person_id == person_id
        )
    )


@dataclass(frozen=True)
class Participation:
    """A programme as one person sees it: their membership row (None before their first choice), whether
    their role lets them offer mentoring there, and whether they oversee it."""

    programme: Programme
    membership: ProgrammeMembership | None
    can_offer: bool
    is_trainer: bool


def participation(session: Session, actor: Actor, programme_id: int) -> Participation:
    programme = load_visible_programme(session, actor, programme_id)
    roles = course_roles(session, actor, programme.course_id)
    return Participation(
        programme=programme,
        membership=membership(session, programme_id, actor.person_id),
        can_offer=may_mentor(programme, roles, None, trainer_pairing=True),
        is_trainer=is_course_trainer(session, actor, programme.course_id),
    )


@dataclass(frozen=True)
class MembershipChoices:
    """A person's choices in a programme as they see them, with the defaults when they made none."""

    programme_id: int
    person_id: int
    open_to_mentor: bool
    open_to_be_mentored: bool
    capacity_override: int | None  # their own figure
    trainer_capacity: int | None  # a trainer's limit
    capacity: int  # what applies: the smaller figure, else the defaults


def my_membership(session: Session, actor: Actor, programme_id: int) -> MembershipChoices:
    """The actor's own choices in a programme they may see."""
    programme = get_programme(session, actor, programme_id)
    row = membership(session, programme_id, actor.person_id)
    limit = session.scalar(select(Profile.capacity).where(Profile.person_id == actor.person_id))
    return MembershipChoices(
        programme_id=programme.id,
        person_id=actor.person_id,
        open_to_mentor=row.open_to_mentor if row is not None else False,
        open_to_be_mentored=row.open_to_be_mentored if row is not None else True,
        capacity_override=row.capacity_override if row is not None else None,
        trainer_capacity=row.trainer_capacity if row is not None else None,
        capacity=effective_capacity(programme, row, limit),
    )


def set_preferences(
    session: Session,
    actor: Actor,
    programme_id: int,
    *,
    open_to_mentor: bool | None = None,
    open_to_be_mentored: bool | None = None,
    capacity: int | None = None,
    clear_capacity: bool = False,
) -> ProgrammeMembership:
    """The actor's own participation in a programme: offer mentoring, seek it, and how many mentees."""
    programme = get_programme(session, actor, programme_id)
    roles = course_roles(session, actor, programme.course_id)
    row = membership(session, programme_id, actor.person_id)
    if row is None:
        row = ProgrammeMembership(programme_id=programme_id, person_id=actor.person_id)
        session.add(row)
    if open_to_mentor and not may_mentor(programme, roles, None, trainer_pairing=True):
        allowed = ", ".join(r + "s" for r in programme.mentor_roles) or "nobody"
        raise RuleViolation(f"In this programme only {allowed} can mentor.")
    if open_to_mentor is not None:
        row.open_to_mentor = open_to_mentor
    if open_to_be_mentored is not None:
        row.open_to_be_mentored = open_to_be_mentored
    # The person's own figure only: a trainer's limit (``trainer_capacity``) is not theirs to raise or clear.
    if capacity is not None:
        row.capacity_override = _capacity(capacity)
    elif clear_capacity:
        row.capacity_override = None
    session.flush()
    return row


def set_capacity_override(
    session: Session, actor: Actor, programme_id: int, person_id: int, capacity: int | None
) -> ProgrammeMembership:
    """A trainer limits one mentor's capacity in the programme (None: lifts the limit). The mentor's own
    figure stays; the smaller of the two applies."""
    programme = require_programme_trainer(session, actor, programme_id)
    enrolled = session.scalar(
        select(Enrolment.id).where(
            Enrolment.course_id == programme.course_id, Enrolment.person_id == person_id
        )
    )
    if enrolled is None:
        raise NotFound("No such person in this course.")
    row = membership(session, programme_id, person_id)
    if row is None:
        row = ProgrammeMembership(programme_id=programme_id, person_id=person_id, open_to_be_mentored=True)
        session.add(row)
    row.trainer_capacity = _capacity(capacity) if capacity is not None else None
    session.flush()
    return row


def defaults() -> dict[str, Any]:
    """A new programme's settings: one-to-one, mentees ask, three mentees per mentor, diaries private."""
    return {
        "description": "",
        "relationship_type": "mentoring",
        "custom_type_name": None,
        "model": "one_to_one",
        "status": "open",
        "request_policy": "mentee",
        "mentor_roles": ["participant", "trainer"],
        "mentor_requires_opt_in": True,
        "default_capacity": 3,
        "requires_trainer_approval": False,
        "request_expiry_days": 14,
        "starts_on": None,
        "ends_on": None,
        "meeting_cadence_days": None,
        "flash_duration_days": 14,
        "diary_writers": "both",
        "diary_readable_by_trainers": False,
        "diary_readable_by_admins": False,
        "matching_mode": "self_selection",
    }


def _capacity(value: int) -> int:
    if not 0 <= value <= 100:
        raise ValidationFailed("Capacity must be between 0 and 100.", details={"capacity": ["0 to 100"]})
    return value


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    """Cross-field rules the schema cannot see; every problem named at once."""
    problems: dict[str, list[str]] = {}

    def bad(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    title = (values.get("title") or "").strip()
    if not title:
        bad("title", "A programme needs a title.")
    values["title"] = title[:200]
    for field, choices in _CHOICES.items():
        if values.get(field) not in choices:
            bad(field, f"Must be one of: {', '.join(choices)}.")
    if values.get("relationship_type") == "custom":
        name = (values.get("custom_type_name") or "").strip()
        if not name:
            bad("custom_type_name", "Name the custom relationship type.")
        values["custom_type_name"] = name[:100] or None
    else:
        values["custom_type_name"] = None
    roles = list(dict.fromkeys(values.get("mentor_roles") or []))
    if not roles or any(r not in TANDEM_ROLES for r in roles):
        bad("mentor_roles", f"Choose at least one of: {', '.join(TANDEM_ROLES)}.")
    values["mentor_roles"] = roles
    for field, low, high in (
        ("default_capacity", 0, 100),
        ("request_expiry_days", 1, 365),
        ("flash_duration_days", 1, 365),
    ):
        value = values.get(field)
        if not isinstance(value, int) or not low <= value <= high:
            bad(field, f"Must be a whole number from {low} to {high}.")
    cadence = values.get("meeting_cadence_days")
    if cadence is not None and not (isinstance(cadence, int) and 1 <= cadence <= 365):
        bad("meeting_cadence_days", "Must be a whole number of days from 1 to 365.")
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if isinstance(starts, date) and isinstance(ends, date) and ends < starts:
        bad("ends_on", "The programme cannot end before it starts.")
    if problems:
        raise ValidationFailed("Some programme settings are missing or invalid.", details=problems)
    return values


def _audit(session: Session, actor: Actor, programme: Programme, action: str, data: dict[str, Any]) -> None:
    session.add(
        AuditEvent(
            registration_id=actor.registration_id,
            course_id=programme.course_id,
            actor_id=actor.person_id,
            action=action,
            subject_type="programme",
            subject_id=programme.id,
            data=data,
        )
    )
