"""Who is matched, and against whom: a programme's mentees and mentors as engine participants.

Read in a fixed number of queries whatever the size of the course (enrolments with profiles and
memberships; the programme's relationships with their members; the questionnaire; the trainer's pins and
bans), then shaped in Python. The capacity rules are the ones the relationship service enforces
(``services.capacity``), except that a pending request or proposal also holds its place here: a match
that would only fail when someone accepts is worse than no match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.matching import Criterion, Participant
from lti_app.models.matching import FIXED, FORBIDDEN, PairConstraint
from lti_app.models.person import PARTICIPANT, Enrolment
from lti_app.models.profile import Profile
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.models.relationship import (
    DECLINED,
    MENTEE,
    MENTOR,
    OPEN_STATUSES,
    PENDING,
    Relationship,
    RelationshipMember,
)
from lti_app.services.capacity import effective_capacity, may_mentor
from lti_app.services.matching.fields import PROFILE_COLUMNS, ProfileValues, attributes, engine_criteria
from lti_app.services.matching.questionnaire import load_questionnaire

Scope = Literal["unmatched", "all"]
SCOPES: tuple[Scope, ...] = ("unmatched", "all")
MATCHING_SOURCE = "matching"  # Relationship.source of the relationships a published run creates
Pair = tuple[int, int]  # (mentee id, mentor id)


@dataclass
class Pool:
    programme: Programme
    criteria: list[Criterion]
    mentees: list[Participant]
    mentors: list[Participant]
    active: set[Pair] = field(default_factory=set)  # open relationships: never proposed again
    forbidden: set[Pair] = field(default_factory=set)  # the trainer's bans, declined pairs, oneself
    fixed: list[Pair] = field(default_factory=list)  # the trainer's pins, for mentees in the pool
    # scope "all": mentee → their pending relationships from an earlier run, retracted if the match changes
    retractable: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # mentee → [(rel, mentor)]
    attributes: dict[int, dict[str, Any]] = field(default_factory=dict)  # everyone enrolled, by person id


@dataclass(frozen=True)
class MembershipValues:
    open_to_mentor: bool
    open_to_be_mentored: bool
    capacity_override: int | None
    answers: dict[str, Any]
    trainer_capacity: int | None = None


@dataclass
class _Person:
    person_id: int
    roles: list[str]
    profile: ProfileValues | None
    membership: MembershipValues | None


@dataclass
class _Relationships:
    open_as_mentee: dict[int, list[tuple[int, str, str]]] = field(
        default_factory=dict
    )  # → (rel, status, source)
    mentors_of: dict[int, list[int]] = field(default_factory=dict)  # relationship → mentor ids
    mentees_of: dict[int, list[int]] = field(default_factory=dict)  # relationship → mentee ids
    status: dict[int, str] = field(default_factory=dict)


def load_pool(session: Session, programme: Programme, *, scope: Scope = "unmatched", now: datetime) -> Pool:
    """No authorisation: the caller has checked the actor is a trainer of the programme's course."""
    questionnaire = load_questionnaire(session, programme)
    criteria = engine_criteria(questionnaire.criteria, {q.key: q for q in questionnaire.questions})
    multiple = {q.key: q.multiple for q in questionnaire.questions}
    people = _people(session, programme)
    rels = _relationships(session, programme.id)
    pool = Pool(programme, criteria, [], [])
    for mentee_id, open_rels in rels.open_as_mentee.items():
        if scope == "all" and all(s == PENDING and src == MATCHING_SOURCE for _, s, src in open_rels):
            pool.retractable[mentee_id] = [
                (rel_id, mentor_id)
                for rel_id, _, _ in open_rels
                for mentor_id in rels.mentors_of.get(rel_id, [])
            ]
    held: dict[int, int] = {}  # mentor → mentees in open relationships that keep their place
    for rel_id, status in rels.status.items():
        mentees = rels.mentees_of.get(rel_id, [])
        keeps = [m for m in mentees if m not in pool.retractable]
        for mentor_id in rels.mentors_of.get(rel_id, []):
            if status == DECLINED:  # whoever said no once is not proposed again
                pool.forbidden.update((m, mentor_id) for m in mentees)
                continue
            held[mentor_id] = held.get(mentor_id, 0) + len(keeps)
            pool.active.update((m, mentor_id) for m in keeps)
    mentor_ids: set[int] = set()
    for p in people:
        attrs = attributes(p.profile, p.membership.answers if p.membership else None, now, multiple)
        pool.attributes[p.person_id] = attrs
        # The capacity rules read these attributes only; plain values stand in for the ORM row.
        membership = cast(ProgrammeMembership | None, p.membership)
        is_mentor = may_mentor(programme, p.roles, membership)
        if is_mentor:
            capacity = effective_capacity(programme, membership, p.profile.capacity if p.profile else None)
            pool.mentors.append(Participant(p.person_id, attrs, max(capacity - held.get(p.person_id, 0), 0)))
            mentor_ids.add(p.person_id)
        seeks = p.membership.open_to_be_mentored if p.membership is not None else PARTICIPANT in p.roles
        # A mentor looks for a mentor of their own only in peer programmes (as the overview counts them).
        if not seeks or (is_mentor and programme.model != "peer"):
            continue
        if p.person_id in rels.open_as_mentee and p.person_id not in pool.retractable:
            continue
        pool.mentees.append(Participant(p.person_id, attrs, 1))
    mentee_ids = {int(m.id) for m in pool.mentees}
    pool.forbidden |= {(pid, pid) for pid in mentee_ids & mentor_ids}
    for mentee_id, mentor_id, kind in _constraints(session, programme.id):
        if kind == FORBIDDEN:
            pool.forbidden.add((mentee_id, mentor_id))
        elif kind == FIXED and mentee_id in mentee_ids:
            pool.fixed.append((mentee_id, mentor_id))
    return pool


