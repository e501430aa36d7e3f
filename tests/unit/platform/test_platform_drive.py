"""drive_launch, the bad-launch catalogue, deep linking and dynamic registration, against the fake tool (as a
Flask test client and served live) and against a tool built on pylti1p3, the library the real tool uses."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from flask import Flask, jsonify, request
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.grade import Grade
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfDict

from lti_app.demo_lms import vocab
from lti_app.demo_lms.platform import DeepLinkingSettings, PlatformKey
from tests.platform import (
    BAD_LAUNCH_CASES,
    LaunchDriveError,
    TestPlatform,
    bad_launch,
    drive_dynamic_registration,
    drive_launch,
    submit_deep_linking_response,
)
from tests.platform.drive import parse_forms
from tests.platform.fake_tool import LOGIN_MODES, LiveServer, make_fake_tool
from tests.platform.tool_side import make_deep_linking_response


def people(platform: TestPlatform) -> tuple[Any, Any, Any]:
    course = platform.add_course(title="Leadership 101")
    sam = platform.add_user(given_name="Sam", family_name="Student")
    terry = platform.add_user(given_name="Terry", family_name="Trainer")
    platform.enrol(sam, course, "learner")
    platform.enrol(terry, course, "instructor")
    return course, sam, terry


@pytest.mark.parametrize("login_mode", LOGIN_MODES)
def test_launch_through_a_test_client(
    moodle: TestPlatform, lti_tool_key: PlatformKey, login_mode: str
) -> None:
    client = make_fake_tool(moodle, lti_tool_key, login_mode=login_mode).test_client()
    course, sam, _ = people(moodle)
    response = drive_launch(client, moodle, sam, course, custom={"department": "Sales"})
    assert response.status_code == 200, response.get_data(as_text=True)
    claims = response.get_json()["claims"]
    assert claims["sub"] == sam.id and claims[vocab.CLAIM_ROLES] == [vocab.ROLE_LEARNER]
    assert claims[vocab.CLAIM_CUSTOM]["department"] == "Sales"
    assert claims[vocab.CLAIM_CONTEXT]["title"] == "Leadership 101"
    assert moodle.count("auth") == 0  # in-process authorization for a test client


def test_get_login_secure_cookies_and_http_authorization(
    moodle: TestPlatform, lti_tool_key: PlatformKey
) -> None:
    client = make_fake_tool(moodle, lti_tool_key, secure_cookie=True).test_client()
    course, _, terry = people(moodle)
    response = drive_launch(client, moodle, terry, course, method="GET", via_http=True, role="administrator")
    assert response.status_code == 200, response.get_data(as_text=True)
    roles = response.get_json()["claims"][vocab.CLAIM_ROLES]
    assert vocab.ROLE_SYSTEM_ADMINISTRATOR in roles
    assert moodle.count("auth") == 1


def test_launch_against_a_live_tool(
    lti_platform_factory: Any, lti_tool_key: PlatformKey, live_server: LiveServer
) -> None:
    platform = lti_platform_factory(tool_url=live_server.url, tool_jwks={"keys": [lti_tool_key.public_jwk]})
    live_server.app = make_fake_tool(platform, lti_tool_key, secure_cookie=True, base_url=live_server.url)
    server = live_server
    course, sam, _ = people(platform)
    response = drive_launch(server.url, platform, sam, course)
    assert response.status_code == 200, response.text
    assert response.json()["sub"] == sam.id
    assert platform.count("auth") == 1


def test_mentor_and_canvas_launch(canvas: TestPlatform, lti_tool_key: PlatformKey) -> None:
    client = make_fake_tool(canvas, lti_tool_key).test_client()
    course, sam, terry = people(canvas)
    mentor = canvas.add_user()
    canvas.enrol(mentor, course, "mentor", mentees=[sam])
    claims = drive_launch(client, canvas, mentor, course).get_json()["claims"]
    assert vocab.ROLE_MENTOR in claims[vocab.CLAIM_ROLES]
    assert claims[vocab.CLAIM_ROLE_SCOPE_MENTOR] == [sam.id]
    assert claims["aud"] == [canvas.config().client_id] and claims["azp"] == canvas.config().client_id


def test_several_clients_and_deployments(moodle: TestPlatform, lti_tool_key: PlatformKey) -> None:
    second_client = moodle.add_tool("http://localhost")
    second_deployment = moodle.add_deployment(second_client.client_id)
    client = make_fake_tool(moodle, lti_tool_key).test_client()
    course, sam, _ = people(moodle)
    claims = drive_launch(client, moodle, sam, course, config=second_deployment).get_json()["claims"]
    assert claims["aud"] == second_client.client_id
    assert claims[vocab.CLAIM_DEPLOYMENT_ID] == second_deployment.deployment_id != second_client.deployment_id
    assert "type_id=" + second_deployment.deployment_id in claims[vocab.CLAIM_AGS_ENDPOINT]["lineitem"]


def test_key_rotation_during_launches(moodle: TestPlatform, lti_tool_key: PlatformKey) -> None:
    client = make_fake_tool(moodle, lti_tool_key).test_client()
    course, sam, _ = people(moodle)
    assert drive_launch(client, moodle, sam, course).status_code == 200
    moodle.rotate_key()
    assert drive_launch(client, moodle, sam, course).status_code == 200  # the tool refetches the JWKS


def test_a_tool_that_redirects_elsewhere_fails_clearly(moodle: TestPlatform) -> None:
    app = Flask("lost_tool")

    @app.route("/lti/login", methods=["GET", "POST"])
    def login() -> Any:
        return "<p>No idea who you are</p>", 200

    course, sam, _ = people(moodle)
    with pytest.raises(LaunchDriveError, match="does not lead to the platform"):
        drive_launch(app.test_client(), moodle, sam, course)


# ------------------------------------------------------------------------------------------- bad launches


@pytest.mark.parametrize("case", BAD_LAUNCH_CASES)
def test_the_fake_tool_refuses_every_bad_launch(
    moodle: TestPlatform, lti_tool_key: PlatformKey, case: str
) -> None:
    client = make_fake_tool(moodle, lti_tool_key).test_client()
    course, sam, _ = people(moodle)
    responses = bad_launch(client, moodle, sam, course, case, all_responses=True)
    final = responses[-1]
    assert 400 <= final.status_code < 500, (case, final.status_code, final.get_data(as_text=True)[:300])
    if case == "replayed":
        assert responses[0].status_code == 200
    if case == "oversized_body":
        assert final.status_code == 413


def test_bad_launch_missing_any_claim(moodle: TestPlatform, lti_tool_key: PlatformKey) -> None:
    client = make_fake_tool(moodle, lti_tool_key).test_client()
    course, sam, _ = people(moodle)
    response = bad_launch(client, moodle, sam, course, "missing_claim", claim=vocab.CLAIM_ROLES)
    assert response.status_code == 400
    with pytest.raises(ValueError, match="unknown bad launch"):
        bad_launch(client, moodle, sam, course, "slightly_off")


# ------------------------------------------------------------------------------- deep linking, registration


def test_deep_linking_round_trip(moodle: TestPlatform, lti_tool_key: PlatformKey) -> None:
    client = make_fake_tool(moodle, lti_tool_key).test_client()
    course, _, terry = people(moodle)
    launch = drive_launch(
        client, moodle, terry, course, "deep_linking", deep_linking=DeepLinkingSettings(data="x1")
    )
    claims = launch.get_json()["claims"]
    settings = claims[vocab.CLAIM_DL_SETTINGS]
    assert claims[vocab.CLAIM_MESSAGE_TYPE] == vocab.MSG_DEEP_LINKING and settings["data"] == "x1"
    item = {"type": "ltiResourceLink", "title": "Reverse mentoring", "lineItem": {"scoreMaximum": 1}}
    token = make_deep_linking_response(moodle.config(), lti_tool_key, [item], data="x1")
    page = (
        f'<form action="{settings["deep_link_return_url"]}" method="post">'
        f'<input type="hidden" name="JWT" value="{token}"></form><script>document.forms[0].submit()</script>'
    )
    result = submit_deep_linking_response(moodle, page)
    assert [link.title for link in result.created_links] == ["Reverse mentoring"]
    with pytest.raises(LaunchDriveError, match="refused"):
        submit_deep_linking_response(
            moodle, token, return_url=settings["deep_link_return_url"], via_http=False
        )


def test_dynamic_registration_through_the_tool(moodle: TestPlatform, lti_tool_key: PlatformKey) -> None:
    app = make_fake_tool(moodle, lti_tool_key)
    response, registration = drive_dynamic_registration(app.test_client(), moodle)
    assert response.status_code == 200 and "org.imsglobal.lti.close" in response.get_data(as_text=True)
    assert registration is not None
    status, answer = app.extensions["fake_tool"]["registrations"][-1]
    assert status == 200 and answer["client_id"] == registration.client_id
    course, sam, _ = people(moodle)
    launched = drive_launch(app.test_client(), moodle, sam, course, client_id=registration.client_id)
    assert launched.status_code == 200
    assert launched.get_json()["claims"][vocab.CLAIM_CUSTOM] == {}


# ------------------------------------------------------------------------------------------ pylti1p3 tool


def make_pylti_tool(platform: TestPlatform, key: PlatformKey) -> tuple[Flask, dict[str, Any]]:
    """A tool written the way pylti1p3's Flask example is: a compatibility check for the platform."""
    details = platform.registration_details()
    conf = ToolConfDict(
        {
            details["issuer"]: [
                {
                    "default": True,
                    "client_id": details["client_id"],
                    "auth_login_url": details["auth_login_url"],
                    "auth_token_url": details["auth_token_url"],
                    "key_set_url": details["key_set_url"],
                    "key_set": None,
                    "deployment_ids": details["deployment_ids"],
                }
            ]
        }
    )
    conf.set_private_key(details["issuer"], key.private_pem, client_id=details["client_id"])
    conf.set_public_key(details["issuer"], key.public_pem, client_id=details["client_id"])
    platform.tool_jwks = {"keys": [Registration.get_jwk(key.public_pem)]}
    app = Flask("pylti_tool")
    app.secret_key = "pylti-test-secret"
    seen: dict[str, Any] = {}

    @app.route("/lti/login", methods=["GET", "POST"])
    def login() -> Any:
        oidc = FlaskOIDCLogin(FlaskRequest(), conf)
        return oidc.enable_check_cookies().redirect(request.values["target_link_uri"])

    @app.route("/lti/launch", methods=["POST"])
    def launch() -> Any:
        message = FlaskMessageLaunch(FlaskRequest(), conf)
        data = message.get_launch_data()
        seen["launch"] = message
        if message.is_deep_link_launch():
            resource = DeepLinkResource().set_url("http://localhost/lti/launch").set_title("From pylti1p3")
            return message.get_deep_link().output_response_form([resource])
        return jsonify({"sub": data["sub"]})

    return app, seen


