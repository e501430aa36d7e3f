"""Requests and relationships: the state machine, its rules and its history.

A request is a pending relationship. The receiver accepts or declines, the asker may withdraw, and a
request nobody answers expires after the programme's expiry. Trainers (and admins of the platform) create,
pause, resume, end, complete and reassign relationships directly.

Every change goes through ``_move``: it checks the transition, writes a ``RelationshipEvent`` (who, when,
from, to, why), and publishes ``RELATIONSHIP_CHANGED`` in the same transaction. Capacity is re-checked
whenever a relationship starts taking a mentor's places, under a row lock on the mentor's programme
membership (``capacity.lock_membership``), so two accepts at once can never overfill a mentor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, insert, select, text
from sqlalchemy.orm import Session, selectinload

from lti_app.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.models.programme import Programme
from lti_app.models.relationship import (
    ACTIVE,
    COMPLETED,
    DECLINED,
    ENDED,
    EXPIRED,
    MENTEE,
    MENTOR,
    OPEN_STATUSES,
    PAUSED,
    PENDING,
    WITHDRAWN,
    Relationship,
    RelationshipEvent,
    RelationshipMember,
)
from lti_app.services import events, notifications
from lti_app.services.access import (
    Actor,
    course_trainer_ids,
    is_course_trainer,
    load_relationship,
    require_programme_trainer,
)
from lti_app.services.capacity import (
    effective_capacity,
    is_lms_mentor_of,
    lock_membership,
    lock_memberships,
    may_mentor,
    mentor_loads,
)
from lti_app.services.programmes import get_programme, membership

TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({PENDING, ACTIVE}),
    PENDING: frozenset({PENDING, ACTIVE, DECLINED, WITHDRAWN, EXPIRED}),
    ACTIVE: frozenset({ACTIVE, PAUSED, COMPLETED, ENDED}),
    PAUSED: frozenset({PAUSED, ACTIVE, COMPLETED, ENDED}),
}
MAX_MESSAGE = 2000
# Models whose relationships are exactly one mentor and one mentee.
PAIR_MODELS = ("one_to_one", "peer", "reverse", "flash")
LINK = "pages.relationship"
# A relationship keeps its history when a member is replaced, so the newcomer reads what was shared before
# they joined. The trainer is told before reassigning, and the timeline keeps the fact.
REASSIGN_WARNING = (
    "The new member will be able to read the shared diary entries and goals of this relationship written "
    "so far."
)


# ----------------------------------------------------------------------------------------------- requests


def request_mentoring(
    session: Session,
    actor: Actor,
    programme_id: int,
    person_id: int,
    *,
    as_role: str = MENTEE,
    message: str = "",
    now: datetime | None = None,
) -> Relationship:
    """The actor asks ``person_id`` to mentor them (``as_role="mentee"``) or offers to mentor them
    (``as_role="mentor"``), as the programme's request policy allows."""
    now = now or utcnow()
    programme = get_programme(session, actor, programme_id)
    _check_open(programme, now.date())
    _check_policy(programme, as_role)
    if person_id == actor.person_id:
        raise ValidationFailed("You cannot send a request to yourself.", details={"person_id": ["yourself"]})
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE:
        raise ValidationFailed(
            f"The message is longer than {MAX_MESSAGE} characters.",
            details={"message": [f"At most {MAX_MESSAGE} characters."]},
        )
    people = _enrolled(session, programme.course_id, [actor.person_id, person_id])
    if actor.person_id not in people:
        raise RuleViolation("Only people enrolled in this course can take part in its programmes.")
    if person_id not in people:
        raise NotFound("No such person in this course.")
    mentor_id, mentee_id = (person_id, actor.person_id) if as_role == MENTEE else (actor.person_id, person_id)
    mentor_e, mentor = people[mentor_id]
    mentee = people[mentee_id][1]
    _check_mentor(session, programme, mentor_e, mentor, [mentee])
    _check_mentee(session, programme, mentee)
    _check_no_open_pair(session, programme.id, mentor_id, [mentee_id])
    capacity, load = _capacity(session, programme, mentor_id)
    if load >= capacity:
        raise _full(mentor, load, capacity)
    rel = Relationship(
        programme_id=programme.id,
        status=PENDING,
        requested_by_id=actor.person_id,
        request_message=message,
        needs_trainer_approval=programme.requires_trainer_approval,
        requested_at=now,
        expires_at=now + timedelta(days=programme.request_expiry_days),
        source="request",
        members=[
            RelationshipMember(person_id=mentor_id, role=MENTOR, joined_at=now),
            RelationshipMember(person_id=mentee_id, role=MENTEE, joined_at=now),
        ],
    )
    session.add(rel)
    session.flush()
    _move(session, rel, PENDING, actor.person_id, now, "Request sent", created=True)
    kind = "request.asked" if as_role == MENTEE else "request.offered"
    _notify(session, rel, programme, [person_id], kind, asker=_name(session, actor.person_id))
    return rel


