"""Nominations, approval, reminders, and the outbox that carries invitations to raters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lti_app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.feedback import (
    APPROVAL_PENDING,
    APPROVED,
    INVITED,
    MAIL_DROPPED,
    MAIL_FAILED,
    MAIL_PENDING,
    MAIL_SENT,
    NOMINATED,
    REJECTED,
    FeedbackMail,
    FeedbackRequest,
)
from lti_app.services.feedback import answering, cycles, mail, nominations
from lti_app.services.feedback.answering import Answers
from lti_app.services.feedback.cycles import CycleSettings
from lti_app.services.feedback.links import hash_token
from tests.factories.feedback import add_raters, course_with_subject, enrol, full_answers, start_cycle, submit


def mails(db_session, kind: str | None = None) -> list[FeedbackMail]:
    query = select(FeedbackMail).order_by(FeedbackMail.id)
    if kind:
        query = query.where(FeedbackMail.kind == kind)
    return list(db_session.scalars(query))


def test_nominating_people_and_outsiders(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    colleague = enrol(setup.course)
    made = nominations.nominate(
        db_session, setup.subject_actor, cycle.id, group="peer", person_id=colleague.id
    )
    assert (made.approval, made.status) == (APPROVED, INVITED)
    outsider = nominations.nominate(
        db_session, setup.subject_actor, cycle.id, group="other", email=" Client@Example.ORG ", name="Client"
    )
    assert outsider.external_email == "client@example.org" and outsider.rater_person_id is None
    assert (outsider.approval, outsider.status) == (APPROVAL_PENDING, NOMINATED)  # a trainer approves first
    # Someone of the course given by address answers inside Tandem, as themselves.
    by_mail = enrol(setup.course, email="Known@Example.test")
    known = nominations.nominate(
        db_session, setup.subject_actor, cycle.id, group="peer", email="known@example.test"
    )
    assert known.rater_person_id == by_mail.id
    assert [m.kind for m in mails(db_session)] == ["invitation"] * 2  # not yet to the outsider

    with pytest.raises(Conflict):
        nominations.nominate(db_session, setup.subject_actor, cycle.id, group="peer", person_id=colleague.id)
    with pytest.raises(Conflict):
        nominations.nominate(
            db_session, setup.subject_actor, cycle.id, group="peer", email="client@example.org"
        )
    with pytest.raises(ValidationFailed):
        nominations.nominate(
            db_session, setup.subject_actor, cycle.id, group="peer", person_id=setup.subject.id
        )
    with pytest.raises(ValidationFailed):
        nominations.nominate(
            db_session, setup.subject_actor, cycle.id, group="self", person_id=enrol(setup.course).id
        )
    with pytest.raises(ValidationFailed):
        nominations.nominate(
            db_session, setup.subject_actor, cycle.id, group="peer", email=setup.subject.email
        )
    outside = course_with_subject()
    with pytest.raises(NotFound):
        nominations.nominate(
            db_session, setup.subject_actor, cycle.id, group="peer", person_id=outside.subject.id
        )


def test_raters_cannot_nominate(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    (rater,) = add_raters(setup, cycle, "peer", 1)
    with pytest.raises(NotFound):
        nominations.nominate(
            db_session, rater.actor, cycle.id, group="peer", person_id=enrol(setup.course).id
        )


def test_trainer_approval_of_nominations(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup, settings=CycleSettings(nominations_need_approval=True))
    asked = [
        nominations.nominate(
            db_session, setup.subject_actor, cycle.id, group="peer", person_id=enrol(setup.course).id
        )
        for _ in range(2)
    ]
    assert [(r.approval, r.status) for r in asked] == [(APPROVAL_PENDING, NOMINATED)] * 2
    assert mails(db_session) == []
    with pytest.raises(PermissionDenied):
        nominations.decide_nomination(db_session, setup.subject_actor, asked[0].id, True)
    nominations.decide_nomination(db_session, setup.trainer_actor, asked[0].id, True)
    nominations.decide_nomination(db_session, setup.trainer_actor, asked[1].id, False)
    assert [(r.approval, r.status) for r in asked] == [(APPROVED, INVITED), (REJECTED, NOMINATED)]
    assert len(mails(db_session)) == 1
    with pytest.raises(Conflict):
        nominations.decide_nomination(db_session, setup.trainer_actor, asked[0].id, False)
    # A pending or rejected nomination is not an invitation: the rater cannot answer it.
    rater_actor = type(setup.subject_actor)(
        asked[1].rater_person_id, setup.course.registration_id, setup.course.id
    )
    with pytest.raises(NotFound):
        answering.questionnaire_for_person(db_session, rater_actor, asked[1].id)


def test_withdraw_only_before_the_invitation(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup, settings=CycleSettings(nominations_need_approval=True))
    pending = nominations.nominate(
        db_session, setup.subject_actor, cycle.id, group="peer", person_id=enrol(setup.course).id
    )
    nominations.withdraw_nomination(db_session, setup.subject_actor, pending.id)
    assert db_session.get(FeedbackRequest, pending.id) is None
    (invited,) = add_raters(setup, cycle, "peer", 1)
    # Refused whether or not they answered: the refusal must not tell the two apart.
    with pytest.raises(Conflict) as before_answer:
        nominations.withdraw_nomination(db_session, setup.subject_actor, invited.request.id)
    submit(invited, full_answers(cycle))
    with pytest.raises(Conflict) as after_answer:
        nominations.withdraw_nomination(db_session, setup.subject_actor, invited.request.id)
    assert before_answer.value.message == after_answer.value.message


def test_reminders_go_to_those_who_have_not_answered_every_three_days(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    raters = add_raters(setup, cycle, "peer", 3)
    submit(raters[0], full_answers(cycle))
    answering.answer_as_person(
        db_session, raters[1].actor, raters[1].request.id, answering.DECLINE, Answers()
    )
    now = utcnow()
    assert mail.send_reminders(db_session, setup.subject_actor, cycle.id, now=now) == 1
    reminders = mails(db_session, "reminder")
    assert [m.request_id for m in reminders] == [raters[2].request.id]
    assert mail.send_reminders(db_session, setup.trainer_actor, cycle.id, now=now + timedelta(hours=2)) == 0
    assert mail.send_reminders(db_session, setup.trainer_actor, cycle.id, now=now + timedelta(hours=25)) == 0
    assert mail.send_reminders(db_session, setup.trainer_actor, cycle.id, now=now + timedelta(days=3)) == 1
    with pytest.raises(NotFound):
        mail.send_reminders(db_session, raters[2].actor, cycle.id)


class Outbox:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list = []
        self.fail = fail

    def __call__(self, message) -> None:  # type: ignore[no-untyped-def]
        if self.fail:
            raise ConnectionRefusedError("smtp down")
        self.sent.append(message)


def deliver_all(db_session, outbox: Outbox, now=None) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        mail.deliver(
            db_session, mail_id, outbox, base_url="https://tandem.test", mail_from="t@tandem.test", now=now
        ).status
        for mail_id in mail.due_mail_ids(db_session, now=now)
    ]


def test_invitation_to_an_outsider_carries_a_working_single_use_link(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    outsider = nominations.nominate(
        db_session, setup.subject_actor, cycle.id, group="other", email="ext@example.org"
    )
    nominations.decide_nomination(db_session, setup.trainer_actor, outsider.id, True)
    outbox = Outbox()
    assert deliver_all(db_session, outbox) == [MAIL_SENT]
    (message,) = outbox.sent
    assert message["To"] == "ext@example.org"
    assert setup.subject.display_name in message["Subject"]
    body = message.get_content()
    link = next(word for word in body.split() if word.startswith("https://tandem.test/feedback/answer/"))
    token = link.rsplit("/", 1)[1]
    assert outsider.token_hash == hash_token(token) and token not in (outsider.token_hash or "")
    questionnaire = answering.questionnaire_for_link(db_session, token)
    assert questionnaire.request.id == outsider.id
    assert answering.answer_by_link(db_session, token, answering.SUBMIT, full_answers(cycle)) == "submitted"
    with pytest.raises(NotFound):
        answering.questionnaire_for_link(db_session, token)
    assert outsider.token_hash is None


def test_failed_sending_keeps_the_previous_link_and_retries(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    outsider = nominations.nominate(
        db_session, setup.subject_actor, cycle.id, group="other", email="ext@example.org"
    )
    nominations.decide_nomination(db_session, setup.trainer_actor, outsider.id, True)
    working = Outbox()
    deliver_all(db_session, working)
    token = working.sent[0].get_content().split("/feedback/answer/")[1].split()[0]
    mail.send_reminders(db_session, setup.subject_actor, cycle.id)
    assert deliver_all(db_session, Outbox(fail=True)) == [MAIL_PENDING]
    assert answering.questionnaire_for_link(db_session, token).request.id == outsider.id
    reminder = mails(db_session, "reminder")[0]
    assert reminder.last_error == "ConnectionRefusedError" and reminder.attempts == 1
    for _ in range(4):
        deliver_all(db_session, Outbox(fail=True))
    assert reminder.status == MAIL_FAILED


def test_mail_waits_for_the_opening_day_and_is_dropped_when_closed(db_session) -> None:
    setup = course_with_subject()
    opens = utcnow() + timedelta(days=3)
    cycle = start_cycle(setup, opens_at=opens, closes_at=opens + timedelta(days=7))
    add_raters(setup, cycle, "peer", 1)
    assert deliver_all(db_session, Outbox()) == []
    assert len(deliver_all(db_session, Outbox(), now=opens + timedelta(minutes=1))) == 1
    other = start_cycle(setup, title="Second", subject=enrol(setup.course))
    add_raters(setup, other, "peer", 1)
    cycles.close_cycle(db_session, setup.trainer_actor, other.id)
    assert [m.status for m in mails(db_session)][-1] == MAIL_DROPPED


def test_people_without_email_or_who_turned_it_off_get_no_mail(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    quiet = enrol(setup.course, email_notifications=False)
    no_address = enrol(setup.course, email=None)
    for person in (quiet, no_address):
        nominations.nominate(db_session, setup.subject_actor, cycle.id, group="peer", person_id=person.id)
    assert mails(db_session) == []


@pytest.mark.parametrize("cycle_needs_approval", [False, True])
def test_outside_nominations_wait_for_a_trainer_whatever_the_cycle_says(db_session, cycle_needs_approval) -> None:
    """An email address outside the course gets no mail until a trainer approves: otherwise anyone in a
    course could have Tandem mail anyone, under a title of their choosing."""
    setup = course_with_subject()
    cycle = start_cycle(setup, settings=CycleSettings(nominations_need_approval=cycle_needs_approval))
    outsider = nominations.nominate(
        db_session, setup.subject_actor, cycle.id, group="other", email="anyone@example.org", name="Anyone"
    )
    assert (outsider.approval, outsider.status, outsider.invited_at) == (APPROVAL_PENDING, NOMINATED, None)
    assert mails(db_session) == []
    assert mail.send_reminders(db_session, setup.subject_actor, cycle.id) is None  # nobody invited to remind
    assert mails(db_session) == []
    nominations.decide_nomination(db_session, setup.trainer_actor, outsider.id, True)
    assert (outsider.approval, outsider.status) == (APPROVED, INVITED)
    assert [m.kind for m in mails(db_session)] == ["invitation"]


def test_a_trainers_outside_nomination_is_its_own_approval(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    outsider = nominations.nominate(
        db_session, setup.trainer_actor, cycle.id, group="other", email="client@example.org"
    )
    assert (outsider.approval, outsider.status) == (APPROVED, INVITED)
    assert outsider.decided_by_id == setup.trainer.id


def test_a_course_member_given_by_address_needs_no_extra_approval(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    enrol(setup.course, email="colleague@example.test")
    made = nominations.nominate(
        db_session, setup.subject_actor, cycle.id, group="peer", email="colleague@example.test"
    )
    assert (made.approval, made.status) == (APPROVED, INVITED)


def test_at_most_one_reminder_per_rater_every_three_days(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    add_raters(setup, cycle, "peer", 3)
    now = utcnow()
    assert mail.send_reminders(db_session, setup.subject_actor, cycle.id, now=now) == 3
    for later in (timedelta(hours=25), timedelta(days=2, hours=23)):
        assert mail.send_reminders(db_session, setup.trainer_actor, cycle.id, now=now + later) == 0
    assert mail.send_reminders(db_session, setup.trainer_actor, cycle.id, now=now + timedelta(days=3)) == 3
    assert len(mails(db_session, "reminder")) == 6
