"""Factories for registrations, courses, people, enrolments and programmes."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from lti_app.extensions import db
from lti_app.models.course import Course, Placement
from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.models.registration import Deployment, Registration
from lti_app.models.relationship import Relationship, RelationshipMember
from lti_app.services.access import Actor


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class RegistrationFactory(_Base):
    class Meta:
        model = Registration

    name = factory.Sequence(lambda n: f"Platform {n}")
    issuer = factory.Sequence(lambda n: f"https://lms{n}.example.test")
    client_id = factory.Sequence(lambda n: f"client-{n}")
    auth_login_url = factory.LazyAttribute(lambda o: f"{o.issuer}/mod/lti/auth.php")
    auth_token_url = factory.LazyAttribute(lambda o: f"{o.issuer}/mod/lti/token.php")
    key_set_url = factory.LazyAttribute(lambda o: f"{o.issuer}/mod/lti/certs.php")
    product_family = "moodle"


class DeploymentFactory(_Base):
    class Meta:
        model = Deployment

    registration = factory.SubFactory(RegistrationFactory)
    deployment_id = factory.Sequence(lambda n: str(n + 1))


class CourseFactory(_Base):
    class Meta:
        model = Course

    registration = factory.SubFactory(RegistrationFactory)
    context_id = factory.Sequence(lambda n: str(n + 100))
    title = factory.Sequence(lambda n: f"Course {n}")
    label = factory.Sequence(lambda n: f"C{n}")


class PlacementFactory(_Base):
    class Meta:
        model = Placement

    course = factory.SubFactory(CourseFactory)
    resource_link_id = factory.Sequence(lambda n: f"rl-{n}")
    title = "Mentoring"


class PersonFactory(_Base):
    class Meta:
        model = Person

    registration = factory.SubFactory(RegistrationFactory)
    sub = factory.Sequence(lambda n: str(n + 1000))
    given_name = factory.Sequence(lambda n: f"Given{n}")
    family_name = factory.Sequence(lambda n: f"Family{n}")
    name = factory.LazyAttribute(lambda o: f"{o.given_name} {o.family_name}")
    email = factory.LazyAttribute(lambda o: f"{o.given_name.lower()}@example.test")


class EnrolmentFactory(_Base):
    class Meta:
        model = Enrolment

    course = factory.SubFactory(CourseFactory)
    person = factory.SubFactory(PersonFactory, registration=factory.SelfAttribute("..course.registration"))
    roles = factory.LazyFunction(lambda: ["participant"])
    status = "active"


class ProfileFactory(_Base):
    class Meta:
        model = Profile

    person = factory.SubFactory(PersonFactory)


class ProgrammeFactory(_Base):
    class Meta:
        model = Programme

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Programme {n}")
    description = "Career mentoring"


class ProgrammeMembershipFactory(_Base):
    class Meta:
        model = ProgrammeMembership

    programme = factory.SubFactory(ProgrammeFactory)
    person = factory.SubFactory(PersonFactory)


class RelationshipFactory(_Base):
    class Meta:
        model = Relationship

    programme = factory.SubFactory(ProgrammeFactory)
    status = "active"


def enrol(course: Course, *roles: str, **person_fields: object) -> Person:
    """A person enrolled in ``course`` with the given Tandem roles (default participant)."""
    person = PersonFactory(registration=course.registration, **person_fields)
    EnrolmentFactory(course=course, person=person, roles=list(roles or ("participant",)))
    return person


def actor_for(person: Person, course: Course | None, *roles: str) -> Actor:
    return Actor(
        person_id=person.id,
        registration_id=person.registration_id,
        course_id=course.id if course else None,
        roles=frozenset(roles or ("participant",)),
    )


def pair(programme: Programme, mentor: Person, mentee: Person, status: str = "active") -> Relationship:
    rel = RelationshipFactory(programme=programme, status=status)
    db.session.add_all(
        [
            RelationshipMember(relationship=rel, person_id=mentor.id, role="mentor"),
            RelationshipMember(relationship=rel, person_id=mentee.id, role="mentee"),
        ]
    )
    db.session.flush()
    return rel
