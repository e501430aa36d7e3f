"""Fixtures for roster sync: the test LTI platform on loopback (NRPS with paging, statuses and a token
endpoint that verifies the tool's client assertion with the JWKS Tandem publishes at ``/lti/jwks``), a
Tandem course wired to one of its courses, and a fake Moodle web service on a pytest-httpserver."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lms_clients import LMSHttp
from lti_app.crypto import SecretBox
from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.registration import Registration
from lti_app.services.keys import ensure_key
from lti_app.services.roster import RosterServices, RosterSummary, roster_services, sync_course
from tests.factories.roster import register_platform, tandem_course
from tests.platform import TestPlatform
from tests.platform.server import Course as LmsCourse

TOOL_URL = "http://tool.test"
WS_TOKEN = "0123456789abcdef0123456789abcdef"
REST_PATH = "/webservice/rest/server.php"


def quick_http() -> LMSHttp:
    """Retries without waiting, and short timeouts: tests never sleep through a backoff."""
    return LMSHttp(connect_timeout=2.0, read_timeout=5.0, sleep=lambda _: None)


@pytest.fixture
def box(app: Flask) -> SecretBox:
    return SecretBox(app.extensions["tandem.settings"].secret_key)


@pytest.fixture
def platform(lti_platform_factory: Callable[..., TestPlatform], app: Flask, box: SecretBox) -> TestPlatform:
    """A Moodle-shaped platform that checks client assertions against Tandem's published JWKS."""
    ensure_key(db.session, box)
    db.session.commit()  # the platform reads /lti/jwks from another thread
    client = app.test_client()
    started = lti_platform_factory(tool_jwks_provider=lambda _config: client.get("/lti/jwks").get_json())
    started.add_tool(TOOL_URL)
    return started


@pytest.fixture
def registration(platform: TestPlatform) -> Registration:
    return register_platform(platform)


@pytest.fixture
def lms_course(platform: TestPlatform) -> LmsCourse:
    return platform.add_course(title="Leadership 101")


@pytest.fixture
def course(platform: TestPlatform, registration: Registration, lms_course: LmsCourse) -> Course:
    return tandem_course(platform, registration, lms_course)


@pytest.fixture
def sync(course: Course, registration: Registration, box: SecretBox) -> Callable[..., RosterSummary]:
    """Run one sync of ``course`` the way the job runner does, but in the test's session."""

    def run(**options: Any) -> RosterSummary:
        with quick_http() as http:
            services: RosterServices = roster_services(
                db.session, db.session.get(Registration, registration.id), box, http
            )
            summary = sync_course(db.session, db.session.get(Course, course.id), services, **options)
        db.session.commit()
        return summary

    return run


# ------------------------------------------------------------------------------------ fake Moodle WS


@dataclass
class FakeMoodle:
    """Answers core_webservice_get_site_info and core_user_get_users_by_field like Moodle 4.5."""

    server: HTTPServer
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, str]] = field(default_factory=list)
    functions: tuple[str, ...] = (
        "core_webservice_get_site_info",
        "core_user_get_users_by_field",
        "core_completion_get_course_completion_status",
    )
    failure: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def user(self, moodle_id: str, **fields: Any) -> None:
        self.users[moodle_id] = {"id": int(moodle_id), "username": f"user{moodle_id}", **fields}

    def handle(self, request: Request) -> Response:
        form = request.form.to_dict()
        function = request.args.get("wsfunction", "")
        self.calls.append({"wsfunction": function, **form})
        if form.get("wstoken") != WS_TOKEN:
            body: Any = {
                "exception": "moodle_exception",
                "errorcode": "invalidtoken",
                "message": "Invalid token - token not found",
            }
        elif self.failure is not None:
            body = self.failure
        elif function == "core_webservice_get_site_info":
            body = {
                "sitename": "Moodle Lab",
                "siteurl": self.url,
                "userid": 7,
                "username": "tandem-ws",
                "release": "4.5.1 (Build: 20241209)",
                "version": "2024100701",
                "functions": [{"name": f, "version": "2024100700"} for f in self.functions],
            }
        elif function == "core_user_get_users_by_field":
            ids = [v for k, v in sorted(form.items()) if k.startswith("values[")]
            body = [self.users[i] for i in ids if i in self.users]
        else:
            body = {
                "exception": "dml_missing_record_exception",
                "errorcode": "invalidrecord",
                "message": "Can't find data record in database table external_functions.",
            }
        # Moodle labels its JSON answers application/json and answers errors with HTTP 200.
        return Response(json.dumps(body), status=200, content_type="application/json")

    def ws_calls(self, function: str) -> list[dict[str, str]]:
        return [c for c in self.calls if c["wsfunction"] == function]


@pytest.fixture
def moodle_ws(httpserver: HTTPServer) -> FakeMoodle:
    fake = FakeMoodle(httpserver)
    httpserver.expect_request(REST_PATH).respond_with_handler(fake.handle)
    return fake


@pytest.fixture
def moodle_is_the_issuer(registration: Registration, moodle_ws: FakeMoodle) -> FakeMoodle:
    """Moodle's site URL is its LTI issuer, and Tandem sends a web service token only to that origin: the
    fake Moodle plays the platform's own site."""
    db.session.get(Registration, registration.id).issuer = moodle_ws.url
    db.session.commit()
    return moodle_ws


@pytest.fixture
def with_moodle_ws(moodle_ws: FakeMoodle, registration: Registration, box: SecretBox) -> FakeMoodle:
    """The registration configured for Moodle web services with a mapping of three fields."""
    reg = db.session.get(Registration, registration.id)
    reg.moodle_ws_url = moodle_ws.url
    reg.moodle_ws_token_sealed = box.seal(WS_TOKEN)
    reg.moodle_field_map = {"department": "department", "interests": "interests", "skills": "skills"}
    db.session.commit()
    return moodle_ws


# ------------------------------------------------------------------------------ pages as a launched person


class Browser:
    """Links and forms carry the launch token, forms the CSRF token a page of that launch would carry."""

    def __init__(self, app: Flask, actor: Any) -> None:
        from flask import g
        from flask_wtf.csrf import generate_csrf

        from tests.support.launch import launch_token

        self.client = app.test_client()
        self.token = launch_token(app, actor)
        with app.test_request_context("/course/roster", query_string={"lt": self.token}):
            g.pop("csrf_token", None)  # Flask-WTF caches it on the shared app context's g
            self.csrf = generate_csrf()
            g.pop("csrf_token", None)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, query_string={"lt": self.token, **params})

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True) -> Any:
        form: dict[str, Any] = {"lt": self.token, **(data or {})}
        if csrf:
            form["csrf_token"] = self.csrf
        return self.client.post(path, data=form)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        return getattr(self.client, method)(path, headers=headers, **kwargs)