def accept(
    session: Session, actor: Actor, relationship_id: int, *, now: datetime | None = None
) -> Relationship:
    now = now or utcnow()
    rel = load_relationship(session, actor, relationship_id)
    if not _is_receiver(rel, actor.person_id):
        raise PermissionDenied("Only the person who received this request can accept it.")
    rel = _lock(session, relationship_id)
    _require_answerable(rel, now)
    programme = session.get_one(Programme, rel.programme_id)
    rel.responded_at = now
    responder = _name(session, actor.person_id)
    if rel.needs_trainer_approval and rel.trainer_approved_at is None:
        _move(session, rel, PENDING, actor.person_id, now, "Accepted; waiting for a trainer's approval")
        _notify(session, rel, programme, _askers(rel), "request.accepted_pending", responder=responder)
        _notify(session, rel, programme, course_trainer_ids(session, programme.course_id), "request.needs_approval")
        return rel
    _activate(session, rel, programme, actor.person_id, now, "Request accepted")
    _notify(session, rel, programme, _askers(rel), "request.accepted", responder=responder)
    return rel


def decline(
    session: Session, actor: Actor, relationship_id: int, *, reason: str = "", now: datetime | None = None
) -> Relationship:
    """The receiver says no (or, for a request that needs approval, a trainer does), with an optional reason
    that only the asker sees."""
    now = now or utcnow()
    rel = load_relationship(session, actor, relationship_id)
    programme = session.get_one(Programme, rel.programme_id)
    trainer_rejects = rel.needs_trainer_approval and is_course_trainer(session, actor, programme.course_id)
    if not (_is_receiver(rel, actor.person_id) or trainer_rejects):
        raise PermissionDenied("Only the person who received this request can decline it.")
    rel = _lock(session, relationship_id)
    _require_pending(rel)
    rel.responded_at = now
    rel.close_reason = _reason(reason, required=False)
    _move(session, rel, DECLINED, actor.person_id, now, rel.close_reason or "Declined")
    _notify(
        session, rel, programme, _askers(rel), "request.declined", responder=_name(session, actor.person_id)
    )
    return rel


def withdraw(
    session: Session, actor: Actor, relationship_id: int, *, now: datetime | None = None
) -> Relationship:
    now = now or utcnow()
    rel = load_relationship(session, actor, relationship_id)
    if rel.requested_by_id != actor.person_id:
        raise PermissionDenied("Only the person who sent this request can withdraw it.")
    rel = _lock(session, relationship_id)
    _require_pending(rel)
    programme = session.get_one(Programme, rel.programme_id)
    _move(session, rel, WITHDRAWN, actor.person_id, now, "Withdrawn")
    receivers = [pid for pid in rel.person_ids() if pid != actor.person_id]
    _notify(session, rel, programme, receivers, "request.withdrawn", asker=_name(session, actor.person_id))
    return rel


def approve(
    session: Session, actor: Actor, relationship_id: int, *, now: datetime | None = None
) -> Relationship:
    """A trainer approves a request in a programme that asks for it; once the receiver has accepted too,
    the relationship starts. Approval is an independent check, so a trainer who is in the relationship
    (asked, or was asked) cannot give it: another trainer of the course must."""
    now = now or utcnow()
    rel = load_relationship(session, actor, relationship_id)
    programme = require_programme_trainer(session, actor, rel.programme_id)
    if actor.person_id in rel.person_ids():
        raise PermissionDenied(
            "You are in this relationship, so you cannot approve it: another trainer of the course must.",
            code="own_relationship",
        )
    rel = _lock(session, relationship_id)
    _require_pending(rel)
    if not rel.needs_trainer_approval or rel.trainer_approved_at is not None:
        raise Conflict("This request does not need a trainer's approval.")
    rel.trainer_approved_by_id, rel.trainer_approved_at = actor.person_id, now
    if rel.responded_at is None:
        _move(session, rel, PENDING, actor.person_id, now, "Approved by a trainer; waiting for an answer")
        return rel
    _activate(session, rel, programme, actor.person_id, now, "Approved by a trainer")
    _notify(session, rel, programme, rel.person_ids(), "relationship.started")
    return rel


