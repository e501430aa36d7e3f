"""``/admin/moodle-ws``: admins connect their platform to Moodle web services; the token is checked
before it is stored, stored sealed, and never shown back."""

from __future__ import annotations

import pytest

from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.registration import Registration
from lti_app.views.admin.moodle_ws import HTTP_KEY
from tests.factories.core import actor_for
from tests.factories.mentoring import enrol
from tests.functional.roster.conftest import WS_TOKEN, Browser, quick_http

FORM = {
    "moodle_field": ["department", "interests", "skills", ""],
    "profile_field": ["department", "interests", "skills", ""],
}


@pytest.fixture(autouse=True)
def fast_http(app, monkeypatch) -> None:
    monkeypatch.setitem(app.extensions, HTTP_KEY, quick_http)


@pytest.fixture(autouse=True)
def _moodle_site(moodle_is_the_issuer) -> None:
    """Every test here saves settings for the fake Moodle, which plays the platform's own site."""


@pytest.fixture
def admin(app, course) -> Browser:
    tandem_course = db.session.get(Course, course.id)
    person = enrol(tandem_course, "trainer", is_platform_admin=True)
    db.session.commit()
    return Browser(app, actor_for(person, tandem_course, "trainer", "admin"))


def stored(registration) -> Registration:
    db.session.expire_all()
    return db.session.get(Registration, registration.id)


def test_the_page_shows_the_form_to_admins_only(app, admin, course) -> None:
    page = admin.get("/admin/moodle-ws")
    assert page.status_code == 200
    assert "No token stored yet" in page.get_data(as_text=True)

    tandem_course = db.session.get(Course, course.id)
    trainer = enrol(tandem_course, "trainer")
    db.session.commit()
    other = Browser(app, actor_for(trainer, tandem_course, "trainer"))
    assert other.get("/admin/moodle-ws").status_code == 403
    assert other.post("/admin/moodle-ws", {"url": "https://x.test", "token": WS_TOKEN}).status_code == 403


def test_saving_checks_the_token_seals_it_and_never_shows_it(admin, registration, moodle_ws, box) -> None:
    response = admin.post("/admin/moodle-ws", {"url": moodle_ws.url + "/", "token": WS_TOKEN, **FORM})

    assert response.status_code == 303 and "done=saved" in response.headers["Location"]
    assert [c["wsfunction"] for c in moodle_ws.calls] == ["core_webservice_get_site_info"]
    saved = stored(registration)
    assert saved.moodle_ws_url == moodle_ws.url
    assert saved.moodle_ws_token_sealed != WS_TOKEN and box.open(saved.moodle_ws_token_sealed) == WS_TOKEN
    assert saved.moodle_field_map == {
        "department": "department",
        "interests": "interests",
        "skills": "skills",
    }
    page = admin.get("/admin/moodle-ws", done="saved").get_data(as_text=True)
    assert WS_TOKEN not in page and saved.moodle_ws_token_sealed not in page
    assert "A token is stored" in page and "Saved. Moodle accepted the token" in page


def test_a_token_moodle_refuses_is_not_stored(admin, registration, moodle_ws) -> None:
    response = admin.post("/admin/moodle-ws", {"url": moodle_ws.url, "token": "f" * 32, **FORM})

    assert response.status_code == 422
    assert "invalidtoken" in response.get_data(as_text=True)
    assert stored(registration).moodle_ws_token_sealed is None


def test_a_token_missing_a_function_is_refused(admin, registration, moodle_ws) -> None:
    moodle_ws.functions = ("core_webservice_get_site_info",)

    response = admin.post("/admin/moodle-ws", {"url": moodle_ws.url, "token": WS_TOKEN, **FORM})

    assert response.status_code == 422
    assert "core_user_get_users_by_field" in response.get_data(as_text=True)
    assert stored(registration).moodle_ws_url is None


def test_an_invalid_mapping_names_the_field(admin, registration, moodle_ws) -> None:
    form = {"moodle_field": ["department", "team"], "profile_field": ["department", "salary"]}

    response = admin.post("/admin/moodle-ws", {"url": moodle_ws.url, "token": WS_TOKEN, **form})

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "team" in body and "salary" in body
    assert moodle_ws.calls == [] and stored(registration).moodle_ws_url is None


def test_a_blank_token_keeps_the_stored_one(admin, registration, moodle_ws, box) -> None:
    admin.post("/admin/moodle-ws", {"url": moodle_ws.url, "token": WS_TOKEN, **FORM})

    form = {"moodle_field": ["city"], "profile_field": ["location"]}
    response = admin.post("/admin/moodle-ws", {"url": moodle_ws.url, "token": "", **form})

    assert response.status_code == 303
    saved = stored(registration)
    assert box.open(saved.moodle_ws_token_sealed) == WS_TOKEN
    assert saved.moodle_field_map == {"city": "location"}


def test_checking_and_removing_the_settings(admin, registration, moodle_ws) -> None:
    admin.post("/admin/moodle-ws", {"url": moodle_ws.url, "token": WS_TOKEN, **FORM})

    checked = admin.post("/admin/moodle-ws", {"action": "check"})
    assert checked.status_code == 200
    assert "Connected to Moodle Lab" in checked.get_data(as_text=True)
    removed = admin.post("/admin/moodle-ws", {"action": "clear"})
    assert removed.status_code == 303
    saved = stored(registration)
    assert (saved.moodle_ws_url, saved.moodle_ws_token_sealed, saved.moodle_field_map) == (None, None, None)


def test_a_form_without_its_csrf_token_is_refused(admin, registration, moodle_ws) -> None:
    response = admin.post("/admin/moodle-ws", {"url": moodle_ws.url, "token": WS_TOKEN, **FORM}, csrf=False)

    assert response.status_code == 400
    assert stored(registration).moodle_ws_url is None and moodle_ws.calls == []


def test_a_site_outside_the_platforms_origin_is_refused(admin, registration, moodle_ws, httpserver) -> None:
    """The token is only ever sent to the platform's own site (its issuer's origin)."""
    elsewhere = moodle_ws.url.replace("localhost", "127.0.0.1") if "localhost" in moodle_ws.url else (
        moodle_ws.url.replace("127.0.0.1", "localhost")
    )
    for url in (elsewhere, "https://attacker.example", moodle_ws.url.replace("http://", "https://")):
        response = admin.post("/admin/moodle-ws", {"url": url, "token": WS_TOKEN, **FORM})
        assert response.status_code == 422, url
        assert "own site" in response.get_data(as_text=True)
    assert moodle_ws.calls == [] and stored(registration).moodle_ws_url is None


def test_changing_the_site_url_asks_for_the_token_again(admin, registration, moodle_ws, box) -> None:
    admin.post("/admin/moodle-ws", {"url": moodle_ws.url, "token": WS_TOKEN, **FORM})
    moodle_ws.calls.clear()

    moved = moodle_ws.url + "/moodle"
    response = admin.post("/admin/moodle-ws", {"url": moved, "token": "", **FORM})

    assert response.status_code == 422
    assert "paste the token again" in response.get_data(as_text=True)
    assert moodle_ws.calls == []  # the stored token went nowhere
    saved = stored(registration)
    assert saved.moodle_ws_url == moodle_ws.url and box.open(saved.moodle_ws_token_sealed) == WS_TOKEN
