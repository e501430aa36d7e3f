"""Roster sync against the test LTI platform over loopback: several NRPS pages, people leaving, coming back
and changing between syncs, Inactive/Deleted statuses, and mentoring data kept for those who leave."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from lms_clients import LMSRequestError
from lti_app.errors import Conflict
from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.person import Enrolment, Person
from lti_app.models.relationship import Relationship, RelationshipMember
from lti_app.services.launch import record_launch
from tests.factories.core import ProgrammeFactory, pair
from tests.platform import Fault

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
INSTITUTION_ADMIN = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"


def enrolments(course) -> dict[str, Enrolment]:
    rows = db.session.execute(
        select(Person.sub, Enrolment)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .where(Enrolment.course_id == course.id)
    ).all()
    return {sub: enrolment for sub, enrolment in rows}


@pytest.fixture
def roster(platform, lms_course):
    """Seven people: five learners, a teacher and an LMS mentor."""
    people = [platform.add_user(given_name=f"Learner{n}", family_name="Test") for n in range(5)]
    for person in people:
        platform.enrol(person, lms_course, "learner")
    teacher = platform.add_user(given_name="Terry", family_name="Teacher")
    platform.enrol(teacher, lms_course, "instructor")
    mentor = platform.add_user(given_name="Morgan", family_name="Mentor")
    platform.enrol(mentor, lms_course, "mentor")
    return {"learners": people, "teacher": teacher, "mentor": mentor}


def test_first_sync_reads_every_page_and_creates_people_and_enrolments(
    platform, course, roster, sync
) -> None:
    summary = sync(page_limit=3, batch_size=2)

    assert platform.count("nrps") == 3  # 7 members in pages of 3
    assert platform.count("token") == 1  # one client-credentials token for the whole roster
    assert (summary.processed, summary.added, summary.updated, summary.deactivated) == (7, 7, 0, 0)
    found = enrolments(course)
    assert len(found) == 7
    learner = roster["learners"][0]
    assert found[learner.id].roles == ["participant"]
    # Moodle sends the deprecated short role names ("Learner"): stored as full vocabulary URIs.
    assert found[learner.id].lti_roles == [LEARNER]
    assert found[roster["teacher"].id].roles == ["trainer"]
    assert found[roster["mentor"].id].roles == ["mentor"]
    assert {e.status for e in found.values()} == {"active"} and {e.source for e in found.values()} == {
        "roster"
    }
    person = db.session.scalars(select(Person).where(Person.sub == learner.id)).one()
    assert (person.name, person.given_name, person.family_name, person.email) == (
        learner.name,
        learner.given_name,
        learner.family_name,
        learner.email,
    )


def test_people_leaving_between_syncs_are_deactivated_and_keep_their_mentoring_data(
    platform, course, lms_course, roster, sync
) -> None:
    sync(page_limit=3)
    leaver, suspended, renamed, promoted = roster["learners"][:4]
    db.session.expire_all()
    people = {p.sub: p for p in db.session.scalars(select(Person))}
    programme = ProgrammeFactory(course=db.session.get(Course, course.id))
    relationship = pair(programme, people[roster["mentor"].id], people[leaver.id])
    db.session.commit()

    platform.unenrol(leaver, lms_course)  # Deleted: no longer in the roster
    platform.set_status(suspended, lms_course, "Inactive")  # still listed, as Inactive
    platform.users[renamed.id] = replace(renamed, family_name="Married", email="new@example.com")
    platform.enrol(promoted, lms_course, "instructor")
    summary = sync(page_limit=3, batch_size=2)

    assert (summary.processed, summary.added, summary.updated, summary.deactivated, summary.unchanged) == (
        6,
        0,
        2,
        2,
        3,
    )
    found = enrolments(course)
    assert (found[leaver.id].status, found[leaver.id].source) == ("inactive", "roster")
    assert found[suspended.id].status == "inactive"
    assert found[promoted.id].roles == ["trainer"] and found[promoted.id].status == "active"
    renamed_person = db.session.scalars(select(Person).where(Person.sub == renamed.id)).one()
    assert (renamed_person.family_name, renamed_person.email) == ("Married", "new@example.com")
    # Nothing of the leaver's mentoring is deleted.
    assert db.session.get(Relationship, relationship.id).status == "active"
    members = db.session.scalars(
        select(RelationshipMember.person_id).where(RelationshipMember.relationship_id == relationship.id)
    ).all()
    assert people[leaver.id].id in members
    assert db.session.scalars(select(Person).where(Person.sub == leaver.id)).one_or_none() is not None


def test_a_member_coming_back_is_reactivated(platform, course, lms_course, roster, sync) -> None:
    sync()
    learner = roster["learners"][0]
    platform.unenrol(learner, lms_course)
    assert sync().deactivated == 1
    platform.enrol(learner, lms_course, "learner")

    summary = sync()

    assert (summary.updated, summary.deactivated) == (1, 0)
    assert enrolments(course)[learner.id].status == "active"


def test_an_unchanged_roster_changes_nothing(course, roster, sync) -> None:
    sync()
    before = {sub: e.updated_at for sub, e in enrolments(course).items()}

    summary = sync()

    assert (summary.added, summary.updated, summary.deactivated, summary.unchanged) == (0, 0, 0, 7)
    assert {sub: e.updated_at for sub, e in enrolments(course).items()} == before


def test_people_listed_inactive_whom_tandem_never_knew_are_not_recorded(
    platform, course, lms_course, sync
) -> None:
    known = platform.add_user()
    platform.enrol(known, lms_course, "learner")
    stranger = platform.add_user()
    platform.enrol(stranger, lms_course, "learner", status="Inactive")

    summary = sync()

    assert (summary.added, summary.skipped) == (1, 1)
    assert db.session.scalars(select(Person).where(Person.sub == stranger.id)).one_or_none() is None


def test_a_launch_enrolment_keeps_the_platform_admin_role_nrps_does_not_carry(
    platform, registration, course, lms_course, sync
) -> None:
    admin = platform.add_user(given_name="Ada", family_name="Admin")
    platform.enrol(admin, lms_course, "instructor")
    record_launch(
        db.session,
        registration=registration,
        deployment=None,
        claims={
            "sub": admin.id,
            "name": admin.name,
            "given_name": admin.given_name,
            "family_name": admin.family_name,
            "email": admin.email,
            "https://purl.imsglobal.org/spec/lti/claim/roles": [INSTRUCTOR, INSTITUTION_ADMIN],
            "https://purl.imsglobal.org/spec/lti/claim/context": {"id": lms_course.id},
        },
    )
    db.session.commit()

    summary = sync()

    enrolment = enrolments(course)[admin.id]
    assert enrolment.roles == ["trainer", "admin"]
    assert set(enrolment.lti_roles) == {INSTRUCTOR, INSTITUTION_ADMIN}
    assert summary.unchanged == 1


def test_a_roster_read_that_fails_half_way_deactivates_nobody(
    platform, course, lms_course, roster, sync
) -> None:
    sync(page_limit=3)
    platform.unenrol(roster["learners"][0], lms_course)
    platform.faults.add("nrps", [Fault(), Fault.error(400, body="Bad Request")])

    with pytest.raises(LMSRequestError) as raised:
        sync(page_limit=3)

    assert raised.value.status == 400
    db.session.rollback()
    assert {e.status for e in enrolments(course).values()} == {"active"}


def test_transient_platform_errors_are_retried(platform, course, roster, sync) -> None:
    platform.faults.add("nrps", [Fault(), Fault.error(503), Fault.rate_limited(0)])

    summary = sync(page_limit=3)

    assert summary.added == 7
    assert platform.count("nrps") == 5  # three pages, two of them asked twice


def test_a_course_without_the_roster_service_is_refused(course, sync) -> None:
    db.session.get(Course, course.id).memberships_url = None
    db.session.commit()

    with pytest.raises(Conflict) as raised:
        sync()

    assert raised.value.code == "no_roster_service"
