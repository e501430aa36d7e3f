"""An entry's history never outlives its privacy: versions saved while the entry was private stay with its
author, also after the entry is made shared (service, page and API)."""

from __future__ import annotations

from datetime import UTC, datetime

from lti_app.services import diary
from tests.factories.diary import cast
from tests.functional.diary.support import Browser
from tests.support.launch import api_headers

TODAY = datetime.now(UTC).date()
SECRET = "SECRET: I doubt this pairing works"


def note(visibility: str, title: str, body: str) -> diary.EntryInput:
    return diary.EntryInput(kind="note", occurred_on=TODAY, title=title, body=body, visibility=visibility)


def private_then_shared(db_session):  # type: ignore[no-untyped-def]
    """Version 1 private, version 2 still private, version 3 shared, version 4 edited by the mentor."""
    people = cast(diary_writers="both")
    mentee = people.actor("mentee")
    entry = diary.create_entry(
        db_session, mentee, people.relationship.id, note("private", "Private thoughts", SECRET)
    )
    diary.update_entry(db_session, mentee, entry.id, 1, note("private", "Still mine", SECRET + " (really)"))
    diary.update_entry(db_session, mentee, entry.id, 2, note("shared", "Our session", "Nice session"))
    diary.update_entry(
        db_session, people.actor("mentor"), entry.id, 3, note("shared", "Our session", "Agreed")
    )
    db_session.commit()
    return people, entry


def test_others_see_only_versions_saved_while_shared(db_session) -> None:
    people, entry = private_then_shared(db_session)
    seen = diary.entry_versions(db_session, people.actor("mentor"), entry.id)
    assert [(v.version, v.visibility) for v in seen] == [(4, "shared"), (3, "shared")]
    assert all(SECRET not in v.body and v.title != "Private thoughts" for v in seen)


def test_the_author_still_sees_every_version(db_session) -> None:
    people, entry = private_then_shared(db_session)
    seen = diary.entry_versions(db_session, people.actor("mentee"), entry.id)
    assert [(v.version, v.visibility) for v in seen] == [
        (4, "shared"),
        (3, "shared"),
        (2, "private"),
        (1, "private"),
    ]


def test_a_shared_entry_made_private_and_shared_again_hides_the_private_stretch(db_session) -> None:
    people = cast(diary_writers="both")
    mentee = people.actor("mentee")
    entry = diary.create_entry(
        db_session, mentee, people.relationship.id, note("shared", "Plan", "Public plan")
    )
    diary.update_entry(db_session, mentee, entry.id, 1, note("private", "Plan", SECRET))
    diary.update_entry(db_session, mentee, entry.id, 2, note("shared", "Plan", "Public plan again"))
    db_session.commit()
    seen = diary.entry_versions(db_session, people.actor("mentor"), entry.id)
    assert [v.version for v in seen] == [3, 1]
    assert all(SECRET not in v.body for v in seen)


def test_history_page_keeps_private_versions_from_the_other_member(app, client, db_session) -> None:
    people, entry = private_then_shared(db_session)
    html = (
        Browser(client, app, people.actor("mentor")).get(f"/diary/{entry.id}/history").get_data(as_text=True)
    )
    assert "SECRET" not in html and "Private thoughts" not in html and "Still mine" not in html
    assert 'data-version="4"' in html and 'data-version="3"' in html and 'data-version="2"' not in html
    own = (
        Browser(client, app, people.actor("mentee")).get(f"/diary/{entry.id}/history").get_data(as_text=True)
    )
    assert "SECRET" in own and 'data-version="1"' in own


def test_versions_api_keeps_private_versions_from_the_other_member(app, client, db_session) -> None:
    people, entry = private_then_shared(db_session)
    response = client.get(
        f"/api/v1/diary/{entry.id}/versions", headers=api_headers(app, people.actor("mentor"))
    )
    assert response.status_code == 200
    assert [v["version"] for v in response.get_json()] == [4, 3]
    assert "SECRET" not in response.get_data(as_text=True)
    own = client.get(f"/api/v1/diary/{entry.id}/versions", headers=api_headers(app, people.actor("mentee")))
    assert [v["version"] for v in own.get_json()] == [4, 3, 2, 1]
