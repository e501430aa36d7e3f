"""Tandem's extensions of pylti1p3, without a database: the single-use nonce (pylti1p3 alone accepts a
replayed nonce), the audience rules, the state cookie's attributes, the login's auth URL."""

from __future__ import annotations

from typing import Any

import pytest
from pylti1p3.session import SessionService
from werkzeug.wrappers import Response

from lti_app.errors import LaunchError
from lti_app.lti.protocol import (
    LaunchRequest,
    StateCookies,
    TandemMessageLaunch,
    TandemSessionService,
    origin_of,
)
from lti_app.lti.storage import StoreLaunchData


class MemoryStore:
    """The LaunchStore interface over a dict (what the database and Redis stores do across workers)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def put(self, key: str, value: Any, ttl: int) -> None:
        self.data[key] = value

    put_now = put

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def pop(self, key: str) -> Any:
        return self.data.pop(key, None)


def session_service() -> TandemSessionService:
    return TandemSessionService(StoreLaunchData(MemoryStore(), default_ttl=60), launch_data_ttl=60)


def test_pylti1p3_alone_lets_a_nonce_pass_twice() -> None:
    """The gap this module closes: the library's check only asks whether the nonce was ever issued."""
    plain = SessionService.__new__(SessionService)
    plain.data_storage = StoreLaunchData(MemoryStore(), default_ttl=60)
    plain.save_nonce("n-1")
    assert plain.check_nonce("n-1") and plain.check_nonce("n-1")


def test_a_nonce_is_used_once() -> None:
    service = session_service()
    service.save_nonce("n-1")

    assert service.nonce_is_open("n-1")
    assert service.check_nonce("n-1") is True
    assert service.check_nonce("n-1") is False
    assert service.nonce_is_open("n-1") is False
    assert service.check_nonce("never-issued") is False


def test_state_params_and_launch_data_round_trip() -> None:
    service = session_service()
    service.save_state_params("state-1", {"nonce": "n", "iss": "https://lms"})
    service.save_launch_data("lti1p3-launch-1", {"sub": "4"})

    assert service.get_state_params("state-1") == {"nonce": "n", "iss": "https://lms"}
    assert service.get_launch_data("lti1p3-launch-1") == {"sub": "4"}


def launch_with(body: dict[str, Any]) -> TandemMessageLaunch:
    request = LaunchRequest({}, {}, secure=True)
    launch = TandemMessageLaunch(
        request,
        None,  # type: ignore[arg-type]
        session_service=session_service(),
        cookie_service=StateCookies(request, cross_site=True),
    )
    launch.set_auto_validation(enable=False).set_jwt({"body": body, "header": {}})  # type: ignore[typeddict-item]
    return launch


@pytest.mark.parametrize(
    ("claims", "client_id"),
    [
        ({"aud": "moodle-client"}, "moodle-client"),
        ({"aud": ["canvas-client"], "azp": "canvas-client"}, "canvas-client"),
        ({"aud": ["one"]}, "one"),
        ({"aud": ["canvas-client", "other-party"], "azp": "canvas-client"}, "canvas-client"),
    ],
)
def test_client_id_from_aud_and_azp(claims: dict[str, Any], client_id: str) -> None:
    assert launch_with(claims).get_client_id() == client_id


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({}, "missing_claim"),
        ({"aud": []}, "missing_claim"),
        ({"aud": 42}, "missing_claim"),
        ({"aud": ["a", "b"]}, "wrong_audience"),  # several audiences need azp (OIDC Core §2)
        ({"aud": ["a"], "azp": "b"}, "wrong_audience"),
    ],
)
def test_bad_audiences(claims: dict[str, Any], code: str) -> None:
    with pytest.raises(LaunchError) as caught:
        launch_with(claims).get_client_id()
    assert caught.value.code == code


def test_cross_site_state_cookie_attributes() -> None:
    request = LaunchRequest({}, {}, secure=True)
    cookies = StateCookies(request, cross_site=True)
    cookies.set_cookie("state-abc", "state-abc", 300)
    response = Response()

    cookies.apply(response)

    header = response.headers["Set-Cookie"]
    assert header.startswith("lti1p3-state-abc=state-abc;")
    for attribute in ("Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/lti/", "Max-Age=600"):
        assert attribute in header


def test_state_cookie_is_not_set_when_the_platform_keeps_state() -> None:
    cookies = StateCookies(LaunchRequest({}, {}, secure=True), cross_site=True, enabled=False)
    cookies.set_cookie("state-abc", "state-abc", 300)
    response = Response()
    cookies.apply(response)
    assert "Set-Cookie" not in response.headers


def test_used_state_cookie_is_expired() -> None:
    request = LaunchRequest({}, {"lti1p3-state-abc": "state-abc"}, secure=True)
    cookies = StateCookies(request, cross_site=True)
    cookies.expire("state-abc")
    response = Response()
    cookies.apply(response)
    assert "Max-Age=0" in response.headers["Set-Cookie"]


def test_request_params() -> None:
    request = LaunchRequest({"a": "1", "empty": ""}, {}, secure=False)
    assert request.get_param("a") == "1"
    assert request.get_param("empty") is None and request.has_param("empty")
    assert request.get_param("missing") is None and not request.has_param("missing")


def test_origin_of() -> None:
    assert origin_of("https://moodle.example.com/mod/lti/auth.php?x=1") == "https://moodle.example.com"
    assert origin_of("http://127.0.0.1:8080/auth") == "http://127.0.0.1:8080"
    assert origin_of("not a url") == ""
