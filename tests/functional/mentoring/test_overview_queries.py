"""A trainer's overview of 1,000 participants renders with a bounded number of queries: the same number as
for ten, so the page never issues one query per participant (N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, insert

from lti_app.extensions import db
from lti_app.models.base import utcnow
from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.models.programme import ProgrammeMembership
from lti_app.models.relationship import Relationship, RelationshipMember
from tests.factories.core import ProgrammeFactory, actor_for
from tests.factories.mentoring import enrol
from tests.functional.mentoring.pages import Browser

# The overview itself takes 6 (access checks, enrolments with people and memberships, open relationships with
# their members, the unread count in the bar); panels other features include (completion sync status) add a
# few more. What matters most is that the count does not grow with the course: see the equality below.
MAX_QUERIES = 20


@contextmanager
def counted() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _populate(programme, n: int) -> None:  # type: ignore[no-untyped-def]
    """``n`` participants in bulk: a tenth offer mentoring, and each mentor has two active mentees."""
    course = programme.course
    now = utcnow()
    session = db.session
    ids = list(
        session.scalars(
            insert(Person).returning(Person.id, sort_by_parameter_order=True),
            [
                {
                    "registration_id": course.registration_id,
                    "sub": f"bulk-{i}",
                    "name": f"Person {i:05d}",
                    "email": f"p{i}@example.test",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
    )
    session.execute(
        insert(Enrolment),
        [
            {
                "course_id": course.id,
                "person_id": i,
                "roles": ["participant"],
                "created_at": now,
                "updated_at": now,
            }
            for i in ids
        ],
    )
    session.execute(
        insert(Profile),
        [{"person_id": i, "skills": ["python"], "created_at": now, "updated_at": now} for i in ids],
    )
    mentors = ids[: n // 10]
    session.execute(
        insert(ProgrammeMembership),
        [
            {
                "programme_id": programme.id,
                "person_id": i,
                "open_to_mentor": True,
                "created_at": now,
                "updated_at": now,
            }
            for i in mentors
        ],
    )
    mentees = iter(ids[n // 10 :])
    for mentor_id in mentors:
        for _ in range(2):
            rel = Relationship(programme_id=programme.id, status="active", requested_at=now, started_at=now)
            session.add(rel)
            session.flush()
            session.execute(
                insert(RelationshipMember),
                [
                    {"relationship_id": rel.id, "person_id": mentor_id, "role": "mentor", "joined_at": now},
                    {
                        "relationship_id": rel.id,
                        "person_id": next(mentees),
                        "role": "mentee",
                        "joined_at": now,
                    },
                ],
            )
    session.commit()


def _overview_queries(app, client, size: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    programme = ProgrammeFactory()
    trainer = enrol(programme.course, "trainer")
    _populate(programme, size)
    page = Browser(app, client, actor_for(trainer, programme.course, "trainer"))
    # The frame-ancestors list is reloaded once a minute, not per page: load it now so it is not counted.
    app.extensions["tandem.platform_origins"].refresh()
    with counted() as statements:
        response = page.get(f"/programmes/{programme.id}/overview")
    assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


def test_a_page_of_1000_participants_costs_a_bounded_number_of_queries(app, client, db_session) -> None:
    small, _ = _overview_queries(app, client, 10)
    db_session.remove()
    large, html = _overview_queries(app, client, 1000)
    assert html.count("Person 0") >= 1000  # every participant is on the page
    assert 'data-count="participants">1001<' in html and 'data-count="active_pairs">200<' in html
    assert large == small, f"{small} queries for 10 participants, {large} for 1000"
    assert large <= MAX_QUERIES