def expire_due(session: Session, *, now: datetime | None = None, batch: int = 500) -> tuple[int, int]:
    """Expire unanswered requests and complete time-boxed (flash) relationships whose time is up.
    Returns (expired, completed). Run by ``tandem relationships expire``; rows another worker holds are
    skipped, not waited for."""
    now = now or utcnow()

    def expire(rel: Relationship, programme: Programme) -> None:
        _move(session, rel, EXPIRED, None, now, "No answer before the request expired")
        _notify(session, rel, programme, rel.person_ids(), "request.expired")

    def finish(rel: Relationship, programme: Programme) -> None:
        _close(rel, now, "")
        _move(session, rel, COMPLETED, None, now, "The time-boxed conversation is over")
        _notify(session, rel, programme, rel.person_ids(), "relationship.completed")

    expired = _sweep(
        session, (Relationship.status == PENDING) & (Relationship.expires_at <= now), batch, expire
    )
    completed = _sweep(
        session, (Relationship.status == ACTIVE) & (Relationship.scheduled_end_at <= now), batch, finish
    )
    return expired, completed


# ------------------------------------------------------------------------------------------ trainer actions


def create_relationship(
    session: Session,
    actor: Actor,
    programme_id: int,
    *,
    mentor_ids: Sequence[int],
    mentee_ids: Sequence[int],
    note: str = "",
    now: datetime | None = None,
    pending: bool = False,
    source: str = "trainer",
) -> Relationship:
    """A trainer pairs people directly: the relationship starts at once. The shape must fit the programme's
    model; mentors must be allowed to mentor by role (opt-in is the trainer's call) and have room.

    With ``pending`` the pairing is proposed instead (admin-led matching where people agree their pairs):
    it waits for a member to accept or decline it, and expires like a request."""
    (rel,) = create_relationships(
        session,
        actor,
        programme_id,
        [(mentor_ids, mentee_ids)],
        pending=pending,
        source=source,
        note=note,
        now=now,
    )
    return rel


def create_relationships(
    session: Session,
    actor: Actor,
    programme_id: int,
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    *,
    pending: bool,
    source: str,
    note: str = "",
    now: datetime | None = None,
) -> list[Relationship]:
    """Several trainer pairings at once (``pairs``: mentor ids and mentee ids of each relationship), under
    exactly the rules of ``create_relationship``, in a fixed number of statements whatever their number:
    publishing a matching run of hundreds of pairs is one pass, not hundreds. Every check runs before
    anything is written, so a refusal leaves nothing behind; capacity is checked under the mentors'
    membership locks, taken in one statement."""
    now = now or utcnow()
    programme = require_programme_trainer(session, actor, programme_id)
    groups = [(list(dict.fromkeys(mentors)), list(dict.fromkeys(mentees))) for mentors, mentees in pairs]
    if not groups:
        return []
    for mentor_ids, mentee_ids in groups:
        _check_shape(programme, mentor_ids, mentee_ids)
    everyone = list(dict.fromkeys(pid for mentors, mentees in groups for pid in (*mentors, *mentees)))
    people = _enrolled(session, programme.course_id, everyone)
    missing = [pid for pid in everyone if pid not in people]
    if missing:
        raise NotFound(
            "Some of these people are not enrolled in this course.", details={"person_ids": missing}
        )
    _check_mentors(session, programme, people, groups)
    _check_no_open_pairs(session, programme.id, groups)
    message = _reason(note, required=False)
    incoming: dict[int, int] = {}
    for mentor_ids, mentee_ids in groups:
        for pid in mentor_ids:
            incoming[pid] = incoming.get(pid, 0) + len(mentee_ids)
    _check_rooms(session, programme, incoming, {pid: people[pid][1] for pid in incoming})
    status = PENDING if pending else ACTIVE
    ids = _new_relationship_ids(session, len(groups))
    flash_end = now + timedelta(days=programme.flash_duration_days) if programme.model == "flash" else None
    session.execute(
        insert(Relationship),
        [
            {
                "id": rel_id,
                "programme_id": programme.id,
                "status": status,
                "requested_by_id": actor.person_id,
                "request_message": message,
                "needs_trainer_approval": False,
                "requested_at": now,
                "responded_at": None if pending else now,
                "expires_at": now + timedelta(days=programme.request_expiry_days) if pending else None,
                "started_at": None if pending else now,
                "scheduled_end_at": None if pending else flash_end,
                "source": source,
            }
            for rel_id in ids
        ],
    )
    session.execute(
        insert(RelationshipMember),
        [
            {"relationship_id": rel_id, "person_id": pid, "role": role, "joined_at": now}
            for rel_id, (mentor_ids, mentee_ids) in zip(ids, groups, strict=True)
            for role, members in ((MENTOR, mentor_ids), (MENTEE, mentee_ids))
            for pid in members
        ],
    )
    note_text = "Proposed by a trainer" if pending else "Created by a trainer"
    session.execute(
        insert(RelationshipEvent),
        [
            {
                "relationship_id": rel_id,
                "at": now,
                "actor_id": actor.person_id,
                "from_status": None,
                "to_status": status,
                "note": note_text,
            }
            for rel_id in ids
        ],
    )
    rels = list(
        session.scalars(
            select(Relationship)
            .where(Relationship.id.in_(ids))
            .options(selectinload(Relationship.members))
            .order_by(Relationship.id)
        )
    )
    kind = "relationship.proposed" if pending else "relationship.created"
    notifications.notify_each(
        session,
        [
            notifications.Message(
                pid,
                kind,
                {
                    "programme": programme.title,
                    "relationship_id": rel.id,
                    "others": ", ".join(people[o][1].display_name for o in rel.person_ids() if o != pid),
                },
                {"relationship_id": rel.id},
            )
            for rel in rels
            for pid in rel.person_ids()
        ],
        course_id=programme.course_id,
        link_endpoint=LINK,
    )
    # One event for the lot: subscribers (completion) re-evaluate everyone concerned in one pass.
    events.publish(
        session,
        events.DomainEvent(
            events.RELATIONSHIP_CHANGED,
            programme_id=programme.id,
            relationship_id=rels[0].id if len(rels) == 1 else None,
            person_ids=tuple(dict.fromkeys(pid for rel in rels for pid in rel.person_ids())),
        ),
    )
    return rels


