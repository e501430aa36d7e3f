"""Launches without third-party cookies: LTI Client Side postMessages (``lti_storage_target``).

The browser's part (the two pages' scripts talking to the LMS's storage frame) is played here by reading
the JSON each page hands its script and keeping the platform's storage in a dict, as the LMS page would.
Runs on the database store and on Redis.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask

from tests.platform import LaunchFlow, TestPlatform
from tests.platform.drive import AuthRequest, parse_forms

from .conftest import TOOL_URL, register
from .support import PlatformStorage, expected_endpoint, landed, page_config

TARGET = "post_message_forwarding"


@pytest.fixture
def storage_platform(lti_platform_factory, app: Flask) -> TestPlatform:
    platform = lti_platform_factory(lti_storage_target=TARGET)
    platform.add_tool(TOOL_URL)
    register(platform)
    return platform


def login_with_storage(client, platform: TestPlatform, storage: PlatformStorage):  # type: ignore[no-untyped-def]
    """Login → the storage page's puts → platform auth → first launch post. Returns (flow, auth, reply)."""
    flow = LaunchFlow(client, platform)
    sam = platform.add_user()
    initiation = flow.start(sam, platform.add_course())
    assert initiation.params["lti_storage_target"] == TARGET

    page = client.post("/lti/login", base_url=TOOL_URL, data=initiation.params)

    assert page.status_code == 200
    assert not [c for c in page.headers.getlist("Set-Cookie") if c.startswith("lti1p3-")]
    config = page_config(page.get_data(as_text=True))
    assert config["target"] == TARGET and config["origin"] == platform.base_url
    assert 'nonce="' in page.get_data(as_text=True)  # the inline script carries the CSP nonce
    storage.put("state_" + config["state"], config["state"])
    storage.put("nonce_" + config["nonce"], config["nonce"])
    url = config["auth_url"]
    auth = flow.authorize(AuthRequest(url, "GET", dict(parse_qsl(urlsplit(url).query))))
    return flow, auth, flow.post(auth.fields)


def post_proof(client, check_page: str, storage: PlatformStorage, *, origin: str = TOOL_URL):  # type: ignore[no-untyped-def]
    """What the check page's script does: read state and nonce back from the LMS, post the form."""
    config = page_config(check_page)
    form = parse_forms(check_page, TOOL_URL + "/lti/launch")[0]
    fields = dict(form.fields)
    fields[config["state_field"]] = storage.get("state_" + config["state"]) or ""
    fields[config["nonce_field"]] = storage.get("nonce_" + config["nonce"]) or ""
    return client.post(urlsplit(form.action).path, base_url=TOOL_URL, data=fields, headers={"Origin": origin})


def test_launch_through_platform_storage(store_app: Flask, storage_platform: TestPlatform) -> None:
    client = store_app.test_client()
    storage = PlatformStorage()
    _, _, first = login_with_storage(client, storage_platform, storage)

    assert first.status_code == 200  # the check page, not yet a launch
    assert first.headers["Cache-Control"] == "no-store"
    check_page = first.get_data(as_text=True)
    assert page_config(check_page)["origin"] == storage_platform.base_url

    response = post_proof(client, check_page, storage)

    endpoint, _, payload = landed(store_app, response)
    assert endpoint == expected_endpoint(store_app, "pages.home")
    assert payload["roles"] == ["participant"]


def test_storage_proof_from_another_site_is_not_believed(app: Flask, client, storage_platform) -> None:
    storage = PlatformStorage()
    _, _, first = login_with_storage(client, storage_platform, storage)

    response = post_proof(client, first.get_data(as_text=True), storage, origin="https://evil.test")

    assert response.status_code == 200  # just the check page again: nothing accepted
    assert "Location" not in response.headers


def test_storage_of_another_browser_is_refused(app: Flask, client, storage_platform) -> None:
    _, _, first = login_with_storage(client, storage_platform, PlatformStorage())

    response = post_proof(client, first.get_data(as_text=True), PlatformStorage())  # holds nothing

    assert response.status_code == 400
    assert 'data-error-code="state_mismatch"' in response.get_data(as_text=True)


def test_storage_launch_cannot_be_replayed(app: Flask, client, storage_platform) -> None:
    storage = PlatformStorage()
    _, _, first = login_with_storage(client, storage_platform, storage)
    check_page = first.get_data(as_text=True)
    landed(app, post_proof(client, check_page, storage))

    again = post_proof(client, check_page, storage)

    assert again.status_code == 400
    assert 'data-error-code="replayed_launch"' in again.get_data(as_text=True)


def test_cookie_login_sets_a_partitioned_cross_site_cookie(make_app, use_app, lti_platform) -> None:
    """On HTTPS the state cookie is ``SameSite=None; Secure; Partitioned`` (CHIPS), scoped to /lti/."""
    secure_app = use_app(make_app(base_url="https://tool.test"))
    lti_platform.add_tool("https://tool.test")
    register(lti_platform)
    initiation = lti_platform.launch(lti_platform.add_user(), lti_platform.add_course())

    response = secure_app.test_client().post(
        "/lti/login", base_url="https://tool.test", data=initiation.params
    )

    assert response.status_code == 302
    assert response.headers["Location"].startswith(lti_platform.auth_url + "?")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("lti1p3-state-"))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "partitioned", "samesite"} <= attributes
    assert "SameSite=None" in cookie and "Path=/lti/" in cookie
    query = dict(parse_qsl(urlsplit(response.headers["Location"]).query))
    assert query["redirect_uri"] == "https://tool.test/lti/launch"
    assert (query["scope"], query["response_type"], query["response_mode"], query["prompt"]) == (
        "openid",
        "id_token",
        "form_post",
        "none",
    )
    assert query["login_hint"] == initiation.params["login_hint"]
    assert query["lti_message_hint"] == initiation.params["lti_message_hint"]
