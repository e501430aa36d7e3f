"""Form parsing for the editor, the goal chart's coordinates and the momentum months: pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from werkzeug.datastructures import MultiDict

from lti_app.schemas.diary import EntryIn, EntryUpdateIn, entry_form_data
from lti_app.services.momentum import month_keys
from lti_app.views.pages.diary import sparkline


def test_editor_form_becomes_an_entry() -> None:
    form = MultiDict(
        [
            ("kind", "meeting"),
            ("occurred_on", "2026-11-02"),
            ("duration_minutes", ""),
            ("title", " Kick-off "),
            ("body", "Text"),
            ("topics", "Career, public-speaking ,career"),
            ("visibility", "shared"),
            ("action-0-text", "Book room"),
            ("action-0-owner", "7"),
            ("action-0-due", "2026-11-09"),
            ("action-0-done", "1"),
            ("action-1-text", ""),
            ("action-2-id", "5"),
            ("action-2-text", ""),
            ("action-3-text", "Read"),
            ("goal_ids", "3"),
            ("goal_ids", ""),
            ("version", "4"),
            ("csrf_token", "x"),
            ("lt", "y"),
        ]
    )
    version, entry = EntryUpdateIn().load(entry_form_data(form))
    assert version == 4
    assert (entry.kind, entry.title, entry.duration_minutes) == ("meeting", "Kick-off", None)
    assert entry.occurred_on == date(2026, 11, 2)
    assert list(entry.topics) == ["career", "public speaking"]
    assert [(i.text, i.owner_id, i.due_on, i.done) for i in entry.action_items] == [
        ("Book room", 7, date(2026, 11, 9), True),
        ("Read", None, None, False),
    ]
    assert list(entry.goal_ids) == [3]


def test_new_entry_form_without_version() -> None:
    entry = EntryIn().load(
        entry_form_data(MultiDict([("kind", "note"), ("occurred_on", "2026-11-02"), ("title", "T")]))
    )
    assert entry.visibility == "shared" and entry.body == ""


def test_sparkline_places_points_by_time_and_percent() -> None:
    history = [
        SimpleNamespace(at=datetime(2026, 1, 1, tzinfo=UTC), progress=0),
        SimpleNamespace(at=datetime(2026, 1, 11, tzinfo=UTC), progress=50),
        SimpleNamespace(at=datetime(2026, 1, 21, tzinfo=UTC), progress=100),
    ]
    chart = sparkline(history, width=108, height=48)  # type: ignore[arg-type]
    assert [(p["x"], p["y"]) for p in chart["points"]] == [(4.0, 44.0), (54.0, 24.0), (104.0, 4.0)]
    assert chart["polyline"] == "4.0,44.0 54.0,24.0 104.0,4.0"
    assert chart["label"].startswith("Progress over time: 0% on 01 Jan 2026, 50% on 11 Jan 2026")
    assert sparkline([])["points"] == []


def test_month_keys_cross_the_year() -> None:
    assert month_keys(date(2026, 2, 10), 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]
