"""MoodleWebServiceClient: Moodle-style parameters, HTTP-200 exceptions, and a token that never leaks."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lms_clients import LMSHttp, LMSRequestError, MoodleWebServiceClient
from lms_clients.moodle import encode_params

REST = "/webservice/rest/server.php"
WSTOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def moodle(base_url: str, http: LMSHttp) -> MoodleWebServiceClient:
    return MoodleWebServiceClient(base_url + "/", WSTOKEN, http)


def answering(wsfunction: str, answer: Any) -> Callable[[Request], Response]:
    """A Moodle REST server for one function: checks how it is called, answers JSON."""

    def handler(request: Request) -> Response:
        assert request.method == "POST"
        assert request.args.to_dict() == {"wsfunction": wsfunction, "moodlewsrestformat": "json"}
        assert request.form["wstoken"] == WSTOKEN
        return Response(json.dumps(answer), content_type="application/json; charset=utf-8")

    return handler


SITE_INFO = {
    "sitename": "Moodle Lab",
    "username": "tandem-ws",
    "firstname": "Tandem",
    "lastname": "Service",
    "fullname": "Tandem Service",
    "lang": "en",
    "userid": 7,
    "siteurl": "http://127.0.0.1:8080",
    "userpictureurl": "http://127.0.0.1:8080/theme/image.php/boost/core/1/u/f1",
    "functions": [
        {"name": "core_user_get_users_by_field", "version": "2024100700"},
        {"name": "core_completion_get_course_completion_status", "version": "2024100700"},
    ],
    "downloadfiles": 0,
    "uploadfiles": 0,
    "release": "4.5.6 (Build: 20250811)",
    "version": "2024100706",
    "siteid": 1,
}


def test_site_info(lms_server: HTTPServer, moodle: MoodleWebServiceClient) -> None:
    handler = answering("core_webservice_get_site_info", SITE_INFO)
    lms_server.expect_request(REST).respond_with_handler(handler)

    info = moodle.site_info()

    assert (info.site_name, info.user_id, info.username) == ("Moodle Lab", 7, "tandem-ws")
    assert info.release is not None and info.release.startswith("4.5")
    assert "core_user_get_users_by_field" in info.functions


def test_users_by_field_with_profile_and_custom_fields(
    lms_server: HTTPServer, moodle: MoodleWebServiceClient, received: Callable[[str], list[Request]]
) -> None:
    users = [
        {
            "id": 4,
            "username": "student1",
            "firstname": "Sam",
            "lastname": "StudentOne",
            "fullname": "Sam StudentOne",
            "email": "student1@example.com",
            "department": "Engineering",
            "institution": "",
            "idnumber": "",
            "interests": "Python, Data science,  Mentoring",
            "firstaccess": 1795300000,
            "auth": "manual",
            "suspended": False,
            "confirmed": True,
            "lang": "en",
            "country": "GB",
            "profileimageurl": "http://127.0.0.1:8080/theme/image.php/boost/core/1/u/f1",
            "customfields": [
                {"type": "text", "value": "Data", "displayvalue": "Data", "name": "Team",
                 "shortname": "team"},
                {"type": "menu", "value": "Remote", "displayvalue": "Remote", "name": "Site",
                 "shortname": "site"},
            ],
            "preferences": [{"name": "auth_forcepasswordchange", "value": "0"}],
        },
        {"id": 6, "username": "student3", "fullname": "Sid StudentThree", "email": "student3@example.com"},
    ]
    lms_server.expect_request(REST).respond_with_handler(answering("core_user_get_users_by_field", users))

    found = moodle.users_by_field("email", ["student1@example.com", "student3@example.com"])

    [request] = received(REST)
    assert request.form.to_dict() == {
        "wstoken": WSTOKEN,
        "field": "email",
        "values[0]": "student1@example.com",
        "values[1]": "student3@example.com",
    }
    sam, sid = found
    assert (sam.id, sam.username, sam.department) == (4, "student1", "Engineering")
    assert sam.institution is None and sam.idnumber is None
    assert sam.interests == ("Python", "Data science", "Mentoring")
    assert sam.custom_field("team") == "Data" and sam.custom_field("site") == "Remote"
    assert sam.custom_field("missing") is None
    assert sam.customfields[0].name == "Team" and sam.customfields[0].display_value == "Data"
    assert sam.suspended is False
    assert sid.customfields == () and sid.interests == () and sid.department is None


def test_users_by_field_checks_the_field(moodle: MoodleWebServiceClient) -> None:
    with pytest.raises(ValueError, match="field must be one of"):
        moodle.users_by_field("department", ["x"])
    assert moodle.users_by_field("id", []) == []


def test_course_completion_status(
    lms_server: HTTPServer, moodle: MoodleWebServiceClient, received: Callable[[str], list[Request]]
) -> None:
    answer = {
        "completionstatus": {
            "completed": True,
            "aggregation": 1,
            "completions": [
                {
                    "type": 4,
                    "title": "Activity completion",
                    "status": "Yes",
                    "complete": True,
                    "timecompleted": 1795311358,
                    "details": {"type": "Activity completion", "criteria": "Lab LTI Activity",
                                "requirement": "Marking yourself complete", "status": ""},
                },
                {"type": 2, "title": "Date", "status": "No", "complete": False, "timecompleted": None,
                 "details": {}},
            ],
        },
        "warnings": [],
    }
    lms_server.expect_request(REST).respond_with_handler(
        answering("core_completion_get_course_completion_status", answer)
    )

    status = moodle.course_completion_status(2, 4)

    assert request_form(received) == {"wstoken": WSTOKEN, "courseid": "2", "userid": "4"}
    assert status.completed is True and status.aggregation == 1
    first, second = status.criteria
    assert first.complete and first.time_completed == datetime.fromtimestamp(1795311358, UTC)
    assert first.details["criteria"] == "Lab LTI Activity"
    assert not second.complete and second.time_completed is None


def request_form(received: Callable[[str], list[Request]]) -> dict[str, str]:
    [request] = received(REST)
    return request.form.to_dict()


def test_moodle_exception_body_becomes_an_error_without_the_token(
    lms_server: HTTPServer, moodle: MoodleWebServiceClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    lms_server.expect_request(REST).respond_with_json(
        {
            "exception": "moodle_exception",
            "errorcode": "invalidtoken",
            "message": f"Invalid token - token not found ({WSTOKEN})",
        }
    )

    with pytest.raises(LMSRequestError) as caught:
        moodle.site_info()

    error = caught.value
    assert error.errorcode == "invalidtoken"
    assert error.status == 200
    assert "core_webservice_get_site_info failed: invalidtoken: Invalid token" in str(error)
    for text in (str(error), repr(error), error.body or "", error.url or "", error.message, caplog.text):
        assert WSTOKEN not in text
    assert WSTOKEN not in repr(moodle)


def test_non_json_answer_is_an_error(lms_server: HTTPServer, moodle: MoodleWebServiceClient) -> None:
    lms_server.expect_request(REST).respond_with_data(
        "<html>Web services must be enabled</html>", content_type="text/html"
    )
    with pytest.raises(LMSRequestError, match="not valid JSON"):
        moodle.site_info()


def test_unexpected_shape_is_an_error(lms_server: HTTPServer, moodle: MoodleWebServiceClient) -> None:
    lms_server.expect_request(REST).respond_with_json([{"username": "no id"}])
    with pytest.raises(LMSRequestError, match=r"items\.0\.id"):
        moodle.users_by_field("username", ["x"])


def test_http_error_does_not_leak_the_token(lms_server: HTTPServer, moodle: MoodleWebServiceClient) -> None:
    lms_server.expect_request(REST).respond_with_data(f"proxy echo wstoken={WSTOKEN}", status=403)
    with pytest.raises(LMSRequestError) as caught:
        moodle.call("core_webservice_get_site_info")
    assert caught.value.status == 403
    assert WSTOKEN not in (caught.value.body or "")


def test_encode_params_the_php_way() -> None:
    assert encode_params(
        {
            "field": "email",
            "values": ["a@x", "b@x"],
            "options": {"ids": [1, 2], "active": True, "skip": None},
            "empty": [],
        }
    ) == [
        ("field", "email"),
        ("values[0]", "a@x"),
        ("values[1]", "b@x"),
        ("options[ids][0]", "1"),
        ("options[ids][1]", "2"),
        ("options[active]", "1"),
    ]
