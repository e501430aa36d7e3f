"""Drafts survive in a real browser: typed text lands in local storage, a reopened editor offers it back, a
failed save shows the typed text, and a successful save forgets the draft. Headless Chromium against the
app served on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from lti_app import create_app
from lti_app.extensions import db
from tests.conftest import make_settings
from tests.factories.diary import cast
from tests.support.launch import launch_token

pytestmark = pytest.mark.browser


@pytest.fixture()
def live(app, database_url, dialect, tmp_path) -> Iterator[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    if dialect != "sqlite":
        pytest.skip("one database is enough for the browser")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    served = create_app(make_settings(database_url, tmp_path, base_url=f"http://127.0.0.1:{port}"))
    server = make_server("127.0.0.1", port, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", served
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with served.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture()
def browser() -> Iterator[Any]:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        if os.environ.get("TANDEM_REQUIRE_BROWSER"):
            pytest.fail("Chromium and chromedriver are required here")
        pytest.skip("Chromium not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1600",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or ""), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def save_entry(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    button = browser.find_element(By.XPATH, "//button[text()='Save entry']")
    browser.execute_script("arguments[0].scrollIntoView(); arguments[0].click();", button)


def test_draft_survives_and_is_forgotten_after_saving(live, browser, db_session) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, served = live
    people = cast()
    db_session.commit()
    token = launch_token(served, people.actor("mentee"))
    rel = people.relationship.id
    key = f"tandem-draft:new-{rel}"
    wait = WebDriverWait(browser, 10)

    browser.get(f"{base}/relationships/{rel}/journal/new?lt={token}")
    browser.find_element(By.ID, "title").send_keys("Long reflection")
    browser.find_element(By.ID, "body").send_keys("Everything I typed before the wifi went down.")
    wait.until(
        lambda d: "wifi" in (d.execute_script("return window.localStorage.getItem(arguments[0])", key) or "")
    )

    browser.get(f"{base}/relationships/{rel}/journal/new?lt={token}")  # the tab was closed and reopened
    assert browser.find_element(By.ID, "body").get_attribute("value") == ""
    restore = wait.until(lambda d: d.find_element(By.XPATH, "//button[text()='Restore the draft']"))
    restore.click()
    assert browser.find_element(By.ID, "body").get_attribute("value") == (
        "Everything I typed before the wifi went down."
    )

    browser.find_element(By.ID, "title").clear()
    save_entry(browser)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-error-summary]"))
    assert "Everything I typed" in browser.find_element(By.ID, "body").get_attribute("value")
    assert not browser.find_elements(By.XPATH, "//button[text()='Restore the draft']")
    assert browser.execute_script("return window.localStorage.getItem(arguments[0])", key)

    browser.find_element(By.ID, "title").send_keys("Long reflection")
    save_entry(browser)
    wait.until(lambda d: "/journal?" in d.current_url or d.current_url.endswith("/journal"))
    wait.until(lambda d: d.execute_script("return window.localStorage.getItem(arguments[0])", key) is None)
    assert "Long reflection" in browser.page_source