def retract(
    session: Session, actor: Actor, relationship_id: int, *, reason: str = "", now: datetime | None = None
) -> Relationship:
    """A trainer takes back a pairing trainers proposed that nobody has answered yet (e.g. when matching
    is run again over those people); its members are told."""
    now = now or utcnow()
    rel = load_relationship(session, actor, relationship_id)
    programme = require_programme_trainer(session, actor, rel.programme_id)
    rel = _lock(session, relationship_id)
    _require_pending(rel)
    if rel.source == "request":
        raise Conflict("Only pairings proposed by a trainer can be retracted.", code="wrong_state")
    _move(session, rel, WITHDRAWN, actor.person_id, now, _reason(reason, required=False) or "Retracted")
    _notify(session, rel, programme, rel.person_ids(), "relationship.retracted", link=False)
    return rel


def pause(
    session: Session, actor: Actor, relationship_id: int, *, reason: str = "", now: datetime | None = None
) -> Relationship:
    return _trainer_move(session, actor, relationship_id, PAUSED, (ACTIVE,), "pause", reason, now)


def resume(
    session: Session, actor: Actor, relationship_id: int, *, now: datetime | None = None
) -> Relationship:
    return _trainer_move(session, actor, relationship_id, ACTIVE, (PAUSED,), "resume", "", now)


def complete(
    session: Session, actor: Actor, relationship_id: int, *, now: datetime | None = None
) -> Relationship:
    return _trainer_move(session, actor, relationship_id, COMPLETED, (ACTIVE, PAUSED), "complete", "", now)


def end(
    session: Session, actor: Actor, relationship_id: int, *, reason: str, now: datetime | None = None
) -> Relationship:
    """End a running relationship, with a reason. Its members may end it themselves; so may trainers."""
    now = now or utcnow()
    rel = load_relationship(session, actor, relationship_id)
    programme = session.get_one(Programme, rel.programme_id)
    member = actor.person_id in rel.person_ids()
    if not (member or is_course_trainer(session, actor, programme.course_id)):
        raise PermissionDenied("Only its members and trainers can end this relationship.")
    text = _reason(reason, required=True)
    rel = _lock(session, relationship_id)
    _require(rel, (ACTIVE, PAUSED), "end")
    _close(rel, now, text)
    _move(session, rel, ENDED, actor.person_id, now, text)
    _notify(
        session, rel, programme, [p for p in rel.person_ids() if p != actor.person_id], "relationship.ended"
    )
    return rel


