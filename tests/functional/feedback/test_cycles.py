"""Cycles: who starts them and on what, anonymity settings that never weaken, closing and completion."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lti_app.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.feedback import CYCLE_CLOSED, INVITED, SELF
from lti_app.services import events
from lti_app.services.feedback import after_cycle_completed, cycles, report
from lti_app.services.feedback.cycles import CycleSettings
from tests.factories.core import ProgrammeFactory, actor_for, pair
from tests.factories.feedback import (
    add_raters,
    course_with_subject,
    enrol,
    full_answers,
    self_rater,
    start_cycle,
    submit,
)


@pytest.fixture()
def published():
    seen: list[events.DomainEvent] = []

    def handler(session, event):  # type: ignore[no-untyped-def]
        seen.append(event)

    events.subscribe(handler)
    yield seen
    events._subscribers.remove(handler)


def test_participant_starts_a_cycle_with_a_self_assessment(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup, title="Where I stand")
    assert cycle.subject_id == setup.subject.id and cycle.title == "Where I stand"
    assert (cycle.anonymity_threshold, cycle.comment_threshold) == (3, 3)
    assert not cycle.allow_single_manager and cycle.allow_single_self
    (own,) = cycle.requests
    assert (own.rater_group, own.rater_person_id, own.status) == (SELF, setup.subject.id, INVITED)
    assert cycle.template_version.frozen


def test_only_trainers_start_cycles_for_others_or_change_anonymity(db_session) -> None:
    setup = course_with_subject()
    peer = enrol(setup.course)
    with pytest.raises(PermissionDenied):
        cycles.create_cycle(db_session, setup.subject_actor, course_id=setup.course.id, subject_id=peer.id)
    with pytest.raises(PermissionDenied):
        cycles.create_cycle(
            db_session,
            setup.subject_actor,
            course_id=setup.course.id,
            settings=CycleSettings(anonymity_threshold=2),
        )
    made = cycles.create_cycle(
        db_session,
        setup.trainer_actor,
        course_id=setup.course.id,
        subject_id=peer.id,
        settings=CycleSettings(anonymity_threshold=5, allow_single_manager=True),
    )
    assert made.subject_id == peer.id and made.anonymity_threshold == 5 and made.allow_single_manager
    with pytest.raises(ValidationFailed):
        cycles.create_cycle(
            db_session,
            setup.trainer_actor,
            course_id=setup.course.id,
            settings=CycleSettings(anonymity_threshold=1),
        )


def test_before_and_after_belong_to_a_relationship_of_the_subject(db_session) -> None:
    setup = course_with_subject()
    programme = ProgrammeFactory(course=setup.course)
    mentor = enrol(setup.course)
    relationship = pair(programme, mentor, setup.subject)
    with pytest.raises(ValidationFailed):
        start_cycle(setup, phase="before")
    cycle = start_cycle(setup, phase="before", relationship_id=relationship.id)
    assert cycle.programme_id == programme.id and cycle.relationship_id == relationship.id
    with pytest.raises(Conflict):
        start_cycle(setup, phase="before", relationship_id=relationship.id)
    others = pair(programme, mentor, enrol(setup.course))
    with pytest.raises(NotFound):
        start_cycle(setup, phase="after", relationship_id=others.id)


def test_one_open_cycle_of_a_kind_at_a_time(db_session) -> None:
    setup = course_with_subject()
    first = start_cycle(setup)
    with pytest.raises(Conflict):
        start_cycle(setup, title="Side by side")
    cycles.close_cycle(db_session, setup.subject_actor, first.id)
    assert start_cycle(setup, title="Next round").id != first.id


def test_dates_are_checked(db_session) -> None:
    setup = course_with_subject()
    now = utcnow()
    with pytest.raises(ValidationFailed):
        start_cycle(setup, opens_at=now, closes_at=now - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        start_cycle(setup, opens_at=now, closes_at=now + timedelta(days=400))


def test_threshold_cannot_be_lowered_once_someone_answered(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup, by_trainer=True, settings=CycleSettings(anonymity_threshold=4))
    trainer = setup.trainer_actor
    cycles.update_cycle(db_session, trainer, cycle.id, settings=CycleSettings(anonymity_threshold=3))
    assert cycle.anonymity_threshold == 3  # nobody answered yet: still free
    with pytest.raises(PermissionDenied):
        cycles.update_cycle(
            db_session, setup.subject_actor, cycle.id, settings=CycleSettings(anonymity_threshold=5)
        )

    (rater,) = add_raters(setup, cycle, "peer", 1)
    submit(rater, full_answers(cycle))
    for weaker in (
        CycleSettings(anonymity_threshold=2),
        CycleSettings(comment_threshold=2),
        CycleSettings(allow_single_manager=True),
    ):
        with pytest.raises(RuleViolation):
            cycles.update_cycle(db_session, trainer, cycle.id, settings=weaker)
    assert cycle.anonymity_threshold == 3
    cycles.update_cycle(db_session, trainer, cycle.id, setting_changes={"anonymity_threshold": 5})
    assert cycle.anonymity_threshold == 5  # stricter is always allowed


def test_closing_completes_and_publishes(db_session, published) -> None:
    setup = course_with_subject()
    programme = ProgrammeFactory(course=setup.course)
    relationship = pair(programme, enrol(setup.course), setup.subject)
    cycle = start_cycle(setup, phase="after", relationship_id=relationship.id)
    submit(self_rater(setup, cycle), full_answers(cycle, 4))
    for rater in add_raters(setup, cycle, "peer", 3):
        submit(rater, full_answers(cycle, 3))
    assert not after_cycle_completed(db_session, setup.subject.id, relationship_id=relationship.id)
    cycles.close_cycle(db_session, setup.subject_actor, cycle.id)
    assert cycle.status == CYCLE_CLOSED and cycle.completed_at is not None
    (event,) = [e for e in published if e.kind == events.FEEDBACK_COMPLETED]
    assert event.person_ids == (setup.subject.id,) and event.relationship_id == relationship.id
    assert event.programme_id == programme.id
    assert after_cycle_completed(db_session, setup.subject.id, relationship_id=relationship.id)
    assert after_cycle_completed(db_session, setup.subject.id, programme_id=programme.id)
    assert not after_cycle_completed(db_session, setup.subject.id, programme_id=programme.id + 1)
    with pytest.raises(Conflict):
        cycles.close_cycle(db_session, setup.subject_actor, cycle.id)


def test_closing_without_enough_answers_is_not_completion(db_session, published) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    submit(self_rater(setup, cycle), full_answers(cycle, 4))
    for rater in add_raters(setup, cycle, "peer", 2):  # below the threshold of 3
        submit(rater, full_answers(cycle, 3))
    cycles.close_cycle(db_session, setup.trainer_actor, cycle.id)
    assert cycle.completed_at is None and published == []


def test_a_cycle_past_its_date_closes_when_looked_at(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    cycle.closes_at = utcnow() - timedelta(minutes=1)
    built = report.build_report(db_session, setup.subject_actor, cycle.id)
    assert built.cycle.status == CYCLE_CLOSED


def test_close_due_cycles_for_the_worker(db_session) -> None:
    setup = course_with_subject()
    due = start_cycle(setup, title="Due")
    running = start_cycle(setup, title="Running", subject=enrol(setup.course))
    assert cycles.close_due_cycles(db_session, now=due.closes_at + timedelta(seconds=1)) == 2
    assert cycles.close_due_cycles(db_session) == 0
    assert {due.status, running.status} == {CYCLE_CLOSED}


def test_who_sees_a_cycle(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    (rater,) = add_raters(setup, cycle, "peer", 1)
    stranger = enrol(setup.course)
    assert cycles.load_cycle(db_session, setup.subject_actor, cycle.id).is_subject
    assert cycles.load_cycle(db_session, setup.trainer_actor, cycle.id).is_trainer
    admin = actor_for(enrol(setup.course), None, "admin")
    assert cycles.load_cycle(db_session, admin, cycle.id).is_trainer
    for actor in (rater.actor, actor_for(stranger, setup.course)):
        with pytest.raises(NotFound):
            cycles.load_cycle(db_session, actor, cycle.id)
    other_course = course_with_subject()
    with pytest.raises(NotFound):
        cycles.load_cycle(db_session, other_course.trainer_actor, cycle.id)
    assert [
        c.id for c in cycles.list_cycles(db_session, actor_for(stranger, setup.course), setup.course.id)
    ] == []
    assert [c.id for c in cycles.list_cycles(db_session, setup.trainer_actor, setup.course.id)] == [cycle.id]
