"""A trainer's capacity limit and a mentor's own preference are two figures: the mentor may lower what
they take, never raise it above the trainer's limit, and saving their choices never clears the limit."""

from __future__ import annotations

import pytest

from lti_app.services import programmes
from lti_app.services.capacity import effective_capacity
from tests.factories.core import ProgrammeFactory, actor_for
from tests.factories.mentoring import enrol
from tests.functional.mentoring.pages import Browser, text


@pytest.fixture()
def setting(app):
    programme = ProgrammeFactory(default_capacity=3)
    trainer, mentor = enrol(programme.course, "trainer"), enrol(programme.course)
    return programme, actor_for(trainer, programme.course, "trainer"), mentor


def _capacity(db_session, programme, person) -> int:
    return effective_capacity(programme, programmes.membership(db_session, programme.id, person.id), None)


def test_a_mentor_cannot_raise_the_trainers_limit(db_session, setting) -> None:
    programme, trainer, mentor = setting
    programmes.set_capacity_override(db_session, trainer, programme.id, mentor.id, 1)
    row = programmes.set_preferences(
        db_session, actor_for(mentor, programme.course), programme.id, open_to_mentor=True, capacity=100
    )
    assert row.capacity_override == 100 and row.trainer_capacity == 1
    assert _capacity(db_session, programme, mentor) == 1


def test_a_mentor_may_take_fewer_than_the_trainers_limit(db_session, setting) -> None:
    programme, trainer, mentor = setting
    programmes.set_capacity_override(db_session, trainer, programme.id, mentor.id, 5)
    programmes.set_preferences(
        db_session, actor_for(mentor, programme.course), programme.id, open_to_mentor=True, capacity=2
    )
    assert _capacity(db_session, programme, mentor) == 2


def test_clearing_ones_own_figure_keeps_the_trainers_limit(db_session, setting) -> None:
    programme, trainer, mentor = setting
    actor = actor_for(mentor, programme.course)
    programmes.set_preferences(db_session, actor, programme.id, open_to_mentor=True, capacity=4)
    programmes.set_capacity_override(db_session, trainer, programme.id, mentor.id, 1)
    row = programmes.set_preferences(db_session, actor, programme.id, open_to_mentor=True, clear_capacity=True)
    assert row.capacity_override is None and row.trainer_capacity == 1
    assert _capacity(db_session, programme, mentor) == 1
    # And the trainer lifting their limit leaves the mentor's own figure alone.
    programmes.set_preferences(db_session, actor, programme.id, capacity=2)
    row = programmes.set_capacity_override(db_session, trainer, programme.id, mentor.id, None)
    assert row.trainer_capacity is None and row.capacity_override == 2


def test_saving_the_preferences_form_without_capacity_keeps_everything(app, client, db_session, setting) -> None:
    programme, trainer, mentor = setting
    actor = actor_for(mentor, programme.course)
    programmes.set_preferences(db_session, actor, programme.id, open_to_mentor=True, capacity=2)
    programmes.set_capacity_override(db_session, trainer, programme.id, mentor.id, 1)
    db_session.commit()
    page = Browser(app, client, actor)
    # A form without the capacity field (e.g. only the checkboxes) changes neither figure.
    assert page.post(f"/programmes/{programme.id}/preferences", {"open_to_mentor": "1"}).status_code == 303
    row = programmes.membership(db_session, programme.id, mentor.id)
    db_session.refresh(row)
    assert (row.capacity_override, row.trainer_capacity) == (2, 1)
    # The field sent blank clears the mentor's own figure only.
    sent = page.post(f"/programmes/{programme.id}/preferences", {"open_to_mentor": "1", "capacity": ""})
    assert sent.status_code == 303
    db_session.refresh(row)
    assert (row.capacity_override, row.trainer_capacity) == (None, 1)
    shown = text(page.get(f"/programmes/{programme.id}"))
    assert "A trainer limited you to 1 mentee in this programme" in shown


def test_the_api_keeps_the_trainers_limit(app, client, db_session, setting) -> None:
    programme, trainer, mentor = setting
    programmes.set_capacity_override(db_session, trainer, programme.id, mentor.id, 1)
    db_session.commit()
    api = Browser(app, client, actor_for(mentor, programme.course))
    url = f"/api/v1/programmes/{programme.id}/membership"
    body = api.api("put", url, json={"open_to_mentor": True, "capacity": 50}).get_json()
    assert body["capacity_override"] == 50 and body["trainer_capacity"] == 1 and body["capacity"] == 1
    body = api.api("put", url, json={"open_to_be_mentored": False}).get_json()
    assert body["capacity_override"] == 50 and body["trainer_capacity"] == 1
    body = api.api("put", url, json={"capacity": None}).get_json()
    assert body["capacity_override"] is None and body["trainer_capacity"] == 1 and body["capacity"] == 1
    assert api.api("get", url).get_json()["capacity"] == 1
