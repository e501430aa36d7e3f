"""The demo LMS launching Tandem end to end, as ``make run`` serves it: a real HTTP server on loopback (the
tool fetches the demo's key set over HTTP, from itself), a browser-like session following every form and
redirect: demo launch link → /lti/login → /demo/auth → /lti/launch → Tandem's page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from lti_app.demo_lms import store
from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.person import Enrolment, Person

from .conftest import follow, serving


@pytest.fixture()
def live(app, database_url, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    def prepare(served):  # type: ignore[no-untyped-def]
        store.ensure_demo(db.session, served.extensions["tandem.settings"])
        db.session.commit()

    with serving(database_url, tmp_path, prepare) as base_url:
        yield base_url


@pytest.mark.parametrize(
    "user_id, tandem_role",
    [("demo-learner", "participant"), ("demo-trainer", "trainer"), ("demo-admin", "admin")],
)
def test_launching_from_the_demo_signs_in_to_tandem(live, db_session, user_id, tandem_role) -> None:
    with requests.Session() as browser:
        start = browser.get(f"{live}/demo/launch", params={"user": user_id, "link": "demo-link-1"},
                            allow_redirects=False, timeout=30)
        page = follow(browser, start)
    assert page.status_code == 200, page.text[:1000]
    assert "lt=" in page.url, "the landing page carries the launch token"
    person = db_session.query(Person).filter_by(sub=user_id).one()
    course = db_session.query(Course).filter_by(context_id="demo-course-1").one()
    enrolment = db_session.query(Enrolment).filter_by(person_id=person.id, course_id=course.id).one()
    assert tandem_role in enrolment.roles
