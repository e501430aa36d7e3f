"""Numbers typed into the diary pages are read as ASCII decimals: "²" passes ``str.isdigit()`` but not
``int()``, and a number of thousands of digits passes neither ``int()`` nor the database. Each answers a
precise 4xx, never a 500, and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from lti_app.models.diary import DiaryEntry
from lti_app.services import diary
from tests.factories.diary import GoalFactory, cast
from tests.functional.diary.support import Browser

TODAY = datetime.now(UTC).date()
ODD = ["²", "٣", "9" * 30, "9" * 5000, "-1", "1.5", " "]


def entry_form(**overrides: str) -> dict[str, str]:
    form = {
        "kind": "meeting", "occurred_on": TODAY.isoformat(), "duration_minutes": "40", "title": "Kick-off",
        "body": "Words worth keeping", "visibility": "shared", "action-0-text": "Book the next meeting",
    }
    form.update(overrides)
    return form


FIELDS = ["goal_ids", "action-0-owner", "action-0-id", "duration_minutes"]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", ["²", "9" * 5000])
def test_odd_numbers_in_a_new_entry_are_a_422_that_keeps_the_text(app, client, db_session, field, value) -> None:
    people = cast()
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    mentee.get(f"/relationships/{people.relationship.id}/journal/new")
    response = mentee.post(f"/relationships/{people.relationship.id}/journal/new", entry_form(**{field: value}))
    assert response.status_code == 422
    assert "Words worth keeping" in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count(DiaryEntry.id))) == 0


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", ["٣", "9" * 30])
def test_other_digits_and_large_numbers_never_fail_the_page(app, client, db_session, field, value) -> None:
    """What the schema reads as a number is checked like any other: an unknown goal or owner is a 422, an
    unknown action item id is a new item, three minutes is three minutes."""
    people = cast()
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    mentee.get(f"/relationships/{people.relationship.id}/journal/new")
    response = mentee.post(f"/relationships/{people.relationship.id}/journal/new", entry_form(**{field: value}))
    assert response.status_code in (303, 422)
    if response.status_code == 422:
        assert "Words worth keeping" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ODD[:4])
def test_odd_numbers_in_an_edit_are_a_422_that_keeps_the_text(app, client, db_session, value) -> None:
    people = cast()
    entry = diary.create_entry(
        db_session, people.actor("mentee"), people.relationship.id,
        diary.EntryInput(kind="note", occurred_on=TODAY, title="T", body="Before"),
    )
    GoalFactory(rel=people.relationship, owner_id=people.mentee.id)
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    mentee.get(f"/diary/{entry.id}/edit")
    response = mentee.post(
        f"/diary/{entry.id}/edit", entry_form(version="1", goal_ids=value, **{"action-0-owner": value})
    )
    assert response.status_code == 422
    assert "Words worth keeping" in response.get_data(as_text=True)
    db_session.expire_all()
    assert db_session.get(DiaryEntry, entry.id).body == "Before"


@pytest.mark.parametrize("value", ODD)
def test_purge_by_an_odd_number_is_a_422(app, client, db_session, value) -> None:
    people = cast()
    db_session.commit()
    admin = Browser(client, app, people.actor("admin"))
    admin.get(f"/relationships/{people.relationship.id}/journal")
    response = admin.post("/diary/purge", {"entry_id": value})
    assert response.status_code == 422
    assert "Give the entry" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", [str(2**31), "9" * 18])
def test_purge_by_a_large_number_that_is_nobodys_entry_is_a_404(app, client, db_session, value) -> None:
    """Beyond what an INTEGER column holds: PostgreSQL would refuse even to compare it."""
    people = cast()
    db_session.commit()
    admin = Browser(client, app, people.actor("admin"))
    admin.get(f"/relationships/{people.relationship.id}/journal")
    assert admin.post("/diary/purge", {"entry_id": value}).status_code == 404


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/diary/{n}/history"),
        ("get", "/diary/{n}/edit"),
        ("post", "/diary/{n}/restore"),
        ("post", "/diary/action-items/{n}/done"),
        ("get", "/goals/{n}/edit"),
        ("post", "/goals/milestones/{n}/done"),
        ("post", "/pairing-alerts/{n}/resolve"),
    ],
)
def test_ids_beyond_an_integer_column_are_a_404(app, client, db_session, method, path) -> None:
    people = cast()
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    mentee.get(f"/relationships/{people.relationship.id}/journal")
    url = path.format(n=2**31)
    response = mentee.get(url) if method == "get" else mentee.post(url, {"done": "1"})
    assert response.status_code == 404


@pytest.mark.parametrize("value", ["²", "٣", "9" * 30, "9" * 5000, "0", "25", "-3", "six"])
def test_momentum_months_out_of_shape_is_a_422(app, client, db_session, value) -> None:
    people = cast()
    db_session.commit()
    trainer = Browser(client, app, people.actor("trainer"))
    response = trainer.get(f"/programmes/{people.programme.id}/momentum", months=value)
    assert response.status_code == 422
    assert "Between 1 and 24" in response.get_data(as_text=True)


@pytest.mark.parametrize("value, shown", [("", 6), ("3", 3), ("24", 24)])
def test_momentum_months_in_range(app, client, db_session, value, shown) -> None:
    people = cast()
    db_session.commit()
    trainer = Browser(client, app, people.actor("trainer"))
    response = trainer.get(f"/programmes/{people.programme.id}/momentum", months=value)
    assert response.status_code == 200
    assert f"the last {shown} months" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["²", "9" * 30, "9" * 5000])
def test_checkin_after_an_odd_meeting_number_is_a_422(app, client, db_session, value) -> None:
    people = cast()
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    mentee.get(f"/relationships/{people.relationship.id}/journal")
    response = mentee.post(
        f"/relationships/{people.relationship.id}/checkin",
        {"usefulness": "4", "pairing": "yes", "entry_id": value},
    )
    assert response.status_code == 422
