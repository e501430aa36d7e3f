"""Numbers in 360 forms and bodies are read as ASCII decimals: "²" passes ``str.isdigit()`` but not
``int()``; thousands of digits pass neither ``int()`` nor the database. Each is a precise 422 (on the
anonymous outside rater's page too), never a 500, and nothing is written."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from lti_app.models.feedback import FeedbackCycle, FeedbackRequest, FeedbackResponse
from lti_app.services.feedback import links, nominations
from tests.factories.feedback import course_with_subject, items, self_rater, start_cycle
from tests.functional.feedback.pages import form_token, launch_headers
from tests.support.launch import api_headers

HUGE, ENORMOUS = "9" * 30, "9" * 5000


def rating_forms(cycle) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """A complete set of answers, each spoiled in one odd way."""
    first = items(cycle)[0].id
    full = {f"rating-{i.id}": "4" for i in items(cycle)}
    return [
        {**full, "rating-²": "4"},
        {**full, f"rating-{first}": "²"},
        {**full, f"rating-{first}": "--4"},
        {**full, f"rating-{first}": "-²"},
        {**full, f"rating-{first}": ENORMOUS},
        {**full, f"rating-{HUGE}": "4"},
        {**full, f"rating-{ENORMOUS}": "4"},
        {**full, "comment-²": "Kind words"},
        {**full, f"comment-{ENORMOUS}": "Kind words"},
    ]


def test_odd_numbers_on_the_answer_page_are_a_422(app, client, db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    own = self_rater(setup, cycle).request
    db_session.commit()
    me = launch_headers(app, setup.subject_actor)
    page = client.get(f"/feedback/requests/{own.id}/answer", headers=me)
    for form in rating_forms(cycle):
        posted = client.post(
            f"/feedback/requests/{own.id}/answer",
            data={"csrf_token": form_token(page), "action": "submit", **form},
            headers=me,
        )
        assert posted.status_code == 422, form.keys()
    assert db_session.scalar(select(func.count()).select_from(FeedbackResponse)) == 0


def test_odd_numbers_on_the_outside_raters_page_are_a_422(app, client, db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    outsider = nominations.nominate(
        db_session, setup.trainer_actor, cycle.id, group="other", email="ext@example.org"
    )
    token = links.issue_link(db_session, outsider)
    db_session.commit()
    page = client.get(f"/feedback/answer/{token}")
    assert page.status_code == 200
    for form in rating_forms(cycle):
        posted = client.post(
            "/feedback/answer",
            data={"csrf_token": form_token(page), "token": token, "action": "submit", **form},
        )
        assert posted.status_code == 422, form.keys()
    db_session.expire_all()
    assert db_session.get(FeedbackRequest, outsider.id).status == "invited"


@pytest.mark.parametrize("key", [ENORMOUS, "²", "4\n"], ids=["5000-digits", "superscript", "newline"])
def test_odd_question_ids_in_api_answers_are_a_422(app, client, db_session, key) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    own = self_rater(setup, cycle).request
    db_session.commit()
    for body in ({"ratings": {key: 3}}, {"comments": {key: "Words"}}):
        response = client.put(
            f"/api/v1/feedback/requests/{own.id}/draft", json=body, headers=api_headers(app, setup.subject_actor)
        )
        assert response.status_code == 422, body
        assert response.get_json()["error"] == "validation_failed"


@pytest.mark.parametrize(
    "field, value",
    [
        ("measures", f"programme:{HUGE}"),
        pytest.param("measures", f"relationship:{ENORMOUS}", id="measures-5000-digits"),
        ("measures", "programme:²"),
        ("subject_id", HUGE),
        ("template_id", HUGE),
        ("template_id", "²"),
    ],
)
def test_odd_numbers_in_the_cycle_form_are_a_422(app, client, db_session, field, value) -> None:
    setup = course_with_subject()
    db_session.commit()
    trainer = launch_headers(app, setup.trainer_actor)
    form_page = client.get("/feedback/cycles/new", headers=trainer)
    closes = (date.today() + timedelta(days=10)).isoformat()
    posted = client.post(
        "/feedback/cycles/new",
        data={"csrf_token": form_token(form_page), "closes_on": closes, field: value},
        headers=trainer,
    )
    assert posted.status_code == 422
    assert db_session.scalar(select(func.count()).select_from(FeedbackCycle)) == 0


@pytest.mark.parametrize("value", [HUGE, "²", "0"])
def test_odd_people_in_the_nomination_form_are_a_422(app, client, db_session, value) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    db_session.commit()
    me = launch_headers(app, setup.subject_actor)
    page = client.get(f"/feedback/cycles/{cycle.id}", headers=me)
    posted = client.post(
        f"/feedback/cycles/{cycle.id}/nominations",
        data={"csrf_token": form_token(page), "person_id": value, "group": "peer"},
        headers=me,
    )
    assert posted.status_code == 422
    api = client.post(
        f"/api/v1/feedback/cycles/{cycle.id}/nominations",
        json={"group": "peer", "person_id": int(value) if value.isascii() else value},
        headers=api_headers(app, setup.subject_actor),
    )
    assert api.status_code == 422


@pytest.mark.parametrize("field", ["programme_id", "relationship_id", "template_id", "subject_id", "course_id"])
def test_huge_ids_in_the_api_cycle_are_a_422(app, client, db_session, field) -> None:
    setup = course_with_subject()
    db_session.commit()
    response = client.post(
        "/api/v1/feedback/cycles", json={field: int(HUGE)}, headers=api_headers(app, setup.trainer_actor)
    )
    assert response.status_code == 422 and field in str(response.get_json()["details"])