def reassign(
    session: Session,
    actor: Actor,
    relationship_id: int,
    *,
    remove_person_id: int,
    add_person_id: int,
    now: datetime | None = None,
) -> Relationship:
    """A trainer replaces one member by another in the same role (e.g. a new mentor); the relationship and
    its history stay, so the newcomer reads the shared diary and goals so far (``REASSIGN_WARNING``, shown
    on the form and written in the timeline)."""
    now = now or utcnow()
    rel = load_relationship(session, actor, relationship_id)
    programme = require_programme_trainer(session, actor, rel.programme_id)
    rel = _lock(session, relationship_id)
    _require(rel, (ACTIVE, PAUSED), "reassign")
    leaving = next((m for m in rel.members if m.person_id == remove_person_id), None)
    if leaving is None:
        raise ValidationFailed(
            "That person is not a member of this relationship.",
            details={"remove_person_id": ["not a member"]},
        )
    if add_person_id in rel.person_ids():
        raise ValidationFailed(
            "That person is already a member.", details={"add_person_id": ["already a member"]}
        )
    people = _enrolled(session, programme.course_id, [add_person_id])
    if add_person_id not in people:
        raise NotFound("No such person in this course.")
    role = leaving.role
    staying = [m.person_id for m in rel.members if m.person_id != remove_person_id]
    if role == MENTOR:
        mentee_ids = rel.person_ids(MENTEE)
        mentees = list(session.scalars(select(Person).where(Person.id.in_(mentee_ids))))
        _check_mentor(session, programme, *people[add_person_id], mentees, trainer_pairing=True)
        _check_room(session, programme, add_person_id, len(mentees), people[add_person_id][1])
    rel.members.remove(leaving)
    rel.members.append(RelationshipMember(person_id=add_person_id, role=role, joined_at=now))
    session.flush()
    _move(
        session,
        rel,
        rel.status,
        actor.person_id,
        now,
        f"Reassigned: a new {role} joined, who can read the shared diary and goals so far",
    )
    _notify(
        session,
        rel,
        programme,
        [add_person_id],
        "relationship.created",
        others=", ".join(_names(session, staying).values()),
    )
    _notify(session, rel, programme, staying, "relationship.reassigned")
    _notify(session, rel, programme, [remove_person_id], "relationship.left", link=False)
    return rel


# --------------------------------------------------------------------------------------------- internals


def _move(
    session: Session,
    rel: Relationship,
    to: str,
    actor_id: int | None,
    now: datetime,
    note: str,
    *,
    created: bool = False,
) -> None:
    """The one place a relationship changes state: checked, recorded, published."""
    previous = None if created else rel.status
    if to not in TRANSITIONS.get(previous, frozenset()):
        raise Conflict(f"This relationship is {previous}; it cannot become {to}.")
    rel.status = to
    session.add(
        RelationshipEvent(
            relationship_id=rel.id,
            at=now,
            actor_id=actor_id,
            from_status=previous,
            to_status=to,
            note=note[:2000],
        )
    )
    session.flush()
    events.publish(
        session,
        events.DomainEvent(
            events.RELATIONSHIP_CHANGED,
            programme_id=rel.programme_id,
            relationship_id=rel.id,
            person_ids=tuple(rel.person_ids()),
        ),
    )


def _activate(
    session: Session, rel: Relationship, programme: Programme, actor_id: int, now: datetime, note: str
) -> None:
    mentees = len(rel.person_ids(MENTEE))
    for pid in sorted(rel.person_ids(MENTOR)):
        _check_room(session, programme, pid, mentees, None)
    _start(rel, programme, now)
    _move(session, rel, ACTIVE, actor_id, now, note)


def _start(rel: Relationship, programme: Programme, now: datetime) -> None:
    rel.started_at = now
    if programme.model == "flash":
        rel.scheduled_end_at = now + timedelta(days=programme.flash_duration_days)


def _close(rel: Relationship, now: datetime, reason: str) -> None:
    rel.ended_at = now
    if reason:
        rel.close_reason = reason


def _check_room(
    session: Session, programme: Programme, mentor_id: int, incoming: int, person: Person | None
) -> None:
    """Under the mentor's membership lock: is there room for ``incoming`` more mentees?"""
    locked = lock_membership(session, programme.id, mentor_id)
    limit = session.scalar(select(Profile.capacity).where(Profile.person_id == mentor_id))
    capacity = effective_capacity(programme, locked, limit)
    load = mentor_loads(session, programme.id, [mentor_id]).get(mentor_id, 0)
    if load + incoming > capacity:
        raise _full(person or session.get_one(Person, mentor_id), load, capacity)


def _new_relationship_ids(session: Session, count: int) -> list[int]:
    """Ids for ``count`` new relationships, taken before they are inserted, so the relationships, their
    members and their events each go in as one batched statement: SQLite cannot hand back the ids of a
    batched insert in order, and loading them one row at a time is what made publishing slow."""
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence('relationship', 'id')) FROM generate_series(1, :n)"),
                {"n": count},
            )
        )
    # SQLite: the mentors' memberships were just written in this transaction, so it holds the database's
    # single write lock and nobody else can insert a relationship (and take these ids) before it commits.
    top = session.scalar(select(func.max(Relationship.id))) or 0
    return list(range(top + 1, top + count + 1))


