"""Check-ins: private to the answering person and the trainers; two "no" in a row alert the trainers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from lti_app.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from lti_app.models.checkin import CheckIn, PairingAlert
from lti_app.services import checkins, events
from tests.factories.diary import cast, enrol

OCT = datetime(2026, 10, 20, 12, tzinfo=UTC)
NOV = datetime(2026, 11, 20, 12, tzinfo=UTC)
DEC = datetime(2026, 12, 20, 12, tzinfo=UTC)


def answer(people, who, pairing, when, usefulness=3, comment=""):  # type: ignore[no-untyped-def]
    from lti_app.extensions import db

    return checkins.answer_checkin(
        db.session,
        people.actor(who),
        people.relationship.id,
        checkins.CheckInInput(usefulness=usefulness, pairing=pairing, comment=comment),
        now=when,
    )


def alerts(db_session) -> list[PairingAlert]:  # type: ignore[no-untyped-def]
    return list(db_session.scalars(select(PairingAlert)))


def test_two_no_in_a_row_alert_the_trainer(db_session) -> None:
    people = cast()
    answer(people, "mentee", "no", OCT)
    assert alerts(db_session) == []
    answer(people, "mentee", "no", NOV)
    [alert] = alerts(db_session)
    assert (alert.relationship_id, alert.person_id, alert.programme_id) == (
        people.relationship.id,
        people.mentee.id,
        people.programme.id,
    )
    assert [
        a.id for a in checkins.pairing_alerts(db_session, people.actor("trainer"), people.programme.id)
    ] == [alert.id]
    answer(people, "mentee", "no", DEC)  # still not working: the open alert stands, no second one
    assert len(alerts(db_session)) == 1


def test_the_alert_notifies_the_course_trainers_but_not_a_trainer_in_the_pair(db_session) -> None:
    from lti_app.models.notification import Notification
    from lti_app.models.person import Enrolment

    people = cast()
    second_trainer = enrol(people.course, "trainer")
    mentor_enrolment = db_session.scalar(select(Enrolment).where(Enrolment.person_id == people.mentor.id))
    mentor_enrolment.roles = ["participant", "trainer"]
    db_session.flush()
    answer(people, "mentee", "no", OCT)
    answer(people, "mentee", "no", NOV)
    notes = db_session.scalars(select(Notification).order_by(Notification.person_id)).all()
    assert {n.person_id for n in notes} == {people.trainer.id, second_trainer.id}
    assert {n.kind for n in notes} == {checkins.PAIRING_ALERT_KIND}
    assert notes[0].params == {"programme": people.programme.title}
    assert notes[0].link_endpoint == "diary.momentum"


def test_no_yes_no_is_not_in_a_row(db_session) -> None:
    people = cast()
    answer(people, "mentee", "no", OCT)
    answer(people, "mentee", "yes", NOV)
    answer(people, "mentee", "no", DEC)
    assert alerts(db_session) == []


def test_one_no_from_each_member_is_not_in_a_row(db_session) -> None:
    people = cast()
    answer(people, "mentee", "no", OCT)
    answer(people, "mentor", "no", NOV)
    assert alerts(db_session) == []


def test_answering_again_in_the_same_month_replaces_the_answer(db_session) -> None:
    people = cast()
    answer(people, "mentee", "no", OCT)
    answer(people, "mentee", "no", OCT.replace(day=21))
    assert db_session.scalar(select(func.count(CheckIn.id))) == 1
    assert alerts(db_session) == []


def test_resolved_alert_and_a_new_pair_of_no(db_session) -> None:
    people = cast()
    answer(people, "mentee", "no", OCT)
    answer(people, "mentee", "no", NOV)
    [alert] = alerts(db_session)
    with pytest.raises(PermissionDenied):
        checkins.resolve_alert(db_session, people.actor("mentor"), alert.id)
    checkins.resolve_alert(db_session, people.actor("trainer"), alert.id)
    assert checkins.pairing_alerts(db_session, people.actor("trainer"), people.programme.id) == []
    answer(people, "mentee", "no", DEC)
    assert len(checkins.pairing_alerts(db_session, people.actor("trainer"), people.programme.id)) == 1


def test_answers_are_private_to_the_person_and_the_trainers(db_session) -> None:
    people = cast()
    mine = answer(people, "mentee", "no", OCT, comment="Not clicking")
    theirs = answer(people, "mentor", "yes", OCT)
    assert [
        c.id for c in checkins.list_checkins(db_session, people.actor("mentee"), people.relationship.id)
    ] == [mine.id]
    assert [
        c.id for c in checkins.list_checkins(db_session, people.actor("mentor"), people.relationship.id)
    ] == [theirs.id]
    seen = {c.id for c in checkins.list_checkins(db_session, people.actor("trainer"), people.relationship.id)}
    assert seen == {mine.id, theirs.id}
    assert len(checkins.list_checkins(db_session, people.actor("admin"), people.relationship.id)) == 2
    with pytest.raises(NotFound):
        checkins.list_checkins(db_session, people.actor("outsider"), people.relationship.id)
    # A mentor who is also a trainer of the course still reads only their own answers.
    mentor_as_trainer = replace(people.actor("mentor"), roles=frozenset({"trainer"}))
    assert [c.id for c in checkins.list_checkins(db_session, mentor_as_trainer, people.relationship.id)] == [
        theirs.id
    ]


def test_a_trainer_in_the_pair_does_not_see_alerts_about_it(db_session) -> None:
    people = cast()
    answer(people, "mentee", "no", OCT)
    answer(people, "mentee", "no", NOV)
    mentor_as_trainer = replace(people.actor("mentor"), roles=frozenset({"trainer"}))
    assert checkins.pairing_alerts(db_session, mentor_as_trainer, people.programme.id) == []


def test_only_members_of_running_relationships_answer(db_session) -> None:
    people = cast()
    for who in ("trainer", "admin"):
        with pytest.raises(PermissionDenied):
            answer(people, who, "yes", OCT)
    with pytest.raises(NotFound):
        answer(people, "outsider", "yes", OCT)
    with pytest.raises(ValidationFailed) as failed:
        answer(people, "mentee", "maybe", OCT, usefulness=9, comment="x" * 2001)
    assert set(failed.value.details) == {"usefulness", "pairing", "comment"}
    closed = cast(status="ended")
    with pytest.raises(RuleViolation):
        answer(closed, "mentee", "yes", OCT)


def test_checkin_due_and_answered(db_session, monkeypatch) -> None:
    people = cast()
    seen: list[events.DomainEvent] = []
    monkeypatch.setattr(events, "_subscribers", [lambda _s, e: seen.append(e)])
    assert checkins.checkin_due(db_session, people.actor("mentee"), people.relationship.id, now=NOV)
    assert not checkins.checkin_answered(db_session, people.relationship.id, people.mentee.id)
    answer(people, "mentee", "yes", NOV)
    assert not checkins.checkin_due(db_session, people.actor("mentee"), people.relationship.id, now=NOV)
    assert checkins.checkin_due(db_session, people.actor("mentee"), people.relationship.id, now=DEC)
    assert checkins.checkin_answered(db_session, people.relationship.id, people.mentee.id)
    assert not checkins.checkin_answered(db_session, people.relationship.id, people.mentor.id)
    assert not checkins.checkin_due(db_session, people.actor("trainer"), people.relationship.id, now=NOV)
    assert [e.kind for e in seen] == [events.CHECKIN_ANSWERED]
    assert seen[0].person_ids == (people.mentee.id,)


def test_a_checkin_after_a_meeting_names_a_meeting_the_person_may_see(db_session) -> None:
    from lti_app.services import diary

    people = cast()
    day = NOV.date()
    shared = diary.create_entry(
        db_session,
        people.actor("mentor"),
        people.relationship.id,
        diary.EntryInput(kind="meeting", occurred_on=day, title="Met"),
        today=day,
    )
    private = diary.create_entry(
        db_session,
        people.actor("mentor"),
        people.relationship.id,
        diary.EntryInput(kind="meeting", occurred_on=day, title="Mine", visibility="private"),
        today=day,
    )
    after = checkins.answer_checkin(
        db_session,
        people.actor("mentee"),
        people.relationship.id,
        checkins.CheckInInput(usefulness=5, pairing="yes", entry_id=shared.id),
        now=NOV,
    )
    assert after.period == f"meeting:{shared.id}" and after.entry_id == shared.id
    with pytest.raises(ValidationFailed) as failed:
        checkins.answer_checkin(
            db_session,
            people.actor("mentee"),
            people.relationship.id,
            checkins.CheckInInput(usefulness=5, pairing="yes", entry_id=private.id),
            now=NOV,
        )
    assert set(failed.value.details) == {"entry_id"}
