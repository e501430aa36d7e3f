"""Who may open a relationship (``access.load_relationship``): its members while they are enrolled in its
course, the course's trainers and the platform's admins; everyone else is told it does not exist."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import event, select

from lti_app.errors import NotFound
from lti_app.extensions import db
from lti_app.models.person import Enrolment
from lti_app.services import diary
from lti_app.services.access import load_relationship
from lti_app.services.diary import EntryInput
from tests.factories.core import CourseFactory, actor_for, enrol
from tests.factories.diary import Cast, cast
from tests.support.launch import api_headers


def leave(course_id: int, person_id: int, status: str = "inactive") -> None:
    """The LMS says the person is no longer in the course (roster sync marks the enrolment)."""
    enrolment = db.session.scalars(
        select(Enrolment).where(Enrolment.course_id == course_id, Enrolment.person_id == person_id)
    ).one()
    enrolment.status = status
    db.session.flush()


@pytest.fixture
def people(db_session) -> Cast:  # type: ignore[no-untyped-def]
    found = cast()
    db_session.commit()
    return found


def test_members_trainers_and_admins_open_the_relationship(people: Cast) -> None:
    for who in ("mentor", "mentee", "trainer", "admin"):
        assert load_relationship(db.session, people.actor(who), people.relationship.id) is people.relationship
    with pytest.raises(NotFound):
        load_relationship(db.session, people.actor("outsider"), people.relationship.id)


@pytest.mark.parametrize("status", ["inactive", "deleted"])
def test_a_member_who_left_the_course_no_longer_opens_it(people: Cast, status: str) -> None:
    load_relationship(db.session, people.actor("mentee"), people.relationship.id)  # in the same session
    leave(people.course.id, people.mentee.id, status)

    with pytest.raises(NotFound):
        load_relationship(db.session, people.actor("mentee"), people.relationship.id)
    # The other member, the trainer and the admin are not affected.
    for who in ("mentor", "trainer", "admin"):
        load_relationship(db.session, people.actor(who), people.relationship.id)


def test_a_member_without_any_enrolment_in_the_course_is_refused(people: Cast) -> None:
    db.session.delete(
        db.session.scalars(
            select(Enrolment).where(
                Enrolment.course_id == people.course.id, Enrolment.person_id == people.mentor.id
            )
        ).one()
    )
    db.session.flush()

    with pytest.raises(NotFound):
        load_relationship(db.session, people.actor("mentor"), people.relationship.id)


def test_a_member_who_left_cannot_read_or_write_the_diary_through_the_api(
    app: Flask, client, people: Cast
) -> None:
    entry = diary.create_entry(
        db.session,
        people.actor("mentor"),
        people.relationship.id,
        EntryInput(kind="note", occurred_on=date(2026, 2, 1), title="Shared", body="", visibility="shared"),
    )
    db.session.commit()
    # Still enrolled in another course of the platform, launched from there.
    elsewhere = CourseFactory(registration=people.course.registration)
    from tests.factories.core import EnrolmentFactory

    EnrolmentFactory(course=elsewhere, person=people.mentee, roles=["participant"])
    leave(people.course.id, people.mentee.id)
    db.session.commit()
    headers = api_headers(app, actor_for(people.mentee, elsewhere))
    path = f"/api/v1/relationships/{people.relationship.id}/diary"

    read = client.get(path, headers=headers)
    write = client.post(
        path,
        headers=headers,
        json={"kind": "note", "occurred_on": "2026-02-02", "title": "After leaving", "visibility": "shared"},
    )

    assert read.status_code == 404 and read.get_json()["error"] == "not_found"
    assert write.status_code == 404
    assert [e.id for e in diary.list_entries(db.session, people.actor("mentor"), people.relationship.id)] == [
        entry.id
    ]


def test_opening_a_relationship_as_a_member_costs_three_queries(people: Cast) -> None:
    actor = people.actor("mentee")
    relationship_id = people.relationship.id
    db.session.expire_all()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        load_relationship(db.session, actor, relationship_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # The relationship, its course with the member's enrolment, its members.
    assert len(statements) <= 3, statements


def test_a_trainer_of_another_course_is_refused(people: Cast) -> None:
    other = CourseFactory(registration=people.course.registration)
    stranger = enrol(other, "trainer")
    db.session.flush()

    with pytest.raises(NotFound):
        load_relationship(db.session, actor_for(stranger, other, "trainer"), people.relationship.id)