def _check_rooms(
    session: Session, programme: Programme, incoming: dict[int, int], people: dict[int, Person]
) -> None:
    """``_check_room`` for many mentors at once: their membership rows locked in one statement, their
    personal limits and loads read in one each, the first mentor (by id) without room refused."""
    locked = lock_memberships(session, programme.id, incoming)
    limits: dict[int, int | None] = dict(
        session.execute(select(Profile.person_id, Profile.capacity).where(Profile.person_id.in_(list(incoming))))
        .tuples()
        .all()
    )
    loads = mentor_loads(session, programme.id, list(incoming))
    for pid in sorted(incoming):
        capacity = effective_capacity(programme, locked.get(pid), limits.get(pid))
        load = loads.get(pid, 0)
        if load + incoming[pid] > capacity:
            raise _full(people[pid], load, capacity)


def _full(mentor: Person, load: int, capacity: int) -> RuleViolation:
    return RuleViolation(
        f"{mentor.display_name} has no free place in this programme: "
        f"{load} of {capacity} mentee place{'s' if capacity != 1 else ''} taken.",
        code="mentor_full",
        details={"capacity": capacity, "load": load},
    )


def _capacity(session: Session, programme: Programme, mentor_id: int) -> tuple[int, int]:
    limit = session.scalar(select(Profile.capacity).where(Profile.person_id == mentor_id))
    capacity = effective_capacity(programme, membership(session, programme.id, mentor_id), limit)
    return capacity, mentor_loads(session, programme.id, [mentor_id]).get(mentor_id, 0)


def _check_open(programme: Programme, today: date) -> None:
    if programme.status != "open":
        raise RuleViolation("This programme is not taking requests.", code="programme_closed")
    if programme.starts_on and today < programme.starts_on:
        raise RuleViolation(
            f"This programme opens on {programme.starts_on.isoformat()}.", code="programme_closed"
        )
    if programme.ends_on and today > programme.ends_on:
        raise RuleViolation(
            f"This programme ended on {programme.ends_on.isoformat()}.", code="programme_closed"
        )


def _check_policy(programme: Programme, as_role: str) -> None:
    if as_role not in (MENTOR, MENTEE):
        raise ValidationFailed("Ask as mentee or offer as mentor.", details={"as_role": ["mentor or mentee"]})
    policy = programme.request_policy
    if policy == "trainers_only":
        raise RuleViolation(
            "In this programme trainers arrange the pairs; ask a trainer of the course.",
            code="request_policy",
        )
    if policy == "mentee" and as_role != MENTEE:
        raise RuleViolation("In this programme only mentees send requests.", code="request_policy")
    if policy == "mentor" and as_role != MENTOR:
        raise RuleViolation(
            "In this programme mentors make the offers; wait for one, or update your profile.",
            code="request_policy",
        )


def _check_mentor(
    session: Session,
    programme: Programme,
    enrolment: Enrolment,
    mentor: Person,
    mentees: Sequence[Person],
    *,
    trainer_pairing: bool = False,
) -> None:
    lms = all(is_lms_mentor_of(enrolment.roles, enrolment.mentor_of_subs, m.sub) for m in mentees)
    row = membership(session, programme.id, mentor.id)
    if not (lms or may_mentor(programme, enrolment.roles, row, trainer_pairing=trainer_pairing)):
        if not may_mentor(programme, enrolment.roles, row, trainer_pairing=True):
            allowed = ", ".join(r + "s" for r in programme.mentor_roles)
            raise RuleViolation(f"In this programme only {allowed} can mentor.", code="not_a_mentor")
        raise RuleViolation(
            f"{mentor.display_name} is not open to mentoring in this programme.", code="not_a_mentor"
        )
    if programme.model == "reverse":
        seniority: dict[int, int | None] = dict(
            session.execute(
                select(Profile.person_id, Profile.seniority).where(
                    Profile.person_id.in_([mentor.id, *(m.id for m in mentees)])
                )
            )
            .tuples()
            .all()
        )
        mine = seniority.get(mentor.id)
        if mine is not None and any(
            (seniority.get(m.id) or 0) <= mine for m in mentees if seniority.get(m.id) is not None
        ):
            raise RuleViolation(
                "In reverse mentoring the mentor is the more junior person.", code="not_a_mentor"
            )


