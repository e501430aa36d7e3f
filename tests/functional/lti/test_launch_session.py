"""The launch token after the launch: how long it lives, what it is still worth when the LMS has changed its
mind about the person, and that no page carrying it is kept by a cache."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import event, select

from lti_app.extensions import db
from lti_app.models.person import Enrolment, Person
from lti_app.models.registration import Registration
from lti_app.web.launch_session import LaunchTokens
from tests.factories.core import CourseFactory, actor_for, enrol
from tests.platform import TestPlatform, drive_launch
from tests.support.launch import launch_token

from .support import landed

HOUR = 3600


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app: Flask) -> Iterator[Clock]:
    """The app's launch tokens on a clock the test moves (the real one is put back afterwards)."""
    real = app.extensions["tandem.launch_tokens"]
    moved = Clock()
    app.extensions["tandem.launch_tokens"] = LaunchTokens(
        app.config["SECRET_KEY"], real.ttl_seconds, real.max_age_seconds, clock=moved
    )
    yield moved
    app.extensions["tandem.launch_tokens"] = real


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    if response.is_json:
        return str(response.get_json()["error"])
    found = re.search(r'data-error-code="([^"]+)"', response.get_data(as_text=True))
    return found.group(1) if found else ""


def renewed_token(response) -> str | None:  # type: ignore[no-untyped-def]
    """The launch token the page carries on to its links (a renewal, or the one it was opened with)."""
    found = re.search(r'[?&;]lt=([A-Za-z0-9._-]+)', html.unescape(response.get_data(as_text=True)))
    return found.group(1) if found else None


@pytest.fixture
def learner(db_session):  # type: ignore[no-untyped-def]
    course = CourseFactory()
    person = enrol(course)
    db_session.commit()
    return person, course


# ------------------------------------------------------------------------------------------- lifetime


def test_the_token_carries_its_original_issue_time(app: Flask, client, moodle: TestPlatform) -> None:
    sam = moodle.add_user()
    course = moodle.add_course()

    _, _, payload = landed(app, drive_launch(client, moodle, sam, course))

    assert isinstance(payload["iat"], int)


def test_a_renewed_token_keeps_the_original_issue_time(app: Flask, client, learner, clock: Clock) -> None:
    person, course = learner
    tokens = app.extensions["tandem.launch_tokens"]
    first = launch_token(app, actor_for(person, course))
    issued_at = tokens.verify(first)[0]["iat"]

    clock.now += tokens.ttl_seconds * 0.75  # past half its life: the page renews it
    page = client.get("/home", query_string={"lt": first})

    assert page.status_code == 200
    renewed = renewed_token(page)
    assert renewed and renewed != first
    assert tokens.verify(renewed)[0]["iat"] == issued_at