def _people(session: Session, programme: Programme) -> list[_Person]:
    """Everyone actively enrolled, with the profile and membership columns matching reads. Plain columns
    rather than ORM objects: a read-only pass over 12,000 people needs no identity map (about a fifth
    faster; decoding the JSON tag columns is most of what remains)."""
    columns = [getattr(Profile, name).label(f"p_{name}") for name in PROFILE_COLUMNS]
    rows = session.execute(
        select(
            Enrolment.person_id,
            Enrolment.roles,
            Profile.id.label("profile_id"),
            *columns,
            ProgrammeMembership.id.label("membership_id"),
            ProgrammeMembership.open_to_mentor,
            ProgrammeMembership.open_to_be_mentored,
            ProgrammeMembership.capacity_override,
            ProgrammeMembership.trainer_capacity,
            ProgrammeMembership.answers,
        )
        .outerjoin(Profile, Profile.person_id == Enrolment.person_id)
        .outerjoin(
            ProgrammeMembership,
            (ProgrammeMembership.person_id == Enrolment.person_id)
            & (ProgrammeMembership.programme_id == programme.id),
        )
        .where(Enrolment.course_id == programme.course_id, Enrolment.status == "active")
        .order_by(Enrolment.person_id)
    ).all()
    people = []
    for row in rows:
        profile = (
            ProfileValues(**{name: getattr(row, f"p_{name}") for name in PROFILE_COLUMNS})
            if row.profile_id is not None
            else None
        )
        membership = (
            MembershipValues(
                row.open_to_mentor,
                row.open_to_be_mentored,
                row.capacity_override,
                row.answers or {},
                row.trainer_capacity,
            )
            if row.membership_id is not None
            else None
        )
        people.append(_Person(row.person_id, list(row.roles or ()), profile, membership))
    return people


def _relationships(session: Session, programme_id: int) -> _Relationships:
    rows = session.execute(
        select(
            Relationship.id,
            Relationship.status,
            Relationship.source,
            RelationshipMember.person_id,
            RelationshipMember.role,
        )
        .join(RelationshipMember, RelationshipMember.relationship_id == Relationship.id)
        .where(Relationship.programme_id == programme_id, Relationship.status.in_([*OPEN_STATUSES, DECLINED]))
    ).all()
    found = _Relationships()
    for rel_id, status, source, person_id, role in rows:
        found.status[rel_id] = status
        if role == MENTOR:
            found.mentors_of.setdefault(rel_id, []).append(person_id)
        elif role == MENTEE:
            found.mentees_of.setdefault(rel_id, []).append(person_id)
            if status in OPEN_STATUSES:
                found.open_as_mentee.setdefault(person_id, []).append((rel_id, status, source))
    return found


def _constraints(session: Session, programme_id: int) -> Iterable[tuple[int, int, str]]:
    return session.execute(
        select(PairConstraint.mentee_id, PairConstraint.mentor_id, PairConstraint.kind)
        .where(PairConstraint.programme_id == programme_id)
        .order_by(PairConstraint.id)
    ).tuples()
