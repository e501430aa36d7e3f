"""Who reads what: the visibility matrix of the issue, through the services (pages and API call the same
functions, and their own tests check that they do).

viewer (author, other member, trainer, admin, outsider) × entry (private, shared) × trainers may read the
diary (on, off) × admins may read the diary (on, off).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lti_app.errors import NotFound
from lti_app.extensions import db
from lti_app.services import diary
from tests.factories.diary import cast

VIEWERS = ("author", "other", "trainer", "admin", "outsider")


def expected(viewer: str, visibility: str, trainers_read: bool, admins_read: bool) -> bool:
    if visibility == "private":
        return viewer == "author"
    return {
        "author": True,
        "other": True,
        "trainer": trainers_read,
        "admin": admins_read,
        "outsider": False,
    }[viewer]


def _actor(people, viewer):  # type: ignore[no-untyped-def]
    return people.actor({"author": "mentee", "other": "mentor"}.get(viewer, viewer))


def _entry(people, visibility):  # type: ignore[no-untyped-def]
    return diary.create_entry(
        db.session,
        people.actor("mentee"),
        people.relationship.id,
        diary.EntryInput(
            kind="meeting",
            occurred_on=datetime.now(UTC).date(),
            title="Salary talk",
            body="Secret words",
            visibility=visibility,
            duration_minutes=30,
            action_items=[diary.ActionItemInput(text="Draft CV", due_on=datetime.now(UTC).date())],
        ),
    )


@pytest.mark.parametrize("admins_read", [False, True], ids=["admins-off", "admins-on"])
@pytest.mark.parametrize("trainers_read", [False, True], ids=["trainers-off", "trainers-on"])
@pytest.mark.parametrize("visibility", ["private", "shared"])
def test_visibility_matrix(db_session, visibility, trainers_read, admins_read) -> None:
    people = cast(diary_readable_by_trainers=trainers_read, diary_readable_by_admins=admins_read)
    entry = _entry(people, visibility)
    db_session.commit()

    for viewer in VIEWERS:
        actor = _actor(people, viewer)
        allowed = expected(viewer, visibility, trainers_read, admins_read)
        if viewer == "outsider":
            with pytest.raises(NotFound):
                diary.list_entries(db_session, actor, people.relationship.id)
        else:
            listed = [e.id for e in diary.list_entries(db_session, actor, people.relationship.id)]
            assert (entry.id in listed) is allowed, viewer
            due = diary.action_items_due(db_session, actor, people.relationship.id)
            assert bool(due) is allowed, viewer
        if allowed:
            assert diary.get_entry(db_session, actor, entry.id).body == "Secret words"
        else:
            with pytest.raises(NotFound):
                diary.get_entry(db_session, actor, entry.id)


@pytest.mark.parametrize("visibility", ["private", "shared"])
def test_trainers_who_may_not_read_still_see_meeting_dates(db_session, visibility) -> None:
    people = cast(diary_readable_by_trainers=False)
    entry = _entry(people, visibility)
    marks = diary.meeting_log(db_session, people.actor("trainer"), people.relationship.id)
    if visibility == "shared":
        assert [(m.entry_id, m.occurred_on, m.duration_minutes, m.confirmed) for m in marks] == [
            (entry.id, entry.occurred_on, 30, False)
        ]
        assert not hasattr(marks[0], "title") and not hasattr(marks[0], "body")
    else:
        # A private note is its author's alone: not even its existence shows.
        assert marks == []


def test_a_member_who_is_also_a_trainer_reads_as_a_member(db_session) -> None:
    people = cast(diary_readable_by_trainers=False)
    entry = _entry(people, "shared")
    mentor_as_trainer = replace(people.actor("mentor"), roles=frozenset({"trainer"}))
    assert diary.get_entry(db_session, mentor_as_trainer, entry.id).id == entry.id


def test_deleted_entries_leave_everyone_but_their_author(db_session) -> None:
    people = cast(diary_readable_by_trainers=True, diary_readable_by_admins=True)
    entry = _entry(people, "shared")
    diary.delete_entry(db_session, people.actor("mentee"), entry.id)
    for viewer in ("other", "trainer", "admin"):
        assert diary.list_entries(db_session, _actor(people, viewer), people.relationship.id) == []
        with pytest.raises(NotFound):
            diary.get_entry(db_session, _actor(people, viewer), entry.id)
    journal = diary.journal(db_session, people.actor("mentee"), people.relationship.id)
    assert [e.id for e in journal.deleted] == [entry.id] and journal.entries == []


def test_another_platform_cannot_probe_entry_ids(db_session) -> None:
    people = cast(diary_readable_by_trainers=True)
    other = cast(diary_readable_by_trainers=True)
    entry = _entry(people, "shared")
    with pytest.raises(NotFound):
        diary.get_entry(db_session, other.actor("trainer"), entry.id)


@pytest.mark.parametrize("admins_read", [False, True], ids=["admins-off", "admins-on"])
@pytest.mark.parametrize("trainers_read", [False, True], ids=["trainers-off", "trainers-on"])
@pytest.mark.parametrize("visibility", ["private", "shared"])
def test_visibility_matrix_through_the_api_and_the_journal(
    app, client, db_session, visibility, trainers_read, admins_read
) -> None:
    from tests.functional.diary.support import Browser
    from tests.support.launch import api_headers

    people = cast(diary_readable_by_trainers=trainers_read, diary_readable_by_admins=admins_read)
    entry = _entry(people, visibility)
    db_session.commit()
    for viewer in VIEWERS:
        actor = _actor(people, viewer)
        allowed = expected(viewer, visibility, trainers_read, admins_read)
        response = client.get(f"/api/v1/diary/{entry.id}", headers=api_headers(app, actor))
        assert response.status_code == (200 if allowed else 404), viewer
        page = Browser(client, app, actor).get(f"/relationships/{people.relationship.id}/journal")
        if viewer == "outsider":
            assert page.status_code == 404
        else:
            assert ("Secret words" in page.get_data(as_text=True)) is allowed, viewer