def test_renewing_never_outlives_the_maximum_age(app: Flask, client, learner, clock: Clock) -> None:
    """A leaked URL used now and then keeps renewing itself; past the cap it is refused all the same."""
    person, course = learner
    tokens = app.extensions["tandem.launch_tokens"]
    token = launch_token(app, actor_for(person, course))
    step = tokens.ttl_seconds * 0.75
    used_for = 0.0
    while used_for + step <= tokens.max_age_seconds:
        clock.now += step
        used_for += step
        page = client.get("/home", query_string={"lt": token})
        assert page.status_code == 200, used_for
        token = renewed_token(page) or token

    clock.now += step
    response = client.get("/home", query_string={"lt": token})
    api = client.get("/api/v1/programmes/1/completion/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401 and error_code(response) == "launch_expired"
    assert "Open Tandem again from your course" in html.unescape(response.get_data(as_text=True))
    assert api.status_code == 401 and api.get_json()["error"] == "launch_expired"


def test_the_maximum_age_is_a_setting(app: Flask) -> None:
    from config.settings import Settings

    assert Settings().launch_token_max_age_seconds == 8 * HOUR
    assert Settings.from_env({"TANDEM_LAUNCH_TOKEN_MAX_AGE": "3600"}).launch_token_max_age_seconds == HOUR
    assert app.extensions["tandem.launch_tokens"].max_age_seconds == 8 * HOUR


def test_a_token_without_an_issue_time_is_refused(app: Flask, client, learner) -> None:
    person, course = learner
    tokens = app.extensions["tandem.launch_tokens"]
    # Signed with Tandem's key but from before tokens carried iat: it cannot say how old the visit is.
    legacy = tokens._serializer.dumps({"person_id": person.id, "registration_id": person.registration_id,
                                       "course_id": course.id, "roles": ["participant"], "csrf_token": "x"})

    response = client.get("/home", query_string={"lt": legacy})

    assert response.status_code == 401 and error_code(response) == "launch_expired"


# --------------------------------------------------------------------- what the LMS says now counts


def test_a_trainer_demoted_in_the_lms_loses_trainer_rights(app: Flask, client, db_session) -> None:
    course = CourseFactory()
    terry = enrol(course, "trainer")
    db_session.commit()
    token = launch_token(app, actor_for(terry, course, "trainer"))
    assert client.get("/course/programmes/new", query_string={"lt": token}).status_code == 200

    enrolment = db_session.scalars(select(Enrolment).where(Enrolment.person_id == terry.id)).one()
    enrolment.roles = ["participant"]  # a roster sync, or a launch as a student
    db_session.commit()

    assert client.get("/course/programmes/new", query_string={"lt": token}).status_code == 403
    assert client.get("/home", query_string={"lt": token}).status_code == 200


def test_a_learner_promoted_in_the_lms_is_a_trainer_at_once(app: Flask, client, learner) -> None:
    person, course = learner
    token = launch_token(app, actor_for(person, course))
    db.session.scalars(select(Enrolment)).one().roles = ["trainer"]
    db.session.commit()

    assert client.get("/course/programmes/new", query_string={"lt": token}).status_code == 200


@pytest.mark.parametrize("status", ["inactive", "deleted"])
def test_someone_who_left_the_course_is_signed_out(app: Flask, client, learner, status: str) -> None:
    person, course = learner
    token = launch_token(app, actor_for(person, course))
    db.session.scalars(select(Enrolment)).one().status = status
    db.session.commit()

    page = client.get("/home", query_string={"lt": token})
    api = client.get("/api/v1/programmes/1/completion/me", headers={"Authorization": f"Bearer {token}"})

    assert page.status_code == 401 and error_code(page) == "enrolment_inactive"
    assert api.status_code == 401 and api.get_json()["error"] == "enrolment_inactive"


def test_a_deactivated_registration_signs_everyone_out(app: Flask, client, learner) -> None:
    person, course = learner
    token = launch_token(app, actor_for(person, course))
    db.session.get(Registration, person.registration_id).is_active = False
    db.session.commit()

    response = client.get("/home", query_string={"lt": token})

    assert response.status_code == 401 and error_code(response) == "platform_inactive"


def test_admin_comes_from_the_person_not_the_token(app: Flask, client, db_session) -> None:
    course = CourseFactory()
    former = enrol(course, "participant")
    admin = enrol(course, "participant", is_platform_admin=True)
    db_session.commit()
    assert "admin.home" in app.view_functions

    forged = client.get("/admin", query_string={"lt": launch_token(app, actor_for(former, course, "admin"))})
    real = client.get("/admin", query_string={"lt": launch_token(app, actor_for(admin, course, "participant"))})

    assert forged.status_code == 403
    assert real.status_code == 200


def test_an_admin_launch_without_a_course_loses_its_rights_with_the_admin_flag(app: Flask, client, db_session) -> None:
    course = CourseFactory()
    admin = enrol(course, is_platform_admin=True)
    db_session.commit()
    token = launch_token(app, actor_for(admin, None, "admin"))
    assert client.get("/admin", query_string={"lt": token}).status_code == 200

    db_session.get(Person, admin.id).is_platform_admin = False  # a later launch without the admin role
    db_session.commit()
    response = client.get("/admin", query_string={"lt": token})

    assert response.status_code == 403  # no course, no admin flag: no rights left


def test_the_check_is_one_query_per_request(app: Flask, client, learner) -> None:
    person, course = learner
    token = launch_token(app, actor_for(person, course))
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get("/home", query_string={"lt": token})
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert response.status_code == 200
    checks = [s for s in statements if "registration.is_active" in s]
    assert len(checks) == 1, statements  # the page and its navigation each ask for the actor


# ------------------------------------------------------------------------------------------ caching


def no_store(response) -> bool:  # type: ignore[no-untyped-def]
    return "no-store" in response.headers.get("Cache-Control", "")


def test_pages_and_api_answers_under_a_token_are_never_cached(app: Flask, client, learner) -> None:
    person, course = learner
    token = launch_token(app, actor_for(person, course))
    requests: list[Callable[[], object]] = [
        lambda: client.get("/home", query_string={"lt": token}),
        lambda: client.get("/notifications", query_string={"lt": token}),
        lambda: client.get("/api/v1/programmes/999/completion/me", headers={"Authorization": f"Bearer {token}"}),
        lambda: client.get("/no-such-page", query_string={"lt": token}),
        lambda: client.get("/home", query_string={"lt": token + "x"}),  # refused: still the token in the URL
    ]

    for send in requests:
        response = send()
        assert no_store(response), (response.request.path, response.headers)  # type: ignore[attr-defined]
    assert client.get("/home", query_string={"lt": token}).headers["Referrer-Policy"] == "same-origin"


def test_answers_without_a_launch_token_keep_their_own_caching(client) -> None:
    response = client.get("/healthz")

    assert not no_store(response)
    assert response.headers["Referrer-Policy"] == "same-origin"
