"""The issue's "Done when", end to end through real LTI 1.3 launches from the Moodle-shaped test platform:
a trainer creates a programme, two learners fill profiles, one finds the other by skill, requests, is
accepted, both see the active relationship, a third request beyond capacity is refused with a clear message
(on the pages and on the API), and the trainer's overview shows the pair."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import select

from lti_app.extensions import db
from lti_app.models.programme import Programme
from lti_app.models.registration import Deployment, Registration
from tests.functional.mentoring.pages import Browser, text
from tests.platform import TestPlatform, drive_launch

TOOL_URL = "http://tool.test"


def _register(platform: TestPlatform) -> None:
    """Register the platform in Tandem, as an LMS admin would."""
    details = platform.registration_details(platform.config(None))
    registration = Registration(
        name="Test Moodle",
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


def _launch(app: Flask, platform: TestPlatform, user, course, link, role: str, **options) -> Browser:  # type: ignore[no-untyped-def]
    """A real launch in a browser of its own (its own cookie jar); the page it lands on and its token."""
    client = app.test_client()
    response = drive_launch(client, platform, user, course, resource_link=link, role=role, **options)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    location = urlsplit(response.headers["Location"])
    browser = Browser(app, client, token=parse_qs(location.query)["lt"][0])
    browser.landing = location.path  # type: ignore[attr-defined]
    return browser


def _section(page, name: str) -> str:  # type: ignore[no-untyped-def]
    match = re.search(rf'id="{name}">(.*?)</(?:ul|table)>', page.get_data(as_text=True), re.S)
    assert match, name
    return match.group(1)


def test_done_when_through_real_launches(app: Flask, lti_platform: TestPlatform) -> None:
    moodle = lti_platform
    moodle.add_tool(TOOL_URL)
    _register(moodle)
    course = moodle.add_course(title="Leadership 101", label="LEAD101")
    link = moodle.add_resource_link(course, "Mentoring")
    terry = moodle.add_user(given_name="Terry", family_name="Trainer", email="terry@example.com")
    ada = moodle.add_user(given_name="Ada", family_name="Mentor", email="ada@example.com")
    bob = moodle.add_user(given_name="Bob", family_name="Mentee", email="bob@example.com")
    cy = moodle.add_user(given_name="Cy", family_name="Third", email="cy@example.com")
    moodle.enrol(terry, course, "instructor")
    for learner in (ada, bob, cy):
        moodle.enrol(learner, course, "learner")

    # The trainer launches from the activity, lands on the programmes page and creates a programme.
    trainer = _launch(app, moodle, terry, course, link, "instructor")
    assert trainer.landing == "/course/programmes"
    created = trainer.post(
        "/course/programmes/new",
        {
            "title": "Career mentoring",
            "relationship_type": "mentoring",
            "model": "one_to_one",
            "status": "open",
            "request_policy": "mentee",
            "mentor_roles": ["participant"],
            "mentor_requires_opt_in": "1",
            "default_capacity": "1",
            "request_expiry_days": "14",
            "flash_duration_days": "14",
            "diary_writers": "both",
            "matching_mode": "self_selection",
        },
    )
    assert created.status_code == 303, text(created)
    programme = db.session.scalar(select(Programme))
    assert programme.placement_id is not None  # bound to the activity it was created from

    # Two learners launch and fill their profiles; the LMS prefilled Ada's department.
    mentor_page = _launch(app, moodle, ada, course, link, "learner", custom={"department": "Analytics"})
    assert mentor_page.landing == "/home"
    assert 'value="Analytics"' in mentor_page.get("/profile").get_data(as_text=True)
    mentor_page.post(
        "/profile", {"headline": "Data analyst", "skills": "Python, SQL", "department": "Analytics"}
    )
    mentor_page.post(f"/programmes/{programme.id}/preferences", {"open_to_mentor": "1"})
    mentee_page = _launch(app, moodle, bob, course, link, "learner")
    mentee_page.post("/profile", {"skills_wanted": "python", "goals": "Automate my reports"})

    # Bob finds Ada by skill and asks; Ada accepts; both see the active relationship.
    found = mentee_page.get(f"/programmes/{programme.id}/mentors", skill="python")
    assert "Ada Mentor" in _section(found, "results")
    asked = mentee_page.post(
        f"/programmes/{programme.id}/requests",
        {"person_id": _person_id(found, "Ada"), "message": "Could you help me with Python?"},
    )
    assert asked.status_code == 303
    relationship_id = int(asked.headers["Location"].split("?")[0].rsplit("/", 1)[1])
    assert "Bob Mentee" in _section(mentor_page.get("/home"), "inbound")
    assert mentor_page.post(f"/relationships/{relationship_id}/accept").status_code == 303
    assert 'data-status="active"' in _section(mentor_page.get("/home"), "current")
    assert "Ada Mentor" in _section(mentee_page.get("/home"), "current")

    # A third request beyond capacity is refused with a clear message, on the page and on the API.
    third = _launch(app, moodle, cy, course, link, "learner")
    ada_id = _person_id(found, "Ada")
    refused = third.post(f"/programmes/{programme.id}/requests", {"person_id": ada_id})
    assert refused.status_code == 409
    assert "Ada Mentor has no free place in this programme: 1 of 1 mentee place taken." in text(refused)
    api = third.api("post", "/api/v1/requests", json={"programme_id": programme.id, "person_id": ada_id})
    assert api.status_code == 409 and api.get_json()["error"] == "mentor_full"

    # The trainer's overview shows the pair, on the page and on the API.
    pairs = _section(trainer.get(f"/programmes/{programme.id}/overview"), "pairs")
    assert "Ada Mentor" in pairs and "Bob Mentee" in pairs
    overview = trainer.api("get", f"/api/v1/programmes/{programme.id}/overview").get_json()
    assert [(p["mentors"], p["mentees"]) for p in overview["pairs"]] == [(["Ada Mentor"], ["Bob Mentee"])]


def _person_id(page, given_name: str) -> int:  # type: ignore[no-untyped-def]
    html = page.get_data(as_text=True)
    for person_id, block in re.findall(r'data-person-id="(\d+)">(.*?)</div></div></div>', html, re.S):
        if given_name in block:
            return int(person_id)
    raise AssertionError(f"{given_name} is not among the results")
