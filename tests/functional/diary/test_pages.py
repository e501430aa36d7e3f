"""The journal pages through the app: forms with tokens, saves that fail without losing text, stale edits
that offer the other version, what trainers see, and momentum."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import func, select

from lti_app.models.diary import DiaryEntry
from lti_app.services import diary
from tests.factories.diary import cast
from tests.functional.diary.support import Browser, assert_forms_carry_tokens

TODAY = datetime.now(UTC).date()


def entry_form(**overrides: str) -> dict[str, str]:
    form = {
        "kind": "meeting",
        "occurred_on": TODAY.isoformat(),
        "duration_minutes": "40",
        "title": "Kick-off",
        "body": "We agreed to **meet monthly**.",
        "topics": "Career, Leadership",
        "visibility": "shared",
        "action-0-text": "Book the next meeting",
        "action-0-due": TODAY.isoformat(),
    }
    form.update(overrides)
    return form


def test_journal_editor_and_save(app, client, db_session) -> None:
    people = cast()
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    page = mentee.get(f"/relationships/{people.relationship.id}/journal")
    assert page.status_code == 200
    assert "No diary entries yet." in page.get_data(as_text=True)
    editor = mentee.get(f"/relationships/{people.relationship.id}/journal/new")
    html = editor.get_data(as_text=True)
    assert editor.status_code == 200
    key = f"p{people.mentee.id}-new-{people.relationship.id}"  # whose draft it is, on a shared computer
    assert f'data-draft-key="{key}"' in html
    assert "/static/js/diary-draft.js" in html
    assert_forms_carry_tokens(html)

    saved = mentee.post(f"/relationships/{people.relationship.id}/journal/new", entry_form())
    assert saved.status_code == 303
    assert f"cleared={key}" in saved.headers["Location"]
    journal = mentee.get(f"/relationships/{people.relationship.id}/journal", done="entry_saved")
    html = journal.get_data(as_text=True)
    assert "Diary entry saved." in html
    assert "<strong>meet monthly</strong>" in html
    assert "Book the next meeting" in html and "leadership" in html
    assert f'data-draft-clear="{key}"' not in html  # only after the redirect's flag
    assert_forms_carry_tokens(html)
    cleared = mentee.get(f"/relationships/{people.relationship.id}/journal", cleared=key)
    assert f'data-draft-clear="{key}"' in cleared.get_data(as_text=True)


def test_draft_keys_belong_to_the_person_typing(app, client, db_session) -> None:
    """On a shared computer the other member must not be offered someone's unsaved words: each person's
    drafts live under their own key, for a new entry and for an edit alike."""
    people = cast(diary_writers="both")
    entry = diary.create_entry(
        db_session, people.actor("mentee"), people.relationship.id,
        diary.EntryInput(kind="note", occurred_on=TODAY, title="T", body="B"),
    )
    db_session.commit()
    keys = {}
    for who in ("mentee", "mentor"):
        person = getattr(people, who)
        browser = Browser(client, app, people.actor(who))
        new = browser.get(f"/relationships/{people.relationship.id}/journal/new").get_data(as_text=True)
        edit = browser.get(f"/diary/{entry.id}/edit").get_data(as_text=True)
        keys[who] = (
            re.search(r'data-draft-key="([^"]+)"', new).group(1),
            re.search(r'data-draft-key="([^"]+)"', edit).group(1),
        )
        assert keys[who] == (f"p{person.id}-new-{people.relationship.id}", f"p{person.id}-entry-{entry.id}")
    assert not set(keys["mentee"]) & set(keys["mentor"])


def test_failed_save_keeps_the_typed_text(app, client, db_session) -> None:
    people = cast()
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    mentee.get(f"/relationships/{people.relationship.id}/journal/new")
    long_text = "A long reflection that must survive. " * 200
    failed = mentee.post(
        f"/relationships/{people.relationship.id}/journal/new",
        entry_form(title="", body=long_text, **{"action-1-text": "Second item kept"}),
    )
    html = failed.get_data(as_text=True)
    assert failed.status_code == 422
    assert "Some fields are missing or invalid." in html
    assert long_text.strip() in html
    assert 'value="Second item kept"' in html and 'value="Career, Leadership"' in html
    assert 'data-draft-restore="off"' in html
    assert db_session.scalar(select(func.count(DiaryEntry.id))) == 0


def test_stale_edit_is_refused_and_offers_the_other_version(app, client, db_session) -> None:
    people = cast()
    entry = diary.create_entry(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        diary.EntryInput(kind="meeting", occurred_on=TODAY, title="Kick-off", body="Original words"),
    )
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    mentor = Browser(client, app, people.actor("mentor"))
    assert 'name="version" value="1"' in mentee.get(f"/diary/{entry.id}/edit").get_data(as_text=True)
    mentor.get(f"/diary/{entry.id}/edit")
    first = mentor.post(f"/diary/{entry.id}/edit", entry_form(body="The mentor's version", version="1"))
    assert first.status_code == 303, first.get_data(as_text=True)

    stale = mentee.post(f"/diary/{entry.id}/edit", entry_form(body="The mentee's version", version="1"))
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "Someone saved this entry after you opened it" in html
    assert 'data-saved-version="2"' in html and "The mentor&#39;s version" in html
    assert "The mentee&#39;s version</textarea>" in html
    assert 'name="version" value="2"' in html  # saving again is an informed choice over version 2
    db_session.expire_all()
    assert db_session.get(DiaryEntry, entry.id).body == "The mentor's version"

    again = mentee.post(f"/diary/{entry.id}/edit", entry_form(body="Merged by hand", version="2"))
    assert again.status_code == 303
    history = mentee.get(f"/diary/{entry.id}/history").get_data(as_text=True)
    assert [int(v) for v in re.findall(r'data-version="(\d+)"', history)] == [3, 2, 1]
    assert "Merged by hand" in history and "Original words" in history


def test_trainer_without_reading_rights_sees_meetings_not_words(app, client, db_session) -> None:
    people = cast(diary_readable_by_trainers=False)
    diary.create_entry(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        diary.EntryInput(
            kind="meeting", occurred_on=TODAY, title="Salary", body="Secret words", duration_minutes=50
        ),
    )
    db_session.commit()
    trainer = Browser(client, app, people.actor("trainer"))
    html = trainer.get(f"/relationships/{people.relationship.id}/journal").get_data(as_text=True)
    assert "data-content-hidden" in html and "50 min" in html
    assert "Secret words" not in html and "Salary" not in html
    assert "New diary entry" not in html


def test_history_is_for_the_people_in_the_relationship(app, client, db_session) -> None:
    people = cast(diary_readable_by_trainers=True)
    entry = diary.create_entry(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        diary.EntryInput(kind="note", occurred_on=TODAY, title="T", body="B"),
    )
    db_session.commit()
    assert Browser(client, app, people.actor("trainer")).get(f"/diary/{entry.id}/history").status_code == 403
    assert Browser(client, app, people.actor("outsider")).get(f"/diary/{entry.id}/history").status_code == 404
    assert Browser(client, app, people.actor("mentor")).get(f"/diary/{entry.id}/history").status_code == 200


def test_forms_without_csrf_token_are_refused(app, client, db_session) -> None:
    people = cast()
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    refused = mentee.post(f"/relationships/{people.relationship.id}/journal/new", entry_form(), csrf=False)
    assert refused.status_code == 400
    assert db_session.scalar(select(func.count(DiaryEntry.id))) == 0


def test_outsider_and_missing_launch(app, client, db_session) -> None:
    people = cast()
    db_session.commit()
    assert (
        Browser(client, app, people.actor("outsider"))
        .get(f"/relationships/{people.relationship.id}/journal")
        .status_code
        == 404
    )
    assert client.get(f"/relationships/{people.relationship.id}/journal").status_code == 401


def test_writer_rule_on_the_editor(app, client, db_session) -> None:
    people = cast(diary_writers="mentee")
    db_session.commit()
    mentor = Browser(client, app, people.actor("mentor"))
    html = mentor.get(f"/relationships/{people.relationship.id}/journal/new").get_data(as_text=True)
    assert re.search(r'id="visibility-shared"[^>]*disabled', html)
    assert re.search(r'id="visibility-private"[^>]*checked', html)
    refused = mentor.post(f"/relationships/{people.relationship.id}/journal/new", entry_form())
    assert refused.status_code == 403


def test_confirm_delete_restore_and_action_items_through_pages(app, client, db_session) -> None:
    people = cast()
    entry = diary.create_entry(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        diary.EntryInput(
            kind="meeting",
            occurred_on=TODAY,
            title="T",
            body="B",
            action_items=[diary.ActionItemInput(text="Do it", due_on=TODAY)],
        ),
    )
    item_id = entry.action_items[0].id
    db_session.commit()
    mentor = Browser(client, app, people.actor("mentor"))
    assert "Confirm this meeting happened" in mentor.get(
        f"/relationships/{people.relationship.id}/journal"
    ).get_data(as_text=True)
    assert mentor.post(f"/diary/{entry.id}/confirm").status_code == 303
    assert mentor.post(f"/diary/action-items/{item_id}/done", {"done": "1"}).status_code == 303
    html = mentor.get(f"/relationships/{people.relationship.id}/journal").get_data(as_text=True)
    assert "data-confirmed" in html and "Nothing due in the next two weeks." in html

    mentee = Browser(client, app, people.actor("mentee"))
    mentee.get(f"/relationships/{people.relationship.id}/journal")
    assert mentor.post(f"/diary/{entry.id}/delete").status_code == 403
    assert mentee.post(f"/diary/{entry.id}/delete").status_code == 303
    html = mentee.get(f"/relationships/{people.relationship.id}/journal").get_data(as_text=True)
    assert f'data-deleted-entry="{entry.id}"' in html
    assert mentee.post(f"/diary/{entry.id}/restore").status_code == 303


def test_goals_and_progress_chart_through_pages(app, client, db_session) -> None:
    people = cast()
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    mentee.get(f"/relationships/{people.relationship.id}/goals/new")
    created = mentee.post(
        f"/relationships/{people.relationship.id}/goals/new",
        {"title": "Give a talk", "success_measure": "One talk", "milestone-0-title": "Pick a topic"},
    )
    assert created.status_code == 303
    html = mentee.get(f"/relationships/{people.relationship.id}/journal").get_data(as_text=True)
    goal_id = int(re.search(r'data-goal="(\d+)"', html).group(1))
    assert (
        mentee.post(f"/goals/{goal_id}/progress", {"progress": "40", "status": "in_progress"}).status_code
        == 303
    )
    assert mentee.post(f"/goals/{goal_id}/progress", {"progress": "140"}).status_code == 422
    html = mentee.get(f"/relationships/{people.relationship.id}/journal").get_data(as_text=True)
    assert 'data-progress="40"' in html
    assert "<svg" in html and "Progress over time: 0% on" in html and "40% on" in html
    assert "Pick a topic" in html

    mentor = Browser(client, app, people.actor("mentor"))
    mentor.get(f"/relationships/{people.relationship.id}/goals/new")
    mentor.post(f"/relationships/{people.relationship.id}/goals/new", {"title": "Read a book"})
    html = mentee.get(f"/relationships/{people.relationship.id}/journal").get_data(as_text=True)
    assert "Proposed" in html and "Accept this goal" in html


def test_checkin_form_and_trainer_view(app, client, db_session) -> None:
    people = cast()
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    html = mentee.get(f"/relationships/{people.relationship.id}/journal").get_data(as_text=True)
    assert "Is the pairing working?" in html
    saved = mentee.post(
        f"/relationships/{people.relationship.id}/checkin",
        {"usefulness": "2", "pairing": "no", "comment": "Hmm"},
    )
    assert saved.status_code == 303
    html = mentee.get(f"/relationships/{people.relationship.id}/journal").get_data(as_text=True)
    assert "Monthly check-in" not in html and "Your check-ins" in html
    mentor_html = (
        Browser(client, app, people.actor("mentor"))
        .get(f"/relationships/{people.relationship.id}/journal")
        .get_data(as_text=True)
    )
    assert "Hmm" not in mentor_html
    trainer_html = (
        Browser(client, app, people.actor("trainer"))
        .get(f"/relationships/{people.relationship.id}/journal")
        .get_data(as_text=True)
    )
    assert "Hmm" in trainer_html and people.mentee.display_name in trainer_html
    bad = mentee.post(
        f"/relationships/{people.relationship.id}/checkin", {"usefulness": "9", "pairing": "no"}
    )
    assert bad.status_code == 422


def test_momentum_page(app, client, db_session) -> None:
    people = cast(meeting_cadence_days=14)
    diary.create_entry(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        diary.EntryInput(kind="meeting", occurred_on=TODAY, title="T", body="Secret"),
    )
    db_session.commit()
    trainer = Browser(client, app, people.actor("trainer"))
    page = trainer.get(f"/programmes/{people.programme.id}/momentum")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'data-pair="{people.relationship.id}"' in html
    assert f'data-month="{TODAY:%Y-%m}">1<' in html
    assert 'data-days-since="0"' in html and "Secret" not in html
    assert_forms_carry_tokens(html)
    assert (
        Browser(client, app, people.actor("mentee"))
        .get(f"/programmes/{people.programme.id}/momentum")
        .status_code
        == 403
    )


def test_checkin_after_a_meeting_from_the_journal(app, client, db_session) -> None:
    from lti_app.models.checkin import CheckIn

    people = cast()
    entry = diary.create_entry(
        db_session,
        people.actor("mentor"),
        people.relationship.id,
        diary.EntryInput(kind="meeting", occurred_on=TODAY, title="Met"),
    )
    db_session.commit()
    mentee = Browser(client, app, people.actor("mentee"))
    html = mentee.get(f"/relationships/{people.relationship.id}/journal").get_data(as_text=True)
    assert f'name="entry_id" value="{entry.id}"' in html
    saved = mentee.post(
        f"/relationships/{people.relationship.id}/checkin",
        {"usefulness": "4", "pairing": "yes", "entry_id": str(entry.id)},
    )
    assert saved.status_code == 303
    db_session.expire_all()
    assert db_session.scalars(select(CheckIn.period)).all() == [f"meeting:{entry.id}"]
