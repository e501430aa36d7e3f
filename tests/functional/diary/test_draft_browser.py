"""Drafts survive in a real browser: typed text lands in local storage, a reopened editor offers it back, a
failed save shows the typed text, and a successful save forgets the draft. Headless Chromium against the
app served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lti_app import create_app
from lti_app.extensions import db
from tests.conftest import make_settings
from tests.factories.diary import cast
from tests.support.browser import chromium, free_port, serve
from tests.support.launch import launch_token

pytestmark = pytest.mark.browser


@pytest.fixture()
def live(app, database_url, dialect, tmp_path) -> Iterator[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    if dialect != "sqlite":
        pytest.skip("one database is enough for the browser")
    port = free_port()
    served = create_app(make_settings(database_url, tmp_path, base_url=f"http://127.0.0.1:{port}"))
    with serve(served, port):
        yield f"http://127.0.0.1:{port}", served
    with served.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def browser(tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    with chromium(tmp_path / "profile") as driver:
        yield driver


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
    key = f"tandem-draft:p{people.mentee.id}-new-{rel}"
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


def test_the_other_member_is_not_offered_someones_draft(live, browser, db_session) -> None:
    """A shared computer: the mentee types a private note and leaves; the mentor opens the editor in the
    same browser. Nothing of hers is offered to him, and drafts a week old or without an owner are gone."""
    import json
    import time

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, served = live
    people = cast(diary_writers="both")
    db_session.commit()
    rel = people.relationship.id
    wait = WebDriverWait(browser, 10)
    mentee_key = f"tandem-draft:p{people.mentee.id}-new-{rel}"
    mentor_key = f"tandem-draft:p{people.mentor.id}-new-{rel}"
    stored = "return window.localStorage.getItem(arguments[0])"

    browser.get(f"{base}/relationships/{rel}/journal/new?lt={launch_token(served, people.actor('mentee'))}")
    browser.find_element(By.ID, "body").send_keys("My mentor never listens.")
    wait.until(lambda d: "never listens" in (d.execute_script(stored, mentee_key) or ""))

    # Planted as earlier versions of Tandem (or a week-old visit) would have left them.
    eight_days_ago = int(time.time() * 1000) - 8 * 24 * 3600 * 1000
    old = json.dumps({"savedAt": eight_days_ago, "fields": {"body": "Old words"}})
    legacy = json.dumps({"savedAt": int(time.time() * 1000), "fields": {"body": "Unowned words"}})
    plant = "window.localStorage.setItem(arguments[0], arguments[1])"
    browser.execute_script(plant, mentor_key, old)
    browser.execute_script(plant, f"tandem-draft:new-{rel}", legacy)

    browser.get(f"{base}/relationships/{rel}/journal/new?lt={launch_token(served, people.actor('mentor'))}")
    # The sweep runs first, then the editor is watched in the same script turn: once the stale draft is
    # gone, any offer would already be on the page.
    wait.until(lambda d: d.execute_script(stored, mentor_key) is None)  # a week old: dropped
    assert browser.execute_script(stored, f"tandem-draft:new-{rel}") is None  # nobody's: dropped
    assert not browser.find_elements(By.XPATH, "//button[text()='Restore the draft']")
    assert "never listens" not in browser.page_source and "Old words" not in browser.page_source
    assert browser.find_element(By.ID, "body").get_attribute("value") == ""
