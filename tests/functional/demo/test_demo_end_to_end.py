"""The demo LMS launching Tandem end to end, as ``make run`` serves it: a real HTTP server on loopback (the
tool fetches the demo's key set over HTTP, from itself), a browser-like session following every form and
redirect: demo launch link → /lti/login → /demo/auth → /lti/launch → Tandem's page."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest
import requests
from werkzeug.serving import make_server

from lti_app import create_app
from lti_app.demo_lms import store
from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.person import Enrolment, Person
from tests.conftest import make_settings

from .conftest import form_of


@pytest.fixture()
def live(app, database_url, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Tandem with its demo LMS served on 127.0.0.1 (tables come from the ``app`` fixture, which also
    empties them afterwards)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    served = create_app(make_settings(database_url, tmp_path, base_url=base_url))
    with served.app_context():
        store.ensure_demo(db.session, served.extensions["tandem.settings"])
        db.session.commit()
    server = make_server("127.0.0.1", port, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        thread.join(timeout=10)
        with served.app_context():
            db.session.remove()
            db.engine.dispose()


def follow(session: requests.Session, response: requests.Response) -> requests.Response:
    """Submit auto-submitting forms and follow redirects until a page that is neither."""
    for _ in range(10):
        if response.is_redirect:
            response = session.get(urljoin(response.url, response.headers["Location"]), allow_redirects=False)
            continue
        if 'id="lti-handoff"' in response.text:
            form = form_of(response.text)
            url = urljoin(response.url, form.action)
            if form.method == "get":
                response = session.get(url, params=form.fields, allow_redirects=False)
            else:
                response = session.post(url, data=form.fields, allow_redirects=False)
            continue
        return response
    raise AssertionError("too many hops")


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