def _check_mentors(
    session: Session,
    programme: Programme,
    people: dict[int, tuple[Enrolment, Person]],
    groups: Sequence[tuple[list[int], list[int]]],
) -> None:
    """``_check_mentor`` for trainer pairings, for many relationships at once (one query at most, for the
    seniorities of the reverse model): a trainer's word stands in for opting in, so only the role (or the
    LMS naming them the mentees' mentor) matters."""
    seniority: dict[int, int | None] = {}
    if programme.model == "reverse":
        ids = list(people)
        seniority = dict(
            session.execute(select(Profile.person_id, Profile.seniority).where(Profile.person_id.in_(ids)))
            .tuples()
            .all()
        )
    for mentor_ids, mentee_ids in groups:
        mentees = [people[pid][1] for pid in mentee_ids]
        for pid in mentor_ids:
            enrolment, mentor = people[pid]
            lms = all(is_lms_mentor_of(enrolment.roles, enrolment.mentor_of_subs, m.sub) for m in mentees)
            if not (lms or may_mentor(programme, enrolment.roles, None, trainer_pairing=True)):
                allowed = ", ".join(r + "s" for r in programme.mentor_roles)
                raise RuleViolation(f"In this programme only {allowed} can mentor.", code="not_a_mentor")
            mine = seniority.get(pid)
            if mine is not None and any(
                (seniority.get(m) or 0) <= mine for m in mentee_ids if seniority.get(m) is not None
            ):
                raise RuleViolation(
                    "In reverse mentoring the mentor is the more junior person.", code="not_a_mentor"
                )


def _check_no_open_pairs(
    session: Session, programme_id: int, groups: Sequence[tuple[list[int], list[int]]]
) -> None:
    """``_check_no_open_pair`` for many relationships at once: one query for the open relationships of
    everyone concerned; a pair given twice in one batch is refused the same way."""
    everyone = {pid for mentors, mentees in groups for pid in (*mentors, *mentees)}
    rows = session.execute(
        select(RelationshipMember.relationship_id, RelationshipMember.person_id)
        .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
        .where(
            Relationship.programme_id == programme_id,
            Relationship.status.in_(OPEN_STATUSES),
            Relationship.id.in_(
                select(RelationshipMember.relationship_id).where(RelationshipMember.person_id.in_(everyone))
            ),
        )
    ).all()
    members: dict[int, set[int]] = {}
    for rel_id, pid in rows:
        members.setdefault(rel_id, set()).add(pid)
    taken: dict[tuple[int, int], int | None] = {}
    for rel_id, ids in sorted(members.items()):
        for a in ids:
            for b in ids:
                taken.setdefault((a, b), rel_id)
    for mentor_ids, mentee_ids in groups:
        for mentor_id in mentor_ids:
            for mentee_id in mentee_ids:
                if (mentor_id, mentee_id) in taken:
                    raise Conflict(
                        "There is already an open request or relationship between these people in this "
                        "programme.",
                        code="already_paired",
                        details={"relationship_id": taken[(mentor_id, mentee_id)]},
                    )
                taken[(mentor_id, mentee_id)] = None  # this batch pairs them now


def _check_mentee(session: Session, programme: Programme, mentee: Person) -> None:
    row = membership(session, programme.id, mentee.id)
    if row is not None and not row.open_to_be_mentored:
        raise RuleViolation(
            f"{mentee.display_name} is not looking for a mentor in this programme.", code="not_a_mentee"
        )


def _check_no_open_pair(
    session: Session, programme_id: int, mentor_id: int, mentee_ids: Iterable[int]
) -> None:
    """A mentor and a mentee share at most one open request or relationship per programme."""
    ids = list(mentee_ids)
    mentor_rels = select(RelationshipMember.relationship_id).where(RelationshipMember.person_id == mentor_id)
    clash = session.scalar(
        select(Relationship.id)
        .join(RelationshipMember, RelationshipMember.relationship_id == Relationship.id)
        .where(
            Relationship.programme_id == programme_id,
            Relationship.status.in_(OPEN_STATUSES),
            Relationship.id.in_(mentor_rels),
            RelationshipMember.person_id.in_(ids),
        )
        .limit(1)
    )
    if clash is not None:
        raise Conflict(
            "There is already an open request or relationship between these people in this programme.",
            code="already_paired",
            details={"relationship_id": clash},
        )


def _check_shape(programme: Programme, mentor_ids: list[int], mentee_ids: list[int]) -> None:
    if set(mentor_ids) & set(mentee_ids):
        raise ValidationFailed("Nobody can be both mentor and mentee in one relationship.")
    if not mentor_ids or not mentee_ids:
        raise ValidationFailed("A relationship needs at least one mentor and one mentee.")
    if programme.model in PAIR_MODELS and (len(mentor_ids), len(mentee_ids)) != (1, 1):
        raise ValidationFailed("This programme pairs one mentor with one mentee.")
    if programme.model == "group" and len(mentor_ids) != 1:
        raise ValidationFailed("A group has exactly one mentor.")


