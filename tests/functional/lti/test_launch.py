"""Real launches (login → platform auth → launch) from Moodle- and Canvas-shaped platforms: what lands
where, and what the launch writes."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from sqlalchemy import select

from lti_app.demo_lms import vocab
from lti_app.demo_lms.platform import DeepLinkingSettings
from lti_app.extensions import db
from lti_app.models.course import Course, Placement
from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.models.registration import Registration
from tests.platform import TestPlatform, drive_launch

from .support import expected_endpoint, landed


def test_moodle_learner_lands_on_home_with_a_launch_token(app: Flask, client, moodle: TestPlatform) -> None:
    sam = moodle.add_user(given_name="Sam", family_name="Student", email="sam@example.com")
    course = moodle.add_course(title="Leadership 101", label="LEAD101")
    moodle.enrol(sam, course, "learner")

    response = drive_launch(client, moodle, sam, course)

    endpoint, _, payload = landed(app, response)
    assert endpoint == expected_endpoint(app, "pages.home")
    person = db.session.scalars(select(Person)).one()
    course_row = db.session.scalars(select(Course)).one()
    placement = db.session.scalars(select(Placement)).one()
    assert payload["person_id"] == person.id
    assert payload["registration_id"] == person.registration_id
    assert payload["course_id"] == course_row.id
    assert payload["placement_id"] == placement.id
    assert payload["roles"] == ["participant"]
    assert payload["message_type"] == "LtiResourceLinkRequest"
    assert payload["launch_id"].startswith("lti1p3-launch-")
    assert response.headers["Cache-Control"] == "no-store"


def test_login_is_accepted_by_get_too(app: Flask, client, moodle: TestPlatform) -> None:
    sam = moodle.add_user()
    course = moodle.add_course()

    response = drive_launch(client, moodle, sam, course, method="GET")

    assert landed(app, response)[0] == expected_endpoint(app, "pages.home")


def test_moodle_launch_maps_course_person_enrolment_and_placement(
    app: Flask, client, moodle: TestPlatform
) -> None:
    terry = moodle.add_user(
        given_name="Terry",
        family_name="Teacher",
        email="terry@example.com",
        lis_person_sourcedid="SIS-42",
        locale="fr",
    )
    course = moodle.add_course(title="Coaching skills", label="COACH")
    link = moodle.add_resource_link(course, "Mentoring programme")
    moodle.enrol(terry, course, "instructor")

    response = drive_launch(client, moodle, terry, course, resource_link=link)

    endpoint, _, payload = landed(app, response)
    assert endpoint == expected_endpoint(app, "pages.course_programmes")
    claims = moodle.last_launch.claims
    # Moodle's shapes (the login came by POST): a 60 s token, the tool type id as deployment id, a string aud.
    assert claims["exp"] - claims["iat"] == 60
    assert claims[vocab.CLAIM_DEPLOYMENT_ID].isdigit() and isinstance(claims["aud"], str)
    person = db.session.scalars(select(Person)).one()
    assert (person.sub, person.name, person.given_name, person.family_name) == (
        terry.id,
        "Terry Teacher",
        "Terry",
        "Teacher",
    )
    assert (person.email, person.locale, person.lis_person_sourcedid) == ("terry@example.com", "fr", "SIS-42")
    assert person.last_launch_at is not None and not person.is_platform_admin
    course_row = db.session.scalars(select(Course)).one()
    assert (course_row.context_id, course_row.title, course_row.label) == (
        course.id,
        "Coaching skills",
        "COACH",
    )
    assert course_row.memberships_url == claims[vocab.CLAIM_NRPS]["context_memberships_url"]
    assert course_row.lineitems_url == claims[vocab.CLAIM_AGS_ENDPOINT]["lineitems"]
    assert "?type_id=" in course_row.lineitems_url  # Moodle's query is kept as sent
    assert course_row.ags_scopes == list(vocab.AGS_SCOPES)
    deployment = db.session.scalars(select(Registration)).one().deployments[0]
    assert course_row.deployment_id == deployment.id
    enrolment = db.session.scalars(select(Enrolment)).one()
    assert enrolment.roles == ["trainer"]
    assert enrolment.lti_roles == [vocab.ROLE_INSTRUCTOR]
    assert enrolment.status == "active" and enrolment.source == "launch"
    placement = db.session.scalars(select(Placement)).one()
    assert (placement.resource_link_id, placement.title) == (link.id, "Mentoring programme")
    assert placement.lineitem_url == claims[vocab.CLAIM_AGS_ENDPOINT]["lineitem"]
    assert payload["roles"] == ["trainer"]


def test_canvas_launch_with_aud_list_and_azp(app: Flask, client, canvas: TestPlatform) -> None:
    ana = canvas.add_user(given_name="Ana", family_name="Learner", picture="https://canvas.test/ana.png")
    course = canvas.add_course(title="Onboarding")

    response = drive_launch(client, canvas, ana, course)

    claims = canvas.last_launch.claims
    assert isinstance(claims["aud"], list) and claims["azp"] == canvas.config().client_id
    endpoint, _, payload = landed(app, response)
    assert endpoint == expected_endpoint(app, "pages.home")
    person = db.session.scalars(select(Person)).one()
    assert person.picture == "https://canvas.test/ana.png"
    assert payload["roles"] == ["participant"]  # institution#Student and system#User give no course rights
    assert db.session.scalars(select(Enrolment)).one().lti_roles == claims[vocab.CLAIM_ROLES]


def test_canvas_one_issuer_many_client_ids_are_separate_tenants(
    app: Flask, client, canvas: TestPlatform
) -> None:
    from .conftest import TOOL_URL, register

    second = canvas.add_tool(TOOL_URL)
    register(canvas, client_id=second.client_id)
    ana = canvas.add_user()
    course = canvas.add_course()

    first = landed(app, drive_launch(client, canvas, ana, course))[2]
    other = landed(app, drive_launch(client, canvas, ana, course, client_id=second.client_id))[2]

    assert first["registration_id"] != other["registration_id"]
    assert first["person_id"] != other["person_id"]
    assert len(db.session.scalars(select(Course)).all()) == 2


def test_canvas_teacher_is_trainer_but_institution_instructor_alone_is_not(
    app: Flask, client, canvas
) -> None:
    teacher = canvas.add_user()
    course = canvas.add_course()

    _, _, payload = landed(app, drive_launch(client, canvas, teacher, course, role="instructor"))

    assert payload["roles"] == ["trainer"]
    student = canvas.add_user()
    _, _, learner = landed(
        app,
        drive_launch(
            client, canvas, student, course, role=[vocab.ROLE_INSTITUTION_INSTRUCTOR, vocab.ROLE_LEARNER]
        ),
    )
    assert learner["roles"] == ["participant"]


@pytest.mark.parametrize(
    ("role", "roles", "landing"),
    [
        ("teaching_assistant", ["trainer"], "pages.course_programmes"),
        ("content_developer", ["trainer"], "pages.course_programmes"),
        ("administrator", ["trainer", "admin"], "pages.course_programmes"),  # Moodle: Instructor + admins
        ([vocab.ROLE_SYSTEM_ADMINISTRATOR], ["admin"], "admin.home"),
        ([vocab.ROLE_INSTITUTION_ADMINISTRATOR], ["admin"], "admin.home"),
        ("mentor", ["mentor"], "pages.home"),
    ],
)
def test_roles_and_landing(app: Flask, client, moodle: TestPlatform, role, roles, landing) -> None:
    person = moodle.add_user()
    course = moodle.add_course()

    endpoint, _, payload = landed(app, drive_launch(client, moodle, person, course, role=role))

    assert payload["roles"] == roles
    assert endpoint == expected_endpoint(app, landing)
    assert db.session.scalars(select(Person)).one().is_platform_admin is ("admin" in roles)


def test_mentor_role_scope_is_kept(app: Flask, client, moodle: TestPlatform) -> None:
    child, parent = moodle.add_user(), moodle.add_user()
    course = moodle.add_course()
    moodle.enrol(parent, course, "mentor", mentees=[child])

    landed(app, drive_launch(client, moodle, parent, course))

    assert db.session.scalars(select(Enrolment)).one().mentor_of_subs == [child.id]


def test_deep_linking_request_lands_on_the_chooser(app: Flask, client, moodle: TestPlatform) -> None:
    terry = moodle.add_user()
    course = moodle.add_course()
    moodle.enrol(terry, course, "instructor")

    response = drive_launch(
        client,
        moodle,
        terry,
        course,
        "deep_linking",
        deep_linking=DeepLinkingSettings(data="opaque-platform-data"),
    )

    endpoint, _, payload = landed(app, response)
    assert endpoint == expected_endpoint(app, "deeplink.choose")
    assert payload["message_type"] == "LtiDeepLinkingRequest"
    assert payload["placement_id"] is None
    assert db.session.scalars(select(Placement)).all() == []


def test_stored_launch_can_be_restored_for_the_deep_linking_response(app: Flask, client, moodle) -> None:
    from lti_app.lti.wiring import restore_launch

    terry = moodle.add_user()
    course = moodle.add_course()
    moodle.enrol(terry, course, "instructor")
    _, _, payload = landed(app, drive_launch(client, moodle, terry, course, "deep_linking"))

    with app.test_request_context("/"):
        restored = restore_launch(payload["launch_id"])
        deep_link = restored.get_deep_link()
        jwt_claims = deep_link.get_message_jwt([])

    assert restored.is_deep_link_launch()
    assert jwt_claims["aud"] == [moodle.issuer]
    assert (
        jwt_claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] == moodle.config().deployment_id
    )


def test_relaunch_updates_instead_of_duplicating(app: Flask, client, moodle: TestPlatform) -> None:
    sam = moodle.add_user(given_name="Sam")
    course = moodle.add_course(title="Old title")
    moodle.enrol(sam, course, "learner")
    landed(app, drive_launch(client, moodle, sam, course))

    moodle.courses[course.id] = type(course)(id=course.id, label=course.label, title="New title")
    moodle.enrol(sam, course, "instructor")
    _, _, payload = landed(app, drive_launch(client, moodle, sam, course))

    db.session.expire_all()
    assert db.session.scalars(select(Course)).one().title == "New title"
    assert len(db.session.scalars(select(Person)).all()) == 1
    assert db.session.scalars(select(Enrolment)).one().roles == ["trainer"]
    assert payload["roles"] == ["trainer"]


def test_profile_prefilled_from_custom_parameters(app: Flask, client, moodle: TestPlatform) -> None:
    sam = moodle.add_user()
    course = moodle.add_course()
    custom = {
        "department": "Sales",
        "location": "Leeds",
        "skills": "Public  Speaking, SQL;sql",
        "skills_wanted": "negotiation",
        "interests": "chess",
        "languages": "English, French",
        "timezone": "Europe/London",
        "headline": "Account manager",
    }

    landed(app, drive_launch(client, moodle, sam, course, custom=custom))

    profile = db.session.scalars(select(Profile)).one()
    assert (profile.department, profile.location, profile.headline) == ("Sales", "Leeds", "Account manager")
    assert profile.skills == ["public speaking", "sql"]
    assert profile.skills_wanted == ["negotiation"]
    assert profile.interests == ["chess"]
    assert profile.languages == ["english", "french"]
    assert profile.time_zone == "Europe/London"
    placement_custom = db.session.scalars(select(Placement)).one().custom
    assert "department" not in placement_custom and "skills" not in placement_custom


def test_launch_is_logged_without_personal_data(app: Flask, client, moodle, caplog) -> None:
    sam = moodle.add_user(given_name="Zebediah", family_name="Quux", email="zeb@example.com")
    course = moodle.add_course(title="Secret course title")

    with caplog.at_level(logging.INFO, logger="tandem.launch"):
        landed(app, drive_launch(client, moodle, sam, course))

    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "launch accepted" in text
    for personal in ("Zebediah", "Quux", "zeb@example.com", "Secret course title"):
        assert personal not in text


def test_launch_uses_a_bounded_number_of_queries(app: Flask, client, moodle: TestPlatform) -> None:
    from sqlalchemy import event

    sam = moodle.add_user()
    course = moodle.add_course()
    landed(app, drive_launch(client, moodle, sam, course))  # first launch: creates rows, caches the JWKS

    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        landed(app, drive_launch(client, moodle, sam, course))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # login: registration, deployment, nonce, state (+ commit); launch: registration, deployment, JWKS,
    # state, nonce, launch data, course, person, enrolment, placement, profile, and two updates (last launch).
    assert len(statements) <= 18, statements
