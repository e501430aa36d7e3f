"""Hostile text in every field the diary pages show stays inert: asserted on the rendered HTML (no
handlers, no script URLs, no script tags but Tandem's own), on every page that shows it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lti_app.services import checkins, diary, goals
from tests.factories.diary import cast
from tests.functional.diary.support import Browser, assert_inert
from tests.support.launch import api_headers

TODAY = datetime.now(UTC).date()
ATTACKS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    "<iframe src=//evil.test></iframe>",
    "{{ 7*7 }}",
]
EVIL = " ".join(ATTACKS)


@pytest.fixture()
def hostile(db_session):  # type: ignore[no-untyped-def]
    people = cast(diary_readable_by_trainers=True, diary_readable_by_admins=True)
    people.mentee.name = "<script>alert('name')</script>"  # names come from the LMS: hostile too
    people.mentor.name = '"><img src=x onerror=alert(2)>'
    goal = goals.create_goal(
        db_session,
        people.actor("mentee"),
        goals.GoalInput(
            title=EVIL[:200],
            description=EVIL,
            success_measure=EVIL,
            milestones=[goals.MilestoneInput(title=ATTACKS[1])],
        ),
        relationship_id=people.relationship.id,
    )
    entry = diary.create_entry(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        diary.EntryInput(
            kind="meeting",
            occurred_on=TODAY,
            title=EVIL[:200],
            duration_minutes=30,
            body=EVIL + "\n\n[a fine link](https://example.org/page)\n\n" + "\n".join(ATTACKS),
            topics=ATTACKS,
            goal_ids=[goal.id],
            action_items=[
                diary.ActionItemInput(text=a, due_on=TODAY, owner_id=people.mentor.id) for a in ATTACKS
            ],
        ),
    )
    diary.update_entry(
        db_session,
        people.actor("mentor"),
        entry.id,
        1,
        diary.EntryInput(
            kind="meeting",
            occurred_on=TODAY,
            title=ATTACKS[2],
            topics=ATTACKS[:2],
            body=EVIL + "\n\n[a fine link](https://example.org/page)",
        ),
    )
    checkins.answer_checkin(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        checkins.CheckInInput(usefulness=1, pairing="no", comment=EVIL),
    )
    goals.create_goal(
        db_session,
        people.actor("mentee"),
        goals.GoalInput(title=ATTACKS[0], description=EVIL),
        programme_id=people.programme.id,
    )
    db_session.commit()
    return people, entry, goal


def _pages(people, entry, goal):  # type: ignore[no-untyped-def]
    rel = people.relationship.id
    return [
        ("mentee", f"/relationships/{rel}/journal"),
        ("mentor", f"/relationships/{rel}/journal"),
        ("trainer", f"/relationships/{rel}/journal"),
        ("admin", f"/relationships/{rel}/journal"),
        ("mentee", f"/diary/{entry.id}/edit"),
        ("mentor", f"/diary/{entry.id}/history"),
        ("mentee", f"/goals/{goal.id}/edit"),
        ("mentee", f"/programmes/{people.programme.id}/my-goals"),
        ("trainer", f"/programmes/{people.programme.id}/momentum"),
    ]


def test_every_page_renders_hostile_text_inert(app, client, hostile) -> None:
    people, entry, goal = hostile
    for who, url in _pages(people, entry, goal):
        response = Browser(client, app, people.actor(who)).get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, (who, url)
        assert_inert(html)
        assert "<script>alert" not in html, (who, url, html[html.find("<script>alert") - 300 :][:400])
        assert "{{ 7*7 }}" in html or url.endswith("momentum") or "/my-goals" in url, (who, url)


def test_hostile_text_is_shown_as_text(app, client, hostile) -> None:
    people, _entry, _goal = hostile
    html = (
        Browser(client, app, people.actor("mentee"))
        .get(f"/relationships/{people.relationship.id}/journal")
        .get_data(as_text=True)
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="https://example.org/page" rel="noopener nofollow"' in html
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in html


def test_failed_and_stale_saves_echo_hostile_text_inert(app, client, hostile) -> None:
    people, entry, _goal = hostile
    mentee = Browser(client, app, people.actor("mentee"))
    mentee.get(f"/diary/{entry.id}/edit")
    form = {
        "kind": "meeting",
        "occurred_on": TODAY.isoformat(),
        "title": EVIL[:200],
        "body": EVIL,
        "topics": ATTACKS[0],
        "action-0-text": ATTACKS[1],
        "version": "1",
    }
    stale = mentee.post(f"/diary/{entry.id}/edit", form)
    assert stale.status_code == 409
    assert_inert(stale.get_data(as_text=True))
    invalid = mentee.post(f"/diary/{entry.id}/edit", {**form, "version": "2", "duration_minutes": "-5"})
    assert invalid.status_code == 422
    assert_inert(invalid.get_data(as_text=True))


def test_api_body_html_is_sanitised(app, client, hostile) -> None:
    people, entry, _goal = hostile
    response = client.get(f"/api/v1/diary/{entry.id}", headers=api_headers(app, people.actor("mentee")))
    body_html = response.get_json()["body_html"]
    assert_inert(body_html)
    assert "<script" not in body_html and "onerror" not in body_html.replace("onerror=alert(1)&gt;", "")