def _enrolled(
    session: Session, course_id: int, person_ids: Iterable[int]
) -> dict[int, tuple[Enrolment, Person]]:
    rows = session.execute(
        select(Enrolment, Person)
        .join(Person, Person.id == Enrolment.person_id)
        .where(
            Enrolment.course_id == course_id,
            Enrolment.status == "active",
            Enrolment.person_id.in_(list(set(person_ids))),
        )
    ).all()
    return {person.id: (enrolment, person) for enrolment, person in rows}


def _lock(session: Session, relationship_id: int) -> Relationship:
    """The relationship row, re-read and locked: a concurrent accept, decline or withdraw waits here."""
    return session.scalars(
        select(Relationship)
        .where(Relationship.id == relationship_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _require(rel: Relationship, statuses: tuple[str, ...], action: str) -> None:
    if rel.status not in statuses:
        raise Conflict(f"This relationship is {rel.status}; it cannot {action} now.", code="wrong_state")


def _require_pending(rel: Relationship) -> None:
    if rel.status != PENDING:
        raise Conflict(f"This request is already {rel.status}.", code="wrong_state")


def _require_answerable(rel: Relationship, now: datetime) -> None:
    _require_pending(rel)
    if rel.expires_at is not None and rel.expires_at <= now:
        raise RuleViolation(
            f"This request expired on {rel.expires_at.date().isoformat()}.", code="request_expired"
        )
    if rel.responded_at is not None:
        raise Conflict(
            "You already accepted this request; it is waiting for a trainer's approval.", code="wrong_state"
        )


def _is_receiver(rel: Relationship, person_id: int) -> bool:
    return person_id in rel.person_ids() and rel.requested_by_id != person_id


def _askers(rel: Relationship) -> list[int]:
    return [rel.requested_by_id] if rel.requested_by_id else []


def _reason(text: str, *, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ValidationFailed("Give a reason.", details={"reason": ["Required."]})
    if len(text) > MAX_MESSAGE:
        raise ValidationFailed(f"At most {MAX_MESSAGE} characters.", details={"reason": ["Too long."]})
    return text


def _name(session: Session, person_id: int) -> str:
    person = session.get(Person, person_id)
    return person.display_name if person else "Someone"


def _names(session: Session, person_ids: Iterable[int]) -> dict[int, str]:
    ids = list(person_ids)
    people = session.scalars(select(Person).where(Person.id.in_(ids))).all() if ids else []
    return {p.id: p.display_name for p in people}


def _notify(
    session: Session,
    rel: Relationship,
    programme: Programme,
    person_ids: Iterable[int],
    kind: str,
    *,
    link: bool = True,
    **params: str,
) -> None:
    notifications.notify(
        session,
        person_ids,
        kind,
        course_id=programme.course_id,
        params={"programme": programme.title, "relationship_id": rel.id, **params},
        link_endpoint=LINK if link else None,
        link_values={"relationship_id": rel.id} if link else None,
    )


_TRAINER_KINDS = {
    PAUSED: "relationship.paused",
    ACTIVE: "relationship.resumed",
    COMPLETED: "relationship.completed",
}


def _trainer_move(
    session: Session,
    actor: Actor,
    relationship_id: int,
    to: str,
    from_statuses: tuple[str, ...],
    verb: str,
    reason: str,
    now: datetime | None,
) -> Relationship:
    now = now or utcnow()
    rel = load_relationship(session, actor, relationship_id)
    programme = require_programme_trainer(session, actor, rel.programme_id)
    rel = _lock(session, relationship_id)
    _require(rel, from_statuses, verb)
    text = _reason(reason, required=False)
    if to == COMPLETED:
        _close(rel, now, text)
    _move(session, rel, to, actor.person_id, now, text or f"{verb.capitalize()}d by a trainer")
    _notify(session, rel, programme, rel.person_ids(), _TRAINER_KINDS[to])
    return rel


def _sweep(
    session: Session,
    condition: ColumnElement[bool],
    batch: int,
    apply: Callable[[Relationship, Programme], object],
) -> int:
    query = select(Relationship).where(condition).order_by(Relationship.id).limit(batch)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rels = list(session.scalars(query))
    ids = {r.programme_id for r in rels}
    programmes = (
        {p.id: p for p in session.scalars(select(Programme).where(Programme.id.in_(ids)))} if ids else {}
    )
    for rel in rels:
        apply(rel, programmes[rel.programme_id])
    return len(rels)
