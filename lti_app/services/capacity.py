"""Who may mentor in a programme, how many mentees they may take, and how many they have.

Capacity is the complaint people make most about mentoring tools ("a mentor ends up with more mentees than
agreed"), so one module decides it for search, requests, accepts, trainer pairings and the overview.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import Executable, and_, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from lti_app.models.person import LMS_MENTOR
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.models.relationship import ACTIVE, MENTEE, MENTOR, PAUSED, Relationship, RelationshipMember

# Relationships that take up a mentor's places. A pending request does not: the receiver may have several
# requests and accept only as many as they have room for; the accept re-checks under a lock.
HOLDING_STATUSES = (ACTIVE, PAUSED)


def effective_capacity(
    programme: Programme, membership: ProgrammeMembership | None, personal_limit: int | None
) -> int:
    """A per-programme figure wins: the mentor's own or a trainer's limit, the smaller when both are set, so
    a mentor may take fewer mentees than a trainer allows but never more. Otherwise the programme default,
    never more than the mentor's personal limit from their profile."""
    if membership is not None:
        chosen = [v for v in (membership.capacity_override, membership.trainer_capacity) if v is not None]
        if chosen:
            return max(min(chosen), 0)
    capacity = programme.default_capacity
    if personal_limit is not None:
        capacity = min(capacity, personal_limit)
    return max(capacity, 0)


def mentor_loads(
    session: Session, programme_id: int, person_ids: Collection[int] | None = None
) -> dict[int, int]:
    """Mentees each mentor holds in a programme (active and paused relationships), in one query."""
    mentor = aliased(RelationshipMember)
    mentee = aliased(RelationshipMember)
    query = (
        select(mentor.person_id, func.count(mentee.id))
        .join(Relationship, Relationship.id == mentor.relationship_id)
        .join(mentee, and_(mentee.relationship_id == Relationship.id, mentee.role == MENTEE))
        .where(
            Relationship.programme_id == programme_id,
            Relationship.status.in_(HOLDING_STATUSES),
            mentor.role == MENTOR,
        )
        .group_by(mentor.person_id)
    )
    if person_ids is not None:
        if not person_ids:
            return {}
        query = query.where(mentor.person_id.in_(list(person_ids)))
    return {person_id: count for person_id, count in session.execute(query).all()}


def may_mentor(
    programme: Programme,
    roles: Iterable[str],
    membership: ProgrammeMembership | None,
    *,
    trainer_pairing: bool = False,
) -> bool:
    """Eligible by role (the programme's mentor roles) and, unless a trainer pairs people, opted in."""
    if not set(roles).intersection(programme.mentor_roles or ()):
        return False
    if trainer_pairing or not programme.mentor_requires_opt_in:
        return True
    return membership is not None and membership.open_to_mentor


def is_lms_mentor_of(roles: Iterable[str], mentor_of_subs: Iterable[str] | None, sub: str) -> bool:
    """The LMS says this person mentors ``sub`` (membership role Mentor with ``role_scope_mentor``)."""
    return LMS_MENTOR in set(roles) and sub in set(mentor_of_subs or ())


def lock_membership(session: Session, programme_id: int, person_id: int) -> ProgrammeMembership:
    """The mentor's membership row, created if missing and locked ``FOR UPDATE`` until the transaction ends.

    Every capacity decision for this mentor takes this lock first, so two accepts at once are serialised
    and the second one counts the first one's mentee. On SQLite the insert below already takes the
    database's single write lock, which serialises writers the same way.
    """
    dialect = session.get_bind().dialect.name
    values = {
        "programme_id": programme_id,
        "person_id": person_id,
        "open_to_be_mentored": True,
        "open_to_mentor": False,
        "answers": {},
    }
    stmt: Executable
    if dialect == "postgresql":
        stmt = postgresql.insert(ProgrammeMembership).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(ProgrammeMembership).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(ProgrammeMembership).values(**values)
    session.execute(stmt)
    membership = session.scalars(
        select(ProgrammeMembership)
        .where(ProgrammeMembership.programme_id == programme_id, ProgrammeMembership.person_id == person_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return membership


def lock_memberships(
    session: Session, programme_id: int, person_ids: Collection[int]
) -> dict[int, ProgrammeMembership]:
    """``lock_membership`` for many mentors at once, in two statements whatever their number: the missing
    rows inserted in one executemany, then every row locked ``FOR UPDATE`` in person order (the order every
    caller locks in, so two bulk publishes cannot deadlock each other)."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    dialect = session.get_bind().dialect.name
    values = [
        {
            "programme_id": programme_id,
            "person_id": pid,
            "open_to_be_mentored": True,
            "open_to_mentor": False,
            "answers": {},
        }
        for pid in ids
    ]
    stmt: Executable
    if dialect == "postgresql":
        stmt = postgresql.insert(ProgrammeMembership).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(ProgrammeMembership).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(ProgrammeMembership)
    session.execute(stmt, values)  # one executemany: no bound-parameter limit, whatever the number
    rows = session.scalars(
        select(ProgrammeMembership)
        .where(ProgrammeMembership.programme_id == programme_id, ProgrammeMembership.person_id.in_(ids))
        .order_by(ProgrammeMembership.person_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.person_id: row for row in rows}
