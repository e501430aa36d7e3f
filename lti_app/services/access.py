"""Who is acting, and the checks every service makes before it reads or changes anything.

An ``Actor`` comes from a verified launch (or the CLI). Authorisation is decided here, in the service
layer, by course, role and relationship membership, so the API and the pages can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from lti_app.errors import NotAuthenticated, NotFound, PermissionDenied
from lti_app.models.base import Base
from lti_app.models.course import Course
from lti_app.models.person import ADMIN, LMS_MENTOR, PARTICIPANT, TRAINER, Enrolment, Person
from lti_app.models.programme import Programme
from lti_app.models.registration import Registration
from lti_app.models.relationship import Relationship, RelationshipMember

ACTIVE = "active"  # the enrolment status that gives access to a course


@dataclass(frozen=True)
class Actor:
    person_id: int
    registration_id: int
    course_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    placement_id: int | None = None
    # The launching platform's issuer and login URL, read with the actor: the pages of a launch may be framed
    # by (and post forms to) that platform only.
    platform_urls: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def is_trainer(self) -> bool:
        return TRAINER in self.roles or self.is_admin

    @property
    def is_participant(self) -> bool:
        return PARTICIPANT in self.roles or LMS_MENTOR in self.roles

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles.intersection(roles))


def launched_actor(
    session: Session,
    *,
    person_id: int,
    registration_id: int,
    course_id: int | None,
    placement_id: int | None = None,
) -> Actor:
    """The actor a launch token stands for, as the database sees them now, in one query.

    The token was signed at the launch, hours ago perhaps; since then the LMS may have deactivated Tandem's
    registration, dropped the person from the course or changed their role (a relaunch or a roster sync
    says so). So the roles come from the enrolment, and admin from the person's platform-admin flag (set by
    their latest launch), never from the token. Refusals are ``NotAuthenticated``: the way back is a new
    launch from the LMS, which asks the LMS again."""
    columns = [Registration.is_active, Person.is_platform_admin, Registration.issuer, Registration.auth_login_url]
    query = select(*columns, Enrolment.status, Enrolment.roles) if course_id is not None else select(*columns)
    query = query.select_from(Person).join(Registration, Registration.id == Person.registration_id)
    if course_id is not None:
        query = query.outerjoin(
            Enrolment, (Enrolment.person_id == Person.id) & (Enrolment.course_id == course_id)
        )
    row = session.execute(
        query.where(Person.id == person_id, Person.registration_id == registration_id)
    ).first()
    if row is None:
        raise NotAuthenticated(
            "This link is not valid. Open Tandem again from your course.", code="launch_invalid"
        )
    if not row[0]:
        raise NotAuthenticated(
            "Tandem's registration with your LMS is not active. Ask your LMS administrator.",
            code="platform_inactive",
        )
    is_admin = bool(row[1])
    enrolled = course_id is not None and row[4] == ACTIVE
    if course_id is not None and not enrolled and not is_admin:
        raise NotAuthenticated(
            "You are no longer a member of this course in the LMS. Open Tandem again from your course.",
            code="enrolment_inactive",
        )
    # Without a course (an admin's launch from the site administration) only the admin flag gives rights.
    roles = {str(r) for r in (row[5] or ()) if r != ADMIN} if enrolled else set()
    if is_admin:
        roles.add(ADMIN)
    return Actor(
        person_id=person_id,
        registration_id=registration_id,
        course_id=course_id,
        roles=frozenset(roles),
        placement_id=placement_id,
        platform_urls=(str(row[2]), str(row[3])),
    )


def load_course(session: Session, actor: Actor, course_id: int) -> Course:
    """The course, if the actor may see it: enrolled in it, or an admin of its platform."""
    course = session.get(Course, course_id)
    if course is None or course.registration_id != actor.registration_id:
        raise NotFound("No such course.")
    if actor.is_admin:
        return course
    enrolled = session.scalar(
        select(Enrolment.id).where(
            Enrolment.course_id == course_id,
            Enrolment.person_id == actor.person_id,
            Enrolment.status == ACTIVE,
        )
    )
    if enrolled is None:
        raise NotFound("No such course.")
    return course


def course_roles(session: Session, actor: Actor, course_id: int) -> frozenset[str]:
    """The actor's Tandem roles in a course: the actor's own when it is their course (an actor from a launch
    token was checked against the enrolment at the start of the request), else the active enrolment's."""
    if actor.course_id == course_id:
        return actor.roles
    roles = session.scalar(
        select(Enrolment.roles).where(
            Enrolment.course_id == course_id,
            Enrolment.person_id == actor.person_id,
            Enrolment.status == ACTIVE,
        )
    )
    return _roles_in(actor, course_id, roles)