def test_pylti1p3_tool_launches_grades_and_reads_the_roster(lti_platform_factory: Any) -> None:
    platform = lti_platform_factory(tool_url="http://localhost", nrps_page_size=2)
    key = PlatformKey.generate()
    app, seen = make_pylti_tool(platform, key)
    course, sam, terry = people(platform)
    for _ in range(3):
        platform.enrol(platform.add_user(), course)
    response = drive_launch(app.test_client(), platform, sam, course)
    assert response.status_code == 200, response.get_data(as_text=True)
    message = seen["launch"]
    grade = (
        Grade()
        .set_score_given(7)
        .set_score_maximum(10)
        .set_timestamp(time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))
        .set_activity_progress("Completed")
        .set_grading_progress("FullyGraded")
        .set_user_id(sam.id)
    )
    message.get_ags().put_grade(grade)  # keeps ?type_id= after /scores, as Moodle needs
    final = platform.final_score(sam)
    assert final is not None and final.score_given == 7
    members = message.get_nrps().get_members()  # follows the (lower-cased) next links
    assert len(members) == 5 and platform.count("nrps") == 3
    assert platform.count("token") == 2  # one per scope set: pylti1p3 caches per connector


def test_pylti1p3_tool_deep_links(lti_platform_factory: Any) -> None:
    platform = lti_platform_factory(tool_url="http://localhost")
    app, _ = make_pylti_tool(platform, PlatformKey.generate())
    course, _, terry = people(platform)
    page = drive_launch(app.test_client(), platform, terry, course, "deep_linking", role="instructor")
    assert page.status_code == 200, page.get_data(as_text=True)
    result = submit_deep_linking_response(platform, page.get_data(as_text=True))
    assert [link.title for link in result.created_links] == ["From pylti1p3"]


def test_browser_launch_page_delivers_the_login_initiation(moodle: TestPlatform) -> None:
    course, sam, _ = people(moodle)
    initiation = moodle.launch(sam, course)
    page = requests.get(moodle.launch_page_url(initiation), timeout=5)
    (form,) = parse_forms(page.text)
    assert form.action == moodle.config().tool_login_url and form.method == "POST"
    assert form.fields == initiation.params
    assert requests.get(moodle.url("/launch/unknown"), timeout=5).status_code == 404
