"""Authorisation as a matrix: role × action × whose data (own, someone else's in the same course, another
course of the platform, another platform). Through the API, so the answer people get is checked too:
allowed (2xx), refused (403: you may see it but not do that), or hidden (404: as far as you can tell it
does not exist). Runs on SQLite and PostgreSQL like every database test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, select

from lti_app.models.course import Course
from lti_app.models.person import Enrolment, Person
from lti_app.models.programme import Programme
from lti_app.models.relationship import Relationship, RelationshipEvent, RelationshipMember
from tests.factories.core import CourseFactory, ProgrammeFactory, RegistrationFactory, actor_for, pair
from tests.factories.mentoring import enrol, join, mentee, mentor
from tests.support.launch import api_headers, launch_token

ROLES = ("participant", "mentor", "trainer", "admin")
SCOPES = ("own", "other", "other_course", "other_platform")
OK, DENIED, HIDDEN, RULE = "ok", "denied", "hidden", "rule"


@dataclass
class CourseWorld:
    course: Course
    programme: Programme
    mentor: Person
    spare_mentor: Person
    mentee: Person
    spare_mentee: Person
    relationship: Relationship
    request: Relationship


def _course_world(course: Course) -> CourseWorld:
    programme = ProgrammeFactory(course=course)
    m, free = mentor(programme), mentor(programme)
    n, spare, asker = mentee(programme), mentee(programme), mentee(programme)
    rel = pair(programme, m, n)
    request = pair(programme, m, asker, status="pending")
    request.requested_by_id = asker.id
    return CourseWorld(course, programme, m, free, n, spare, rel, request)


@pytest.fixture()
def world(app, db_session):  # type: ignore[no-untyped-def]
    home = RegistrationFactory()
    course_a, course_b = CourseFactory(registration=home), CourseFactory(registration=home)
    a, b, c = _course_world(course_a), _course_world(course_b), _course_world(CourseFactory())
    return {"home": a, "other_course": b, "other_platform": c}


def _actor(world: dict[str, CourseWorld], role: str, db_session: Any):  # type: ignore[no-untyped-def]
    a = world["home"]
    person = enrol(a.course, role)
    join(a.programme, person, open_to_mentor=True)
    own_rel = pair(a.programme, a.mentor, person)
    asker = mentee(a.programme)
    own_request = pair(a.programme, person, asker, status="pending")
    own_request.requested_by_id = asker.id
    db_session.commit()
    return person, actor_for(person, a.course, role), own_rel, own_request


def _call(client, headers, action, scope, world, me, own_rel, own_request):  # type: ignore[no-untyped-def]
    w = world["home"] if scope in ("own", "other") else world[scope]
    rel = own_rel if scope == "own" else w.relationship
    req = own_request if scope == "own" else w.request
    person = me if scope == "own" else (w.mentee if scope == "other" else w.spare_mentee)
    p = w.programme.id
    calls = {
        "view_programme": ("get", f"/api/v1/programmes/{p}", None),
        "edit_programme": ("patch", f"/api/v1/programmes/{p}", {"description": "Changed"}),
        "overview": ("get", f"/api/v1/programmes/{p}/overview", None),
        "search": ("get", f"/api/v1/programmes/{p}/mentors", None),
        "request": ("post", "/api/v1/requests", {"programme_id": p, "person_id": w.spare_mentor.id}),
        "view_profile": ("get", f"/api/v1/profiles/{person.id}", None),
        "view_relationship": ("get", f"/api/v1/relationships/{rel.id}", None),
        "end": ("post", f"/api/v1/relationships/{rel.id}/end", {"reason": "Moving on"}),
        "accept": ("post", f"/api/v1/relationships/{req.id}/accept", None),
        "pair": (
            "post",
            "/api/v1/relationships",
            {"programme_id": p, "mentor_ids": [w.mentor.id], "mentee_ids": [w.spare_mentee.id]},
        ),
    }
    method, path, body = calls[action]
    kwargs = {"json": body} if body is not None else {}
    return getattr(client, method)(path, headers=headers, **kwargs)


def expected(role: str, action: str, scope: str) -> str:
    oversees = role in ("trainer", "admin")
    if scope == "other_platform":
        return HIDDEN
    if scope == "other_course":
        if role != "admin":
            return HIDDEN
        # An admin sees and manages every course of the platform, but takes part only where enrolled.
        return {"request": RULE, "accept": DENIED}.get(action, OK)
    if action in ("edit_programme", "overview", "pair"):
        return OK if oversees else DENIED
    if action in ("view_relationship", "end") and scope == "other":
        return OK if oversees else HIDDEN
    if action == "accept" and scope == "other":
        return DENIED if oversees else HIDDEN
    return OK


STATUS = {OK: (200, 201), DENIED: (403,), HIDDEN: (404,), RULE: (409,)}
ACTIONS = (
    "view_programme",
    "edit_programme",
    "overview",
    "search",
    "request",
    "view_profile",
    "view_relationship",
    "end",
    "accept",
    "pair",
)


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(app, client, db_session, world, role) -> None:
    """One world per role; every action against every scope, each on a fresh transaction."""
    me, actor, own_rel, own_request = _actor(world, role, db_session)
    headers = api_headers(app, actor)
    failures = []
    for action in ACTIONS:
        for scope in SCOPES:
            if (
                action in ("view_programme", "edit_programme", "overview", "search", "request", "pair")
                and scope == "own"
            ):
                continue  # a programme belongs to the course, not to a person: "other" covers it
            response = _call(client, headers, action, scope, world, me, own_rel, own_request)
            want = expected(role, action, scope)
            if response.status_code not in STATUS[want]:
                failures.append(f"{role} {action} {scope}: wanted {want}, got {response.status_code}")
            db_session.rollback()
            _restore(db_session, world, own_rel, own_request)
    assert not failures, "\n".join(failures)


def _restore(db_session, world, own_rel, own_request) -> None:  # type: ignore[no-untyped-def]
    """Put back what an allowed action changed, so the next cell starts from the same world."""
    keep = (
        {w.relationship.id for w in world.values()}
        | {w.request.id for w in world.values()}
        | {own_rel.id, own_request.id}
    )
    extra = [r.id for r in db_session.query(Relationship).filter(Relationship.id.not_in(keep))]
    if extra:
        db_session.execute(delete(RelationshipMember).where(RelationshipMember.relationship_id.in_(extra)))
        db_session.execute(delete(RelationshipEvent).where(RelationshipEvent.relationship_id.in_(extra)))
        db_session.execute(delete(Relationship).where(Relationship.id.in_(extra)))
    for w in world.values():
        w.relationship.status, w.request.status = "active", "pending"
        w.request.responded_at = None
        w.programme.description = "Career mentoring"
    own_rel.status, own_request.status, own_request.responded_at = "active", "pending", None
    db_session.commit()


def test_lms_mentor_sees_the_people_they_mentor_elsewhere(app, client, db_session, world) -> None:
    """A parent or line manager (LMS role Mentor with role_scope_mentor) sees their mentee's profile even
    outside a shared course, and nobody else's."""
    a, b = world["home"], world["other_course"]
    parent = enrol(a.course, "mentor")
    enrolment = db_session.scalar(select(Enrolment).where(Enrolment.person_id == parent.id))
    enrolment.mentor_of_subs = [b.spare_mentee.sub]
    db_session.commit()
    headers = api_headers(app, actor_for(parent, a.course, "mentor"))
    assert client.get(f"/api/v1/profiles/{b.spare_mentee.id}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/profiles/{b.mentee.id}", headers=headers).status_code == 404


def test_pages_answer_the_same_way(app, client, db_session, world) -> None:
    a, c = world["home"], world["other_platform"]
    learner = enrol(a.course)
    db_session.commit()
    token = launch_token(app, actor_for(learner, a.course))
    hidden = client.get(f"/relationships/{a.relationship.id}", query_string={"lt": token})
    assert hidden.status_code == 404 and "No such relationship." in hidden.get_data(as_text=True)
    denied = client.get(f"/programmes/{a.programme.id}/overview", query_string={"lt": token})
    assert denied.status_code == 403 and "Only trainers of this course" in denied.get_data(as_text=True)
    elsewhere = client.get(f"/programmes/{c.programme.id}", query_string={"lt": token})
    assert elsewhere.status_code == 404