def _roles_in(actor: Actor, course_id: int, active_enrolment_roles: list[str] | None) -> frozenset[str]:
    if actor.course_id == course_id:
        return actor.roles
    found = frozenset(active_enrolment_roles or ())
    if actor.is_admin:
        found = found | {ADMIN}
    return found


def require_trainer(session: Session, actor: Actor, course_id: int) -> Course:
    course = load_course(session, actor, course_id)
    if not is_course_trainer(session, actor, course_id):
        raise PermissionDenied("Only trainers of this course can do that.")
    return course


def load_programme(session: Session, actor: Actor, programme_id: int) -> Programme:
    programme = session.get(Programme, programme_id)
    if programme is None:
        raise NotFound("No such programme.")
    load_course(session, actor, programme.course_id)
    return programme


def require_programme_trainer(session: Session, actor: Actor, programme_id: int) -> Programme:
    programme = load_programme(session, actor, programme_id)
    if programme.status == "draft" and not is_course_trainer(session, actor, programme.course_id):
        raise NotFound("No such programme.")  # a draft is missing to learners, like a wrong id (not 403)
    require_trainer(session, actor, programme.course_id)
    return programme


def is_member(relationship: Relationship, person_id: int) -> bool:
    return any(m.person_id == person_id for m in relationship.members)


def load_relationship(session: Session, actor: Actor, relationship_id: int) -> Relationship:
    """A relationship the actor belongs to while enrolled in its course, or oversees as trainer of its
    course or admin of its platform. A member who left the course (enrolment no longer active) loses it
    with the course. Anyone else is told it does not exist, so ids cannot be probed."""
    relationship = session.get(Relationship, relationship_id)
    if relationship is None:
        raise NotFound("No such relationship.")
    course, enrolment = _course_and_enrolment(session, relationship.programme_id, actor.person_id)
    if course is None or course.registration_id != actor.registration_id:
        raise NotFound("No such relationship.")
    active = enrolment is not None and enrolment.status == ACTIVE
    if active and is_member(relationship, actor.person_id):
        return relationship
    roles = _roles_in(actor, course.id, enrolment.roles if enrolment is not None and active else None)
    if TRAINER in roles or ADMIN in roles:
        return relationship
    raise NotFound("No such relationship.")


_SEEN = "tandem.access.course_and_enrolment"


def _course_and_enrolment(
    session: Session, programme_id: int, person_id: int
) -> tuple[Course | None, Enrolment | None]:
    """A programme's course and the person's enrolment in it (any status), in one query. A request opens
    the same relationship several times (diary, goals, check-ins), so the rows are kept on the session and
    reused while the session holds them unexpired: a commit or a change of status is seen at once."""
    seen: dict[tuple[int, int], tuple[Programme, Course, Enrolment]] = session.info.setdefault(_SEEN, {})
    kept = seen.get((programme_id, person_id))
    if kept is not None and all(_fresh(row) for row in kept):
        return kept[1], kept[2]
    row = session.execute(
        select(Programme, Course, Enrolment)
        .join(Course, Course.id == Programme.course_id)
        .outerjoin(Enrolment, (Enrolment.course_id == Course.id) & (Enrolment.person_id == person_id))
        .where(Programme.id == programme_id)
    ).first()
    if row is None:
        return None, None
    programme, course, enrolment = row
    if enrolment is not None:
        seen[(programme_id, person_id)] = (programme, course, enrolment)
    return course, enrolment


def _fresh(row: Base) -> bool:
    """Still in the session with every column loaded: reading it costs no SQL and shows its current state."""
    state = inspect(row)
    return state.persistent and not state.expired_attributes.intersection(state.mapper.column_attrs.keys())


def relationship_member_role(session: Session, relationship_id: int, person_id: int) -> str | None:
    return session.scalar(
        select(RelationshipMember.role).where(
            RelationshipMember.relationship_id == relationship_id, RelationshipMember.person_id == person_id
        )
    )


def is_course_trainer(session: Session, actor: Actor, course_id: int) -> bool:
    """Trainer of the course, or admin of its platform: the one test every service uses for oversight."""
    roles = course_roles(session, actor, course_id)
    return TRAINER in roles or ADMIN in roles


def course_trainer_ids(session: Session, course_id: int) -> list[int]:
    """Active trainers of a course, in one query on SQLite and PostgreSQL alike. Roles are a JSON list of
    fixed words, so matching the quoted word in its text cannot match anything else."""
    from sqlalchemy import String, cast

    return list(
        session.scalars(
            select(Enrolment.person_id)
            .where(
                Enrolment.course_id == course_id,
                Enrolment.status == "active",
                cast(Enrolment.roles, String).like(f'%"{TRAINER}"%'),
            )
            .order_by(Enrolment.person_id)
        )
    )
