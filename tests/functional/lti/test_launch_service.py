"""``record_launch``: verified claims → course, person, enrolment, placement and profile.

Driven with the claims of real Moodle 4.5 launches (tests/platform/data/moodle-4.5), so Moodle's shapes
(empty ``person_sourcedid``, locale only in ``launch_presentation``, ``?type_id=`` service URLs) are the
contract, and with odd shapes no LMS should send but a test must survive.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_app.errors import LaunchError
from lti_app.extensions import db
from lti_app.lti import claims as c
from lti_app.models.course import Course, Placement
from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.models.registration import Deployment
from lti_app.services.launch import PREFILL_KEY, record_launch
from tests.factories.core import DeploymentFactory
from tests.platform import moodle_fixture


def moodle_claims(name: str = "launch_student.json") -> dict[str, Any]:
    return copy.deepcopy(moodle_fixture(name)["payload"])


@pytest.fixture
def deployment(app: Flask) -> Deployment:
    found: Deployment = DeploymentFactory(
        deployment_id="1",
        registration__issuer="http://127.0.0.1:8080",
        registration__client_id="at60R5zwy5HUfTm",
    )
    db.session.commit()
    return found


def launch(deployment: Deployment, claims: dict[str, Any]):  # type: ignore[no-untyped-def]
    result = record_launch(
        db.session, registration=deployment.registration, deployment=deployment, claims=claims
    )
    db.session.commit()
    return result


def test_moodle_student_launch(deployment: Deployment) -> None:
    claims = moodle_claims()

    result = launch(deployment, claims)

    assert result.roles == ("participant",)
    assert result.message_type == "LtiResourceLinkRequest"
    person = result.person
    assert (person.sub, person.name, person.email, person.locale) == (
        "4",
        "Sam StudentOne",
        "student1@example.com",
        "en",
    )
    assert person.lis_person_sourcedid is None  # Moodle sends "" when it has none
    course = result.course
    assert (course.context_id, course.title, course.label) == ("2", "LTI Lab Course", "LTILAB")
    assert course.memberships_url == claims[c.NRPS]["context_memberships_url"]
    assert course.lineitems_url == "http://127.0.0.1:8080/mod/lti/services.php/2/lineitems?type_id=1"
    assert course.deployment_id == deployment.id
    placement = result.placement
    assert (placement.resource_link_id, placement.title) == ("1", "Lab LTI Activity")
    assert placement.lineitem_url == claims[c.AGS_ENDPOINT]["lineitem"]
    assert placement.custom == claims[c.CUSTOM]
    assert result.enrolment.lti_roles == claims[c.ROLES]


def test_moodle_teacher_and_deep_linking_launches_share_the_course(deployment: Deployment) -> None:
    teacher = launch(deployment, moodle_claims("launch_teacher.json"))
    chooser = launch(deployment, moodle_claims("launch_deeplink_teacher.json"))

    assert teacher.roles == chooser.roles == ("trainer",)
    assert chooser.placement is None and chooser.message_type == "LtiDeepLinkingRequest"
    assert teacher.course.id == chooser.course.id
    assert teacher.person.id == chooser.person.id
    assert db.session.scalar(select(func.count()).select_from(Enrolment)) == 1


def test_launch_without_names_keeps_the_names_it_had(deployment: Deployment) -> None:
    launch(deployment, moodle_claims())
    anonymous = moodle_claims()
    for claim in ("name", "given_name", "family_name", "email"):
        anonymous.pop(claim)

    person = launch(deployment, anonymous).person

    assert (person.name, person.email) == ("Sam StudentOne", "student1@example.com")


def test_profile_follows_the_lms_until_the_person_edits_it(deployment: Deployment) -> None:
    claims = moodle_claims()
    claims[c.CUSTOM].update(department="Sales", skills="SQL, Excel", location="Leeds")
    profile = launch(deployment, claims).profile
    assert (profile.department, profile.skills, profile.location) == ("Sales", ["sql", "excel"], "Leeds")

    profile.location = "Remote"  # the person typed this in Tandem
    db.session.commit()
    claims[c.CUSTOM].update(department="Marketing", skills="SQL", location="York")
    profile = launch(deployment, claims).profile

    assert profile.department == "Marketing"  # still the LMS's value: follows the LMS
    assert profile.skills == ["sql"]
    assert profile.location == "Remote"  # typed by the person: kept
    assert profile.extra[PREFILL_KEY]["department"] == "Marketing"


def test_profile_parameters_accept_the_lti_1_1_prefix_and_skip_unresolved_variables(deployment) -> None:
    claims = moodle_claims()
    claims[c.CUSTOM].update(
        custom_department="Legal",
        timezone="$Person.address.timezone",
        languages="  ",
        headline="x" * 500,
        interests=7,
    )

    profile = launch(deployment, claims).profile

    assert profile.department == "Legal"
    assert profile.time_zone == "" and profile.languages == []
    assert len(profile.headline) == 200
    assert profile.interests == ["7"]


def test_invalid_time_zone_is_ignored(deployment: Deployment) -> None:
    claims = moodle_claims()
    claims[c.CUSTOM]["timezone"] = "Mars/Olympus_Mons"
    assert launch(deployment, claims).profile.time_zone == ""


def test_learner_launch_without_a_course_is_refused(deployment: Deployment) -> None:
    claims = moodle_claims()
    claims.pop(c.CONTEXT)

    with pytest.raises(LaunchError) as caught:
        record_launch(db.session, registration=deployment.registration, deployment=deployment, claims=claims)

    assert caught.value.code == "missing_context"


def test_admin_launch_without_a_course_is_accepted(deployment: Deployment) -> None:
    claims = moodle_claims()
    claims.pop(c.CONTEXT)
    claims[c.ROLES] = ["http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator"]

    result = launch(deployment, claims)

    assert (result.course, result.enrolment, result.placement) == (None, None, None)
    assert result.person.is_platform_admin


def test_ids_longer_than_the_spec_allows_are_refused(deployment: Deployment) -> None:
    claims = moodle_claims()
    claims["sub"] = "x" * 256
    with pytest.raises(LaunchError) as caught:
        record_launch(db.session, registration=deployment.registration, deployment=deployment, claims=claims)
    assert caught.value.code == "invalid_claim"


def test_odd_shapes_do_not_crash(deployment: Deployment) -> None:
    claims = moodle_claims()
    claims[c.CONTEXT]["title"] = {"not": "a string"}
    claims[c.NRPS] = "not an object"
    claims[c.AGS_ENDPOINT] = {"scope": "not a list", "lineitem": 42}
    claims[c.RESOURCE_LINK]["id"] = 17
    claims[c.ROLES] = ["Learner", {"odd": True}, None]
    claims[c.CUSTOM] = ["not", "a", "dict"]
    claims["email"] = None

    result = launch(deployment, claims)

    assert result.course.title == "" and result.course.memberships_url is None
    assert result.placement.resource_link_id == "17"
    assert result.roles == ("participant",)
    assert result.person.email is None


def test_concurrent_first_launches_meet_on_the_same_rows(app: Flask, deployment: Deployment) -> None:
    """Two workers launching the same new person into the same new course at once."""
    registration_id, deployment_pk = deployment.registration_id, deployment.id
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        with app.app_context():
            try:
                current = db.session.get(Deployment, deployment_pk)
                barrier.wait()
                record_launch(
                    db.session, registration=current.registration, deployment=current, claims=moodle_claims()
                )
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    for model in (Course, Person, Enrolment, Placement, Profile):
        assert db.session.scalar(select(func.count()).select_from(model)) == 1, model
    assert db.session.scalar(select(Person.registration_id)) == registration_id


def test_unchanged_relaunch_writes_only_the_launch_times(deployment: Deployment) -> None:
    from sqlalchemy import event

    launch(deployment, moodle_claims())
    db.session.expire_all()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        launch(deployment, moodle_claims())
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert statements.count("UPDATE") == 2  # person.last_launch_at, enrolment.last_synced_at
    assert statements.count("INSERT") == 0
