"""Numbers nobody should send (a superscript digit, a number beyond any id) are refused with a precise 4xx
on pages, paths and the JSON API; never a 500, and nothing is saved on the way to the refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti_app.models.matching import PairConstraint
from lti_app.models.notification import Notification
from tests.factories.core import ProgrammeFactory, actor_for, pair
from tests.factories.mentoring import NotificationFactory, enrol, mentee, mentor
from tests.functional.mentoring.pages import Browser

HUGE = "9" * 25


@pytest.fixture()
def cast(app, db_session):
    programme = ProgrammeFactory()
    course = programme.course
    trainer = enrol(course, "trainer")
    ada, bob = mentor(programme), mentee(programme)
    rel = pair(programme, ada, bob, "active")
    db_session.commit()
    return {
        "programme": programme,
        "rel": rel,
        "trainer": actor_for(trainer, course, "trainer"),
        "ada": ada,
        "bob": bob,
        "mentee": actor_for(bob, course),
    }


@pytest.mark.parametrize(
    "path",
    [
        f"/programmes/{HUGE}/overview",
        f"/programmes/{HUGE}",
        f"/relationships/{HUGE}",
        f"/people/{HUGE}",
        "/programmes/\u0663/overview",  # an Arabic-Indic digit three: not an id
    ],
)
def test_path_ids_beyond_any_id_are_404(app, client, cast, path) -> None:
    assert Browser(app, client, cast["trainer"]).get(path).status_code == 404


@pytest.mark.parametrize(
    "path", [f"/api/v1/relationships/{HUGE}", f"/api/v1/programmes/{HUGE}", f"/api/v1/profiles/{HUGE}"]
)
def test_api_path_ids_beyond_any_id_are_404(app, client, cast, path) -> None:
    answer = Browser(app, client, cast["trainer"]).api("get", path)
    assert answer.status_code == 404 and answer.get_json()["error"] == "not_found"


def test_marking_notifications_read_refuses_what_is_not_an_id(app, client, db_session, cast) -> None:
    mine = NotificationFactory(person_id=cast["bob"].id, course_id=cast["programme"].course_id)
    db_session.commit()
    page = Browser(app, client, cast["mentee"])
    for bad in ("\u00b2", HUGE, "x"):
        assert page.post("/notifications/read", {"id": bad}).status_code == 422
    assert db_session.scalar(select(func.count()).where(Notification.read_at.is_not(None))) == 0
    assert page.post("/notifications/read", {"id": str(mine.id)}).status_code == 303
    db_session.refresh(mine)
    assert mine.read_at is not None


def test_a_bad_run_id_on_a_matching_constraint_saves_nothing(app, client, db_session, cast) -> None:
    page = Browser(app, client, cast["trainer"])
    url = f"/programmes/{cast['programme'].id}/matching/constraints"
    form = {"mentee_id": cast["bob"].id, "mentor_id": cast["ada"].id, "kind": "forbidden"}
    for bad in ("\u00b2", HUGE):
        assert page.post(url, {**form, "run_id": bad}).status_code == 422
    db_session.expire_all()
    assert db_session.scalar(select(func.count(PairConstraint.id))) == 0
    assert page.post(url, form).status_code == 303
    assert db_session.scalar(select(func.count(PairConstraint.id))) == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/requests", {"programme_id": "{programme}", "person_id": int(HUGE)}),
        ("post", "/api/v1/requests", {"programme_id": int(HUGE), "person_id": "{ada}"}),
        (
            "post",
            "/api/v1/relationships",
            {"programme_id": "{programme}", "mentor_ids": [int(HUGE)], "mentee_ids": ["{bob}"]},
        ),
        ("post", "/api/v1/relationships/{rel}/reassign", {"remove_person_id": "{ada}", "add_person_id": int(HUGE)}),
        ("post", "/api/v1/notifications/read", {"ids": [int(HUGE)]}),
    ],
)
def test_json_ids_beyond_any_id_are_422(app, client, cast, method, path, body) -> None:
    ids = {"programme": cast["programme"].id, "ada": cast["ada"].id, "bob": cast["bob"].id, "rel": cast["rel"].id}

    def fill(value):
        if isinstance(value, list):
            return [fill(v) for v in value]
        return ids[value[1:-1]] if isinstance(value, str) else value

    answer = Browser(app, client, cast["trainer"]).api(
        method, path.format(**ids), json={k: fill(v) for k, v in body.items()}
    )
    assert answer.status_code == 422 and answer.get_json()["error"] == "validation_failed"
