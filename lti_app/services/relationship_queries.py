"""What people see of relationships: their own lists (inbound, outbound, current, past) and one
relationship with its members, timeline and the actions open to the viewer.

Reads only, in a fixed number of queries whatever the number of relationships (members and people are
loaded in bulk, never one by one).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.models.programme import Programme
from lti_app.models.relationship import (
    ACTIVE,
    MENTEE,
    MENTOR,
    PAUSED,
    PENDING,
    Relationship,
    RelationshipEvent,
    RelationshipMember,
)
from lti_app.services.access import Actor, is_course_trainer, load_relationship
from lti_app.services.relationships import REASSIGN_WARNING

MAX_LISTED = 500
MAX_CANDIDATES = 2000


@dataclass
class PersonRelationships:
    inbound: list[Relationship] = field(default_factory=list)
    outbound: list[Relationship] = field(default_factory=list)
    current: list[Relationship] = field(default_factory=list)
    past: list[Relationship] = field(default_factory=list)

    @property
    def all(self) -> list[Relationship]:
        return [*self.inbound, *self.outbound, *self.current, *self.past]


def for_person(session: Session, actor: Actor, *, course_id: int | None = None) -> PersonRelationships:
    """The actor's own requests and relationships, in one course or across their platform."""
    mine = select(RelationshipMember.relationship_id).where(RelationshipMember.person_id == actor.person_id)
    query = (
        select(Relationship)
        .join(Programme, Programme.id == Relationship.programme_id)
        .where(Relationship.id.in_(mine))
        .options(
            selectinload(Relationship.members).joinedload(RelationshipMember.person),
            joinedload(Relationship.programme),
        )
        .order_by(Relationship.requested_at.desc(), Relationship.id.desc())
        .limit(MAX_LISTED)
    )
    if course_id is not None:
        query = query.where(Programme.course_id == course_id)
    found = PersonRelationships()
    for rel in session.scalars(query):
        if rel.status == PENDING:
            (found.outbound if rel.requested_by_id == actor.person_id else found.inbound).append(rel)
        elif rel.status in (ACTIVE, PAUSED):
            found.current.append(rel)
        else:
            found.past.append(rel)
    return found


@dataclass
class TimelineEntry:
    event: RelationshipEvent
    actor_name: str


@dataclass
class RelationshipDetail:
    relationship: Relationship
    programme: Programme
    mentors: list[Person]
    mentees: list[Person]
    profiles: dict[int, Profile]
    timeline: list[TimelineEntry]
    viewer_role: str | None
    actions: frozenset[str]
    # People of the course who could take a member's place (filled only for those who may reassign).
    candidates: list[Person] = field(default_factory=list)
    # What reassigning exposes to the newcomer, said on the form (only for those who may reassign).
    reassign_warning: str | None = None

    @property
    def awaiting_approval(self) -> bool:
        rel = self.relationship
        return rel.status == PENDING and rel.needs_trainer_approval and rel.trainer_approved_at is None


def detail(session: Session, actor: Actor, relationship_id: int) -> RelationshipDetail:
    rel = load_relationship(session, actor, relationship_id)
    programme = session.get_one(Programme, rel.programme_id)
    ids = rel.person_ids()
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))} if ids else {}
    profiles = {p.person_id: p for p in session.scalars(select(Profile).where(Profile.person_id.in_(ids)))}
    rows = session.execute(
        select(RelationshipEvent, Person.id)
        .outerjoin(Person, Person.id == RelationshipEvent.actor_id)
        .where(RelationshipEvent.relationship_id == rel.id)
        .order_by(RelationshipEvent.at, RelationshipEvent.id)
    ).all()
    actor_ids = {pid for _, pid in rows if pid is not None and pid not in people}
    if actor_ids:
        people.update({p.id: p for p in session.scalars(select(Person).where(Person.id.in_(actor_ids)))})
    timeline = [
        TimelineEntry(event, people[pid].display_name if pid in people else "Tandem") for event, pid in rows
    ]
    viewer_role = next((m.role for m in rel.members if m.person_id == actor.person_id), None)
    actions = allowed_actions(rel, actor.person_id, is_course_trainer(session, actor, programme.course_id))
    candidates: list[Person] = []
    if "reassign" in actions:
        candidates = list(
            session.scalars(
                select(Person)
                .join(Enrolment, Enrolment.person_id == Person.id)
                .where(
                    Enrolment.course_id == programme.course_id,
                    Enrolment.status == "active",
                    Person.id.not_in(ids),
                )
                .order_by(Person.family_name, Person.given_name, Person.id)
                .limit(MAX_CANDIDATES)
            )
        )
    return RelationshipDetail(
        relationship=rel,
        programme=programme,
        mentors=[people[i] for i in rel.person_ids(MENTOR) if i in people],
        mentees=[people[i] for i in rel.person_ids(MENTEE) if i in people],
        profiles=profiles,
        timeline=timeline,
        viewer_role=viewer_role,
        actions=actions,
        candidates=candidates,
        reassign_warning=REASSIGN_WARNING if "reassign" in actions else None,
    )


def allowed_actions(rel: Relationship, person_id: int, is_trainer: bool) -> frozenset[str]:
    """What the viewer may do now; the services enforce the same rules, this only decides what to show."""
    found: set[str] = set()
    member = person_id in rel.person_ids()
    if rel.status == PENDING:
        receiver = member and rel.requested_by_id != person_id
        if receiver and rel.responded_at is None:
            found |= {"accept", "decline"}
        if rel.requested_by_id == person_id:
            found.add("withdraw")
        if is_trainer and rel.needs_trainer_approval and rel.trainer_approved_at is None:
            # A trainer in the relationship cannot approve it (an independent check); they may decline.
            found |= {"decline"} if member else {"approve", "decline"}
    elif rel.status in (ACTIVE, PAUSED):
        if member or is_trainer:
            found.add("end")
        if is_trainer:
            found |= {"complete", "reassign", "pause" if rel.status == ACTIVE else "resume"}
    return frozenset(found)
