"""Diary entries through the service: writing rules, versions, stale saves, confirmation, delete/restore/
purge, action items and the events completion listens to."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lti_app.errors import NotFound, PermissionDenied, RuleViolation, StaleVersion, ValidationFailed
from lti_app.extensions import db
from lti_app.models.audit import AuditEvent
from lti_app.models.diary import ActionItem, DiaryEntry, DiaryEntryVersion
from lti_app.services import diary, events
from tests.factories.diary import GoalFactory, cast

TODAY = datetime.now(UTC).date()


def entry_input(**overrides):  # type: ignore[no-untyped-def]
    values = dict(
        kind="meeting",
        occurred_on=TODAY,
        title="First meeting",
        body="We met.",
        duration_minutes=45,
        topics=["Career", "career ", "Public-speaking"],
    )
    values.update(overrides)
    return diary.EntryInput(**values)


@pytest.fixture()
def published(monkeypatch):  # type: ignore[no-untyped-def]
    seen: list[events.DomainEvent] = []
    monkeypatch.setattr(events, "_subscribers", [lambda _session, event: seen.append(event)])
    return seen


def test_create_keeps_version_one_and_normalises_topics(db_session, published) -> None:
    people = cast()
    entry = diary.create_entry(db_session, people.actor("mentee"), people.relationship.id, entry_input())
    assert entry.version == 1 and entry.author_id == people.mentee.id
    assert entry.topics == ["career", "public speaking"]
    versions = diary.entry_versions(db_session, people.actor("mentee"), entry.id)
    assert [(v.version, v.edited_by_id, v.title) for v in versions] == [
        (1, people.mentee.id, "First meeting")
    ]
    assert published[-1].kind == events.DIARY_CHANGED
    assert published[-1].relationship_id == people.relationship.id
    assert set(published[-1].person_ids) == {people.mentor.id, people.mentee.id}


def test_each_edit_is_a_new_version_with_who_and_when(db_session) -> None:
    people = cast()
    entry = diary.create_entry(db_session, people.actor("mentee"), people.relationship.id, entry_input())
    diary.update_entry(db_session, people.actor("mentor"), entry.id, 1, entry_input(body="We met, twice."))
    diary.update_entry(db_session, people.actor("mentee"), entry.id, 2, entry_input(body="Third words."))
    db_session.commit()
    versions = diary.entry_versions(db_session, people.actor("mentee"), entry.id)
    assert [(v.version, v.edited_by_id, v.body) for v in versions] == [
        (3, people.mentee.id, "Third words."),
        (2, people.mentor.id, "We met, twice."),
        (1, people.mentee.id, "We met."),
    ]
    assert all(v.edited_at.tzinfo is not None for v in versions)
    assert db_session.get(DiaryEntry, entry.id).version == 3


def test_stale_save_is_refused_and_overwrites_nothing(db_session) -> None:
    people = cast()
    entry = diary.create_entry(db_session, people.actor("mentee"), people.relationship.id, entry_input())
    diary.update_entry(db_session, people.actor("mentor"), entry.id, 1, entry_input(body="Mentor's words"))
    db_session.commit()
    with pytest.raises(StaleVersion) as refused:
        diary.update_entry(
            db_session, people.actor("mentee"), entry.id, 1, entry_input(body="Mentee's words")
        )
    assert refused.value.status == 409
    assert refused.value.details == {"current_version": 2, "your_version": 1}
    assert "version 1" in refused.value.message and "version 2" in refused.value.message
    db_session.rollback()
    assert db_session.get(DiaryEntry, entry.id).body == "Mentor's words"
    assert db_session.scalar(select(func.count(DiaryEntryVersion.id))) == 2


def test_a_save_racing_another_is_refused_by_the_database(app, db_session) -> None:
    """Both requests read version 1 and pass the service's own check; the UPDATE of the second matches no
    row (it says "AND version = 1") and the save is refused instead of overwriting the first."""
    people = cast()
    entry = diary.create_entry(db_session, people.actor("mentee"), people.relationship.id, entry_input())
    db_session.commit()
    entry_id, mentee, mentor = entry.id, people.actor("mentee"), people.actor("mentor")
    late = Session(db.engine)
    try:
        late.get(DiaryEntry, entry_id)  # the second request has read version 1
        diary.update_entry(db_session, mentor, entry_id, 1, entry_input(body="First save wins"))
        db_session.commit()
        with pytest.raises(StaleVersion):
            diary.update_entry(late, mentee, entry_id, 1, entry_input(body="Would overwrite"))
        late.rollback()
    finally:
        late.close()
    db_session.expire_all()
    assert db_session.get(DiaryEntry, entry_id).body == "First save wins"


def test_writers_rule_governs_shared_entries_not_private_notes(db_session) -> None:
    people = cast(diary_writers="mentee")
    with pytest.raises(PermissionDenied, match="only the mentee"):
        diary.create_entry(db_session, people.actor("mentor"), people.relationship.id, entry_input())
    note = diary.create_entry(
        db_session,
        people.actor("mentor"),
        people.relationship.id,
        entry_input(kind="note", visibility="private", title="My own notes"),
    )
    assert note.visibility == "private" and note.duration_minutes is None
    for who in ("trainer", "admin"):
        with pytest.raises(PermissionDenied):
            diary.create_entry(db_session, people.actor(who), people.relationship.id, entry_input())
    with pytest.raises(NotFound):
        diary.create_entry(db_session, people.actor("outsider"), people.relationship.id, entry_input())


def test_private_note_is_edited_by_its_author_only(db_session) -> None:
    people = cast()
    note = diary.create_entry(
        db_session, people.actor("mentee"), people.relationship.id, entry_input(visibility="private")
    )
    with pytest.raises(NotFound):
        diary.update_entry(db_session, people.actor("mentor"), note.id, 1, entry_input())
    with pytest.raises(NotFound):
        diary.entry_versions(db_session, people.actor("mentor"), note.id)


def test_only_the_author_makes_a_shared_entry_private(db_session) -> None:
    people = cast()
    entry = diary.create_entry(db_session, people.actor("mentee"), people.relationship.id, entry_input())
    with pytest.raises(PermissionDenied):
        diary.update_entry(db_session, people.actor("mentor"), entry.id, 1, entry_input(visibility="private"))


def test_closed_relationship_diary_is_read_only(db_session) -> None:
    people = cast(status="completed")
    with pytest.raises(RuleViolation, match="closed"):
        diary.create_entry(db_session, people.actor("mentee"), people.relationship.id, entry_input())


def test_invalid_entries_name_every_bad_field(db_session) -> None:
    people = cast()
    other = cast()
    foreign_goal = GoalFactory(rel=other.relationship, owner_id=other.mentee.id)
    bad = entry_input(
        kind="party",
        visibility="public",
        title=" ",
        body="x" * 20_001,
        duration_minutes=0,
        occurred_on=TODAY + timedelta(days=5),
        topics=[f"t{n}" for n in range(21)],
        action_items=[
            diary.ActionItemInput(text=""),
            diary.ActionItemInput(text="Call", owner_id=people.trainer.id),
        ],
        goal_ids=[foreign_goal.id],
    )
    with pytest.raises(ValidationFailed) as failed:
        diary.create_entry(db_session, people.actor("mentee"), people.relationship.id, bad)
    assert set(failed.value.details) == {
        "kind",
        "visibility",
        "title",
        "body",
        "occurred_on",
        "topics",
        "action_items",
        "goal_ids",
    }
    assert len(failed.value.details["action_items"]) == 2
    assert db_session.scalar(select(func.count(DiaryEntry.id))) == 0


def test_meeting_duration_is_checked(db_session) -> None:
    people = cast()
    with pytest.raises(ValidationFailed) as failed:
        diary.create_entry(
            db_session, people.actor("mentee"), people.relationship.id, entry_input(duration_minutes=0)
        )
    assert set(failed.value.details) == {"duration_minutes"}


def test_goals_link_to_entries_of_their_relationship(db_session) -> None:
    people = cast()
    goal = GoalFactory(rel=people.relationship, owner_id=people.mentee.id)
    entry = diary.create_entry(
        db_session, people.actor("mentee"), people.relationship.id, entry_input(goal_ids=[goal.id])
    )
    assert [g.id for g in entry.goals] == [goal.id]


def test_meeting_confirmed_by_the_other_member_counts_as_confirmed(db_session, published) -> None:
    people = cast()
    entry = diary.create_entry(db_session, people.actor("mentee"), people.relationship.id, entry_input())
    diary.create_entry(db_session, people.actor("mentee"), people.relationship.id, entry_input(kind="note"))
    assert diary.count_meetings(db_session, people.relationship.id, confirmed_only=False) == 1
    assert diary.count_meetings(db_session, people.relationship.id, confirmed_only=True) == 0
    with pytest.raises(PermissionDenied):
        diary.confirm_meeting(db_session, people.actor("mentee"), entry.id)
    with pytest.raises(NotFound):  # this programme's trainers may not read the diary
        diary.confirm_meeting(db_session, people.actor("trainer"), entry.id)
    published.clear()
    diary.confirm_meeting(db_session, people.actor("mentor"), entry.id)
    assert entry.confirmed_by_id == people.mentor.id and entry.version == 1
    assert diary.count_meetings(db_session, people.relationship.id, confirmed_only=True) == 1
    assert [e.kind for e in published] == [events.DIARY_CHANGED]


def test_changing_when_a_meeting_happened_undoes_its_confirmation(db_session) -> None:
    people = cast()
    entry = diary.create_entry(db_session, people.actor("mentee"), people.relationship.id, entry_input())
    diary.confirm_meeting(db_session, people.actor("mentor"), entry.id)
    diary.update_entry(db_session, people.actor("mentee"), entry.id, 1, entry_input(body="Typo fixed"))
    assert entry.confirmed_at is not None
    diary.update_entry(
        db_session, people.actor("mentee"), entry.id, 2, entry_input(occurred_on=TODAY - timedelta(days=1))
    )
    assert entry.confirmed_at is None and entry.confirmed_by_id is None


def test_private_meetings_cannot_be_confirmed_or_counted(db_session) -> None:
    people = cast()
    entry = diary.create_entry(
        db_session, people.actor("mentee"), people.relationship.id, entry_input(visibility="private")
    )
    with pytest.raises((NotFound, RuleViolation)):
        diary.confirm_meeting(db_session, people.actor("mentor"), entry.id)
    assert diary.count_meetings(db_session, people.relationship.id, confirmed_only=False) == 0


def test_soft_delete_restore_by_author_only_and_purge_by_admin(db_session) -> None:
    people = cast(diary_readable_by_trainers=True)
    entry = diary.create_entry(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        entry_input(action_items=[diary.ActionItemInput(text="Read the book")]),
    )
    diary.update_entry(db_session, people.actor("mentee"), entry.id, 1, entry_input(body="Second"))
    for who in ("mentor", "trainer"):
        with pytest.raises(PermissionDenied):
            diary.delete_entry(db_session, people.actor(who), entry.id)
    diary.delete_entry(db_session, people.actor("mentee"), entry.id)
    assert entry.deleted_at is not None
    assert diary.count_meetings(db_session, people.relationship.id, confirmed_only=False) == 0
    for who in ("trainer", "mentor", "admin"):
        with pytest.raises(PermissionDenied, match="Only its author"):
            diary.restore_entry(db_session, people.actor(who), entry.id)
    diary.restore_entry(db_session, people.actor("mentee"), entry.id)
    assert entry.deleted_at is None

    for who in ("mentee", "mentor", "trainer"):
        with pytest.raises(PermissionDenied):
            diary.purge_entry(db_session, people.actor(who), entry.id)
    # Admins purge for privacy requests even where they may not read the diary.
    diary.purge_entry(db_session, people.actor("admin"), entry.id)
    db_session.commit()
    db_session.expire_all()
    purged = db_session.get(DiaryEntry, entry.id)
    assert (purged.title, purged.body, purged.topics) == ("", "", [])
    assert purged.purged_at is not None and purged.deleted_at is not None
    assert db_session.scalar(select(func.count(DiaryEntryVersion.id))) == 0
    assert db_session.scalar(select(func.count(ActionItem.id))) == 0
    with pytest.raises(NotFound):
        diary.restore_entry(db_session, people.actor("mentee"), entry.id)
    actions = db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["diary_entry.deleted", "diary_entry.restored", "diary_entry.purged"]
    audit = db_session.scalars(select(AuditEvent)).all()
    assert all("Second" not in str(a.data) for a in audit)


def test_action_items_due_lists_overdue_and_soon_due_open_items(db_session) -> None:
    people = cast(diary_readable_by_trainers=True)
    today = date(2026, 6, 15)
    items = [
        diary.ActionItemInput(text="Overdue", owner_id=people.mentee.id, due_on=date(2026, 6, 1)),
        diary.ActionItemInput(text="Soon", owner_id=people.mentor.id, due_on=date(2026, 6, 20)),
        diary.ActionItemInput(text="Later", due_on=date(2026, 9, 1)),
        diary.ActionItemInput(text="Done", due_on=date(2026, 6, 2), done=True),
        diary.ActionItemInput(text="Whenever"),
    ]
    entry = diary.create_entry(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        entry_input(occurred_on=date(2026, 5, 30), action_items=items),
        today=today,
    )
    due = diary.action_items_due(db_session, people.actor("mentor"), people.relationship.id, today=today)
    assert [i.text for i in due] == ["Overdue", "Soon"]
    assert due[0].is_overdue(today) and not due[1].is_overdue(today)
    done_item = next(i for i in entry.action_items if i.text == "Done")
    assert done_item.done_at is not None and done_item.done_by_id == people.mentee.id

    diary.set_action_item_done(db_session, people.actor("mentor"), due[0].id, True)
    due = diary.action_items_due(db_session, people.actor("mentee"), people.relationship.id, today=today)
    assert [i.text for i in due] == ["Soon"]
    assert entry.version == 1  # ticking an item is not an edit of the entry
    with pytest.raises(PermissionDenied):  # trainers who read the diary still do not tick its items
        diary.set_action_item_done(db_session, people.actor("trainer"), due[0].id, True)


def test_editing_keeps_action_items_named_by_id(db_session) -> None:
    people = cast()
    entry = diary.create_entry(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        entry_input(
            action_items=[diary.ActionItemInput(text="Keep", done=True), diary.ActionItemInput(text="Drop")]
        ),
    )
    keep = entry.action_items[0]
    done_at = keep.done_at
    diary.update_entry(
        db_session,
        people.actor("mentee"),
        entry.id,
        1,
        entry_input(
            action_items=[
                diary.ActionItemInput(id=keep.id, text="Keep (reworded)", done=True),
                diary.ActionItemInput(text="New"),
            ]
        ),
    )
    db_session.flush()
    assert [(i.text, i.id == keep.id) for i in entry.action_items] == [
        ("Keep (reworded)", True),
        ("New", False),
    ]
    assert keep.done_at == done_at
    assert db_session.scalar(select(func.count(ActionItem.id))) == 2
    first = diary.entry_versions(db_session, people.actor("mentee"), entry.id)[-1]
    assert [i["text"] for i in first.action_items] == ["Keep", "Drop"]
