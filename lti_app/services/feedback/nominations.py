"""Nominating raters, approving nominations, and the list of who was asked.

What the list shows is decided here, not in the views: who was nominated, in which group, whether the
nomination is approved and the invitation sent, but never whether a particular rater has answered or
declined. Progress is only ever shown as counts per group (``cycles.progress``). Combined with the report,
a per-rater "done" would tell the subject whose answers a group's figures contain. For the same reason an
invitation, once sent, cannot be withdrawn (refusing only answered ones would reveal them).

Someone outside the course (an email address that is nobody of the course) is only ever written to once
a trainer has approved the nomination, whatever the cycle's approval setting: otherwise anyone in a course
could have Tandem mail any address, under a cycle title of their choosing, with reminders after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from lti_app.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.feedback import (
    APPROVAL_PENDING,
    APPROVED,
    GROUP_LABELS,
    INVITED,
    MAIL_INVITATION,
    NOMINATED,
    RATER_GROUPS,
    REJECTED,
    SELF,
    FeedbackCycle,
    FeedbackRequest,
)
from lti_app.models.person import Enrolment, Person
from lti_app.services.access import Actor
from lti_app.services.feedback.cycles import CycleAccess, load_cycle, require_manager, require_open
from lti_app.services.feedback.mail import queue_mail

MAX_RATERS = 60
NOMINABLE_GROUPS = tuple(g for g in RATER_GROUPS if g != SELF)


@dataclass(frozen=True)
class Nomination:
    id: int
    group: str
    group_label: str
    name: str
    external: bool
    approval: str
    invited: bool
    can_withdraw: bool
    is_self: bool


def view_of(request: FeedbackRequest) -> Nomination:
    return Nomination(
        id=request.id,
        group=request.rater_group,
        group_label=GROUP_LABELS[request.rater_group],
        name=request.rater_label,
        external=request.is_external,
        approval=request.approval,
        invited=request.invited_at is not None,
        can_withdraw=request.rater_group != SELF and request.status == NOMINATED,
        is_self=request.rater_group == SELF,
    )


def list_nominations(session: Session, actor: Actor, cycle_id: int) -> tuple[CycleAccess, list[Nomination]]:
    access = load_cycle(session, actor, cycle_id)
    rows = session.scalars(
        select(FeedbackRequest)
        .where(FeedbackRequest.cycle_id == cycle_id)
        .options(joinedload(FeedbackRequest.rater))
        .order_by(FeedbackRequest.id)
    ).all()
    order = {g: i for i, g in enumerate(RATER_GROUPS)}
    views = sorted((view_of(r) for r in rows), key=lambda n: (order[n.group], n.name.lower(), n.id))
    return access, views


def nominate(
    session: Session,
    actor: Actor,
    cycle_id: int,
    *,
    group: str,
    person_id: int | None = None,
    email: str | None = None,
    name: str = "",
    now: datetime | None = None,
) -> FeedbackRequest:
    """Ask someone from the course (``person_id``) or outside it (``email``) for feedback. The invitation
    goes out at once, unless a trainer must approve first: when the cycle says so, and always for someone
    outside the course (a trainer's own nomination is its approval)."""
    now = now or utcnow()
    access = load_cycle(session, actor, cycle_id, now)
    require_manager(access)
    cycle = access.cycle
    require_open(cycle)
    if group not in NOMINABLE_GROUPS:
        raise ValidationFailed(
            "Choose the rater's group.", details={"group": "Mentor, manager, peer, direct report or other."}
        )
    if (person_id is None) == (not email):
        raise ValidationFailed(
            "Choose someone from the course or give an email address.", details={"rater": "One of the two."}
        )
    count = session.scalar(select(func.count()).where(FeedbackRequest.cycle_id == cycle.id)) or 0
    if count >= MAX_RATERS:
        raise RuleViolation(f"A cycle can ask at most {MAX_RATERS} people.")
    if email:
        email = email.strip().lower()
        person_id = _course_person_with_email(session, cycle.course_id, email)
    if person_id is not None:
        request = _nominate_person(session, cycle, person_id)
    else:
        request = _nominate_email(session, cycle, email or "", name)
    request.rater_group = group
    request.nominated_by_id = actor.person_id
    outside = request.rater_person_id is None
    if (cycle.nominations_need_approval or outside) and not access.is_trainer:
        request.approval = APPROVAL_PENDING
    else:
        request.approval = APPROVED
        request.decided_by_id = actor.person_id if access.is_trainer else None
        invite(session, request, now)
    session.flush()
    return request


def _course_person_with_email(session: Session, course_id: int, email: str) -> int | None:
    """Someone of the course is invited as themselves (they answer inside Tandem), not as an outsider."""
    return session.scalar(
        select(Person.id)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .where(
            Enrolment.course_id == course_id, Enrolment.status == "active", func.lower(Person.email) == email
        )
        .limit(1)
    )


def _nominate_person(session: Session, cycle: FeedbackCycle, person_id: int) -> FeedbackRequest:
    if person_id == cycle.subject_id:
        raise ValidationFailed(
            "Your own view is the self-assessment.", details={"rater": "Choose someone else."}
        )
    enrolled = session.scalar(
        select(Enrolment.id).where(
            Enrolment.course_id == cycle.course_id, Enrolment.person_id == person_id,
            Enrolment.status == "active",
        )
    )
    if enrolled is None:
        raise NotFound("That person is not in this course.")
    exists = session.scalar(
        select(FeedbackRequest.id).where(
            FeedbackRequest.cycle_id == cycle.id, FeedbackRequest.rater_person_id == person_id
        )
    )
    if exists is not None:
        raise Conflict("This person has already been asked in this cycle.")
    request = FeedbackRequest(cycle=cycle, rater_person_id=person_id)
    session.add(request)
    return request


def _nominate_email(session: Session, cycle: FeedbackCycle, email: str, name: str) -> FeedbackRequest:
    if "@" not in email or len(email) > 320:
        raise ValidationFailed("That email address is not valid.", details={"email": "name@example.org"})
    subject_email = (cycle.subject.email or "").strip().lower()
    if subject_email and subject_email == email:
        raise ValidationFailed(
            "Your own view is the self-assessment.", details={"email": "Choose someone else."}
        )
    exists = session.scalar(
        select(FeedbackRequest.id).where(
            FeedbackRequest.cycle_id == cycle.id, FeedbackRequest.external_email == email
        )
    )
    if exists is not None:
        raise Conflict("This address has already been asked in this cycle.")
    request = FeedbackRequest(cycle=cycle, external_email=email, external_name=(name or "").strip()[:200])
    session.add(request)
    return request


def invite(session: Session, request: FeedbackRequest, now: datetime) -> None:
    request.status = INVITED
    request.invited_at = now
    queue_mail(session, request, MAIL_INVITATION)


def _load_request(session: Session, actor: Actor, request_id: int) -> tuple[CycleAccess, FeedbackRequest]:
    request = session.get(FeedbackRequest, request_id)
    if request is None:
        raise NotFound("No such nomination.")
    access = load_cycle(session, actor, request.cycle_id)
    return access, request


def decide_nomination(
    session: Session, actor: Actor, request_id: int, approve: bool, now: datetime | None = None
) -> FeedbackRequest:
    """A trainer approves (the invitation goes out) or rejects a pending nomination."""
    now = now or utcnow()
    access, request = _load_request(session, actor, request_id)
    if not access.is_trainer:
        raise PermissionDenied("Only trainers can approve nominations.")
    require_open(access.cycle)
    if request.approval != APPROVAL_PENDING:
        raise Conflict("This nomination has already been decided.")
    request.decided_by_id = actor.person_id
    if approve:
        request.approval = APPROVED
        invite(session, request, now)
    else:
        request.approval = REJECTED
    session.flush()
    return request


def withdraw_nomination(session: Session, actor: Actor, request_id: int) -> int:
    """Remove a nomination whose invitation has not gone out. Returns the cycle id."""
    access, request = _load_request(session, actor, request_id)
    require_manager(access)
    require_open(access.cycle)
    if request.rater_group == SELF or request.status != NOMINATED:
        raise Conflict(
            "An invitation that has been sent cannot be withdrawn: doing so could show whether that person "
            "had answered."
        )
    session.delete(request)
    session.flush()
    return access.cycle.id


def candidates(session: Session, access: CycleAccess, limit: int = 500) -> list[Person]:
    """People of the course who could be asked (not the subject, not already asked), for the picker."""
    cycle = access.cycle
    asked = select(FeedbackRequest.rater_person_id).where(
        FeedbackRequest.cycle_id == cycle.id, FeedbackRequest.rater_person_id.is_not(None)
    )
    return list(
        session.scalars(
            select(Person)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(
                Enrolment.course_id == cycle.course_id, Enrolment.status == "active",
                Person.id != cycle.subject_id, Person.id.not_in(asked),
            )
            .order_by(Person.family_name, Person.given_name, Person.id)
            .limit(limit)
        )
    )
