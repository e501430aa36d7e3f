"""A learner opens Tandem inside the LMS's iframe in a browser that blocks third-party cookies.

The platform page (127.0.0.1) and Tandem (localhost) are different sites, as an LMS and a hosted tool are.
With the browser refusing Tandem's cookies in that frame, the launch must keep its OIDC state in the LMS's
storage through LTI Client Side postMessages, then carry the launch token on its own links.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from lti_app import create_app
from lti_app.extensions import db
from lti_app.models.person import Person
from lti_app.models.registration import Deployment, Registration
from tests.conftest import make_settings
from tests.platform import TestPlatform
from tests.support.browser import chromium, free_port, serve

pytestmark = pytest.mark.browser


@pytest.fixture()
def tool(app: Flask, database_url: str, dialect: str, tmp_path) -> Iterator[tuple[str, Flask]]:  # type: ignore[no-untyped-def]
    if dialect != "sqlite":
        pytest.skip("the browser tests run once, on SQLite")
    port = free_port()
    base_url = f"http://localhost:{port}"
    served = create_app(make_settings(database_url, tmp_path, base_url=base_url))
    with serve(served, port):
        yield base_url, served
    with served.app_context():
        db.session.remove()
        db.engine.dispose()


def _platform(factory: Any, tool_url: str, served: Flask, **options: Any) -> TestPlatform:
    platform: TestPlatform = factory(**options)
    platform.add_tool(tool_url)
    details = platform.registration_details()
    with served.app_context():
        registration = Registration(
            name="Browser LMS",
            issuer=details["issuer"],
            client_id=details["client_id"],
            auth_login_url=details["auth_login_url"],
            auth_token_url=details["auth_token_url"],
            key_set_url=details["key_set_url"],
            product_family=details["product_family"],
        )
        registration.deployments = [Deployment(deployment_id=d) for d in details["deployment_ids"]]
        db.session.add(registration)
        db.session.commit()
        served.extensions["tandem.platform_origins"].refresh()
    return platform


def _frame_text(driver: Any, wait_for: str, timeout: float = 20.0) -> str:
    """The text of the tool's frame once it shows ``wait_for`` (or whatever it shows at the deadline)."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        driver.switch_to.default_content()
        try:
            driver.switch_to.frame(driver.find_element(By.ID, "tool-frame"))
            text = driver.find_element(By.TAG_NAME, "body").text
        except Exception:  # noqa: BLE001 - the frame is navigating; look again
            text = ""
        if wait_for in text:
            return text
        time.sleep(0.2)
    return text


def test_launch_in_iframe_without_third_party_cookies_uses_platform_storage(
    tool: tuple[str, Flask], lti_platform_factory: Any, tmp_path
) -> None:
    tool_url, served = tool
    platform = _platform(lti_platform_factory, tool_url, served, lti_storage_target="_parent")
    sam = platform.add_user(given_name="Sam", family_name="Storage")
    course = platform.add_course(title="Leadership 101")
    platform.enrol(sam, course, "learner")
    page = platform.course_page_url(platform.launch(sam, course))

    with chromium(tmp_path / "profile", block_third_party_cookies=True) as driver:
        driver.get(page)
        text = _frame_text(driver, "Find a mentor")
        driver.switch_to.default_content()
        storage = driver.execute_script("return window.ltiStorage")
        cookies = driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
        tool_cookies = [c for c in cookies if c["domain"] == "localhost"]

    assert "Find a mentor" in text, f"the learner's home did not open in the frame; it shows: {text[:400]!r}"
    assert storage["puts"] == 2 and storage["gets"] == 2  # state and nonce, put at login, read at launch
    assert tool_cookies == []  # nothing of the launch depended on a cookie the browser would refuse
    with served.app_context():
        person = db.session.query(Person).filter_by(sub=str(sam.id)).one()
        assert person.given_name == "Sam"


def test_without_platform_storage_a_blocked_cookie_gets_a_clear_page_not_an_error(
    tool: tuple[str, Flask], lti_platform_factory: Any, tmp_path
) -> None:
    tool_url, served = tool
    platform = _platform(lti_platform_factory, tool_url, served)
    sam = platform.add_user(given_name="Sam", family_name="Cookie")
    course = platform.add_course(title="Leadership 101")
    platform.enrol(sam, course, "learner")
    page = platform.course_page_url(platform.launch(sam, course))

    with chromium(tmp_path / "profile", block_third_party_cookies=True) as driver:
        driver.get(page)
        text = _frame_text(driver, "request id")

    # The state cookie could not be kept, so the launch is refused, and the page says why, in the frame.
    assert "request id" in text, text[:400]
    assert "went wrong on our side" not in text
    with served.app_context():
        assert db.session.query(Person).count() == 0
