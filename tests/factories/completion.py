"""Factories for completion: programmes with a rule, pairs with diary meetings, goals, check-ins and 360
cycles, and a tool wired to a running test platform (registration, course with AGS, learners known to both
sides) for sync tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import factory
from flask import current_app

from lms_clients import scopes as lti_scopes
from lti_app.extensions import db
from lti_app.models.checkin import CheckIn
from lti_app.models.course import Course
from lti_app.models.diary import DiaryEntry
from lti_app.models.feedback import FeedbackCycle, FeedbackTemplate, FeedbackTemplateVersion
from lti_app.models.goal import Goal
from lti_app.models.person import Person
from lti_app.models.programme import Programme
from lti_app.models.relationship import Relationship, RelationshipMember
from lti_app.services.registrations import PlatformDetails, upsert_registration
from tests.factories.core import CourseFactory, EnrolmentFactory, ProgrammeFactory, RelationshipFactory, _Base

STARTED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class CompletionPersonFactory(_Base):
    """A person on an existing registration (``Person`` maps ``registration_id`` only)."""

    class Meta:
        model = Person

    registration_id = None
    sub = factory.Sequence(lambda n: f"c{n + 1000}")
    given_name = factory.Sequence(lambda n: f"Given{n}")
    family_name = factory.Sequence(lambda n: f"Family{n}")
    name = factory.LazyAttribute(lambda o: f"{o.given_name} {o.family_name}")
    email = factory.LazyAttribute(lambda o: f"{o.given_name.lower()}@example.test")


def enrol(course: Course, *roles: str, **fields: Any) -> Person:
    person = CompletionPersonFactory(registration_id=course.registration_id, **fields)
    EnrolmentFactory(course=course, person=person, roles=list(roles or ("participant",)))
    return person


def programme_with_rule(
    rule: dict[str, Any] | None, course: Course | None = None, **fields: Any
) -> Programme:
    return ProgrammeFactory(course=course or CourseFactory(), completion_rule=rule, **fields)


def rule(*conditions: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"conditions": list(conditions), **options}


def pair_up(
    programme: Programme,
    mentor: Person,
    mentee: Person,
    *,
    status: str = "active",
    started_at: datetime | None = STARTED,
    ended_at: datetime | None = None,
) -> Relationship:
    rel = RelationshipFactory(programme=programme, status=status, started_at=started_at, ended_at=ended_at)
    db.session.add_all(
        [
            RelationshipMember(relationship=rel, person_id=mentor.id, role="mentor"),
            RelationshipMember(relationship=rel, person_id=mentee.id, role="mentee"),
        ]
    )
    db.session.flush()
    return rel


def meetings(rel: Relationship, author: Person, count: int, *, confirmed_by: Person | None = None) -> None:
    for n in range(count):
        db.session.add(
            DiaryEntry(
                relationship_id=rel.id,
                author_id=author.id,
                kind="meeting",
                visibility="shared",
                occurred_on=(STARTED + timedelta(days=n)).date(),
                title=f"Meeting {n}",
                body="",
                version=1,
                confirmed_by_id=confirmed_by.id if confirmed_by else None,
                confirmed_at=STARTED + timedelta(days=n) if confirmed_by else None,
            )
        )
    db.session.flush()


def goals(rel: Relationship, owner: Person, *, achieved: int, total: int) -> list[Goal]:
    made = []
    for n in range(total):
        goal = Goal(
            programme_id=rel.programme_id,
            course_id=rel.programme.course_id,
            relationship_id=rel.id,
            owner_id=owner.id,
            title=f"Goal {n}",
            accepted_at=STARTED,
            status="achieved" if n < achieved else "in_progress",
            progress=100 if n < achieved else 50,
        )
        db.session.add(goal)
        made.append(goal)
    db.session.flush()
    return made


def checkin(rel: Relationship, person: Person) -> CheckIn:
    row = CheckIn(
        relationship_id=rel.id,
        person_id=person.id,
        period="month:2026-01",
        usefulness=4,
        pairing="yes",
        comment="",
    )
    db.session.add(row)
    db.session.flush()
    return row


def after_cycle(rel: Relationship, subject: Person, *, completed: bool = True) -> FeedbackCycle:
    template = FeedbackTemplate(title="360")
    version = FeedbackTemplateVersion(template=template, title="360", number=1)
    db.session.add_all([template, version])
    db.session.flush()
    cycle = FeedbackCycle(
        course_id=rel.programme.course_id,
        programme_id=rel.programme_id,
        relationship_id=rel.id,
        subject_id=subject.id,
        template_version_id=version.id,
        title="After",
        phase="after",
        closes_at=STARTED + timedelta(days=60),
        status="completed" if completed else "open",
        completed_at=STARTED + timedelta(days=59) if completed else None,
    )
    db.session.add(cycle)
    db.session.flush()
    return cycle


# ------------------------------------------------------------------------------------- tool ↔ platform


@dataclass
class Gradebook:
    """The tool registered on a running test platform, with one course known to both sides."""

    platform: Any
    config: Any
    lms_course: Any
    course: Course
    people: dict[int, Any] = field(default_factory=dict)  # tool person id → platform user

    def learner(self, **fields: Any) -> Person:
        user = self.platform.add_user(**fields)
        self.platform.enrol(user, self.lms_course, "learner")
        person = enrol(self.course, "participant", sub=user.id)
        self.people[person.id] = user
        return person

    def user(self, person: Person) -> Any:
        return self.people[person.id]


def connect(
    platform: Any,
    *,
    scopes: tuple[str, ...] = lti_scopes.ALL_AGS,
    tool_url: str = "http://tool.test",
    lineitems: bool = True,
) -> Gradebook:
    """Register the tool (and its signing key) with ``platform`` and the platform with the tool; a course on
    both sides with the AGS endpoint a launch would have given."""
    from lti_app.crypto import SecretBox
    from lti_app.services.keys import published_jwks, signing_key

    settings = current_app.extensions["tandem.settings"]
    signing_key(db.session, SecretBox(settings.secret_key))
    platform.tool_jwks = published_jwks(db.session)
    config = platform.add_tool(tool_url)
    registration, _ = upsert_registration(
        db.session,
        PlatformDetails(
            issuer=platform.issuer,
            client_id=config.client_id,
            auth_login_url=platform.auth_url,
            auth_token_url=platform.token_url,
            key_set_url=platform.jwks_url,
            product_family="moodle",
        ),
        deployment_ids=[config.deployment_id],
    )
    lms_course = platform.add_course(title="Leadership 101")
    course = CourseFactory(
        registration=registration,
        context_id=lms_course.id,
        lineitems_url=config.service_url(config.lineitems_url, context_id=lms_course.id)
        if lineitems
        else None,
        ags_scopes=list(scopes),
    )
    return Gradebook(platform, config, lms_course, course)
