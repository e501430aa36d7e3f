"""Requests and relationships through the services: the state machine, its rules, its history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lti_app.errors import Conflict, PermissionDenied, RuleViolation, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.notification import Notification
from lti_app.models.person import Enrolment
from lti_app.models.profile import Profile
from lti_app.models.relationship import RelationshipEvent
from lti_app.services import events
from lti_app.services import relationships as rels
from lti_app.services.relationship_queries import detail, for_person
from tests.factories.core import ProgrammeFactory, actor_for, pair
from tests.factories.mentoring import enrol, join, mentee, mentor


@pytest.fixture()
def programme(app):
    return ProgrammeFactory(default_capacity=2)


def _kinds(db_session, person):
    return [
        n.kind for n in db_session.scalars(select(Notification).where(Notification.person_id == person.id))
    ]


def test_request_accept_makes_an_active_relationship_with_a_timeline(db_session, programme) -> None:
    course = programme.course
    ada, bob = mentor(programme, skills=["python"]), mentee(programme)
    rel = rels.request_mentoring(db_session, actor_for(bob, course), programme.id, ada.id, message="Hi Ada")
    assert rel.status == "pending" and rel.expires_at > utcnow() + timedelta(days=13)
    assert _kinds(db_session, ada) == ["request.asked"]
    mine = for_person(db_session, actor_for(bob, course), course_id=course.id)
    theirs = for_person(db_session, actor_for(ada, course), course_id=course.id)
    assert mine.outbound == [rel] and theirs.inbound == [rel]

    rels.accept(db_session, actor_for(ada, course), rel.id)
    assert rel.status == "active" and rel.started_at is not None
    assert _kinds(db_session, bob) == ["request.accepted"]
    view = detail(db_session, actor_for(bob, course), rel.id)
    assert [(e.event.from_status, e.event.to_status) for e in view.timeline] == [
        (None, "pending"),
        ("pending", "active"),
    ]
    assert [e.actor_name for e in view.timeline] == [bob.display_name, ada.display_name]
    assert view.viewer_role == "mentee" and "end" in view.actions


def test_every_change_publishes_a_domain_event(db_session, programme) -> None:
    seen = []

    def handler(session, event):
        seen.append(event)

    events.subscribe(handler)
    try:
        ada, bob = mentor(programme), mentee(programme)
        rel = rels.request_mentoring(db_session, actor_for(bob, programme.course), programme.id, ada.id)
        rels.accept(db_session, actor_for(ada, programme.course), rel.id)
    finally:
        events._subscribers.remove(handler)
    assert [e.kind for e in seen] == [events.RELATIONSHIP_CHANGED] * 2
    assert set(seen[-1].person_ids) == {ada.id, bob.id} and seen[-1].relationship_id == rel.id


def test_request_beyond_capacity_is_refused_clearly(db_session, programme) -> None:
    course = programme.course
    ada = mentor(programme, capacity=1)
    first, second = mentee(programme), mentee(programme)
    rel = rels.request_mentoring(db_session, actor_for(first, course), programme.id, ada.id)
    rels.accept(db_session, actor_for(ada, course), rel.id)
    with pytest.raises(RuleViolation) as refused:
        rels.request_mentoring(db_session, actor_for(second, course), programme.id, ada.id)
    assert refused.value.code == "mentor_full"
    assert "has no free place" in refused.value.message and "1 of 1" in refused.value.message


def test_accept_rechecks_capacity(db_session, programme) -> None:
    course = programme.course
    ada = mentor(programme, capacity=1)
    one, two = mentee(programme), mentee(programme)
    first = rels.request_mentoring(db_session, actor_for(one, course), programme.id, ada.id)
    second = rels.request_mentoring(db_session, actor_for(two, course), programme.id, ada.id)
    rels.accept(db_session, actor_for(ada, course), first.id)
    with pytest.raises(RuleViolation, match="no free place"):
        rels.accept(db_session, actor_for(ada, course), second.id)


def test_personal_limit_caps_the_programme_default(db_session, programme) -> None:
    ada = mentor(programme, capacity=None)
    ada_profile = db_session.scalar(select(Profile).where(Profile.person_id == ada.id))
    ada_profile.capacity = 0
    bob = mentee(programme)
    with pytest.raises(RuleViolation, match="0 of 0"):
        rels.request_mentoring(db_session, actor_for(bob, programme.course), programme.id, ada.id)


def test_only_the_receiver_accepts_and_only_the_asker_withdraws(db_session, programme) -> None:
    course = programme.course
    ada, bob = mentor(programme), mentee(programme)
    rel = rels.request_mentoring(db_session, actor_for(bob, course), programme.id, ada.id)
    with pytest.raises(PermissionDenied):
        rels.accept(db_session, actor_for(bob, course), rel.id)
    with pytest.raises(PermissionDenied):
        rels.withdraw(db_session, actor_for(ada, course), rel.id)
    rels.withdraw(db_session, actor_for(bob, course), rel.id)
    assert rel.status == "withdrawn" and _kinds(db_session, ada) == ["request.asked", "request.withdrawn"]
    with pytest.raises(Conflict, match="already withdrawn"):
        rels.accept(db_session, actor_for(ada, course), rel.id)


def test_decline_with_reason(db_session, programme) -> None:
    course = programme.course
    ada, bob = mentor(programme), mentee(programme)
    rel = rels.request_mentoring(db_session, actor_for(bob, course), programme.id, ada.id)
    rels.decline(db_session, actor_for(ada, course), rel.id, reason="Too busy this term")
    assert rel.status == "declined" and rel.close_reason == "Too busy this term"
    assert _kinds(db_session, bob) == ["request.declined"]
    # Declined people may ask again later.
    again = rels.request_mentoring(db_session, actor_for(bob, course), programme.id, ada.id)
    assert again.status == "pending"


def test_duplicate_open_request_is_a_conflict(db_session, programme) -> None:
    ada, bob = mentor(programme), mentee(programme)
    rels.request_mentoring(db_session, actor_for(bob, programme.course), programme.id, ada.id)
    with pytest.raises(Conflict) as clash:
        rels.request_mentoring(db_session, actor_for(bob, programme.course), programme.id, ada.id)
    assert clash.value.code == "already_paired"


def test_requests_expire(db_session, programme) -> None:
    course = programme.course
    ada, bob = mentor(programme), mentee(programme)
    past = utcnow() - timedelta(days=20)
    rel = rels.request_mentoring(db_session, actor_for(bob, course), programme.id, ada.id, now=past)
    with pytest.raises(RuleViolation, match="expired"):
        rels.accept(db_session, actor_for(ada, course), rel.id)
    assert rels.expire_due(db_session) == (1, 0)
    assert rel.status == "expired"
    assert "request.expired" in _kinds(db_session, bob) and "request.expired" in _kinds(db_session, ada)
    assert rels.expire_due(db_session) == (0, 0)


def test_flash_relationships_complete_on_their_own(db_session) -> None:
    programme = ProgrammeFactory(model="flash", flash_duration_days=1)
    ada, bob = mentor(programme), mentee(programme)
    start = utcnow() - timedelta(days=3)
    rel = rels.request_mentoring(
        db_session, actor_for(bob, programme.course), programme.id, ada.id, now=start
    )
    rels.accept(db_session, actor_for(ada, programme.course), rel.id, now=start)
    assert rel.scheduled_end_at == start + timedelta(days=1)
    assert rels.expire_due(db_session) == (0, 1)
    assert rel.status == "completed" and rel.ended_at is not None


@pytest.mark.parametrize(
    ("policy", "as_role", "allowed"),
    [
        ("mentee", "mentee", True),
        ("mentee", "mentor", False),
        ("mentor", "mentor", True),
        ("mentor", "mentee", False),
        ("either", "mentor", True),
        ("either", "mentee", True),
        ("trainers_only", "mentee", False),
    ],
)
def test_request_policy(db_session, policy, as_role, allowed) -> None:
    programme = ProgrammeFactory(request_policy=policy)
    ada, bob = mentor(programme), mentee(programme)
    asker, other = (bob, ada) if as_role == "mentee" else (ada, bob)
    call = lambda: rels.request_mentoring(  # noqa: E731
        db_session, actor_for(asker, programme.course), programme.id, other.id, as_role=as_role
    )
    if allowed:
        rel = call()
        assert rel.person_ids("mentor") == [ada.id] and rel.person_ids("mentee") == [bob.id]
    else:
        with pytest.raises(RuleViolation) as refused:
            call()
        assert refused.value.code == "request_policy"


def test_mentor_roles_and_opt_in(db_session) -> None:
    programme = ProgrammeFactory(mentor_roles=["trainer"])
    learner = mentor(programme)  # opted in, but the programme wants trainers
    bob = mentee(programme)
    with pytest.raises(RuleViolation, match="only trainers can mentor"):
        rels.request_mentoring(db_session, actor_for(bob, programme.course), programme.id, learner.id)
    shy = enrol(programme.course, "trainer")
    with pytest.raises(RuleViolation, match="not open to mentoring"):
        rels.request_mentoring(db_session, actor_for(bob, programme.course), programme.id, shy.id)
    join(programme, shy, open_to_mentor=True)
    assert rels.request_mentoring(db_session, actor_for(bob, programme.course), programme.id, shy.id)


def test_lms_mentor_may_be_asked_without_opting_in(db_session, programme) -> None:
    child = mentee(programme)
    parent = enrol(programme.course, "mentor")
    parent_enrolment = db_session.scalar(select(Enrolment).where(Enrolment.person_id == parent.id))
    with pytest.raises(RuleViolation):
        rels.request_mentoring(db_session, actor_for(child, programme.course), programme.id, parent.id)
    parent_enrolment.mentor_of_subs = [child.sub]
    db_session.flush()
    rel = rels.request_mentoring(db_session, actor_for(child, programme.course), programme.id, parent.id)
    assert rel.status == "pending"


def test_trainer_approval(db_session) -> None:
    programme = ProgrammeFactory(requires_trainer_approval=True)
    course = programme.course
    ada, bob, tess = mentor(programme), mentee(programme), enrol(programme.course, "trainer")
    rel = rels.request_mentoring(db_session, actor_for(bob, course), programme.id, ada.id)
    rels.accept(db_session, actor_for(ada, course), rel.id)
    assert rel.status == "pending" and rel.responded_at is not None
    assert _kinds(db_session, tess) == ["request.needs_approval"]
    assert _kinds(db_session, bob) == ["request.accepted_pending"]
    with pytest.raises(PermissionDenied):
        rels.approve(db_session, actor_for(ada, course), rel.id)
    rels.approve(db_session, actor_for(tess, course, "trainer"), rel.id)
    assert rel.status == "active" and rel.trainer_approved_by_id == tess.id


def test_a_trainer_in_the_relationship_cannot_approve_it(db_session) -> None:
    """Approval is an independent check: the trainer who was asked (or who asked) cannot give it."""
    programme = ProgrammeFactory(requires_trainer_approval=True, mentor_roles=["trainer"])
    course = programme.course
    tess, bob = mentor(programme, "trainer"), mentee(programme)
    other = enrol(course, "trainer")
    rel = rels.request_mentoring(db_session, actor_for(bob, course), programme.id, tess.id)
    rels.accept(db_session, actor_for(tess, course, "trainer"), rel.id)
    view = detail(db_session, actor_for(tess, course, "trainer"), rel.id)
    assert "approve" not in view.actions
    with pytest.raises(PermissionDenied, match="another trainer of the course") as refused:
        rels.approve(db_session, actor_for(tess, course, "trainer"), rel.id)
    assert refused.value.code == "own_relationship"
    assert rel.status == "pending" and rel.trainer_approved_at is None
    assert "approve" in detail(db_session, actor_for(other, course, "trainer"), rel.id).actions
    rels.approve(db_session, actor_for(other, course, "trainer"), rel.id)
    assert rel.status == "active" and rel.trainer_approved_by_id == other.id


def test_a_trainer_who_asked_cannot_approve_their_own_request(db_session) -> None:
    programme = ProgrammeFactory(requires_trainer_approval=True)
    course = programme.course
    ada, tess = mentor(programme), enrol(course, "trainer")
    rel = rels.request_mentoring(db_session, actor_for(tess, course, "trainer"), programme.id, ada.id)
    with pytest.raises(PermissionDenied, match="another trainer of the course"):
        rels.approve(db_session, actor_for(tess, course, "trainer"), rel.id)
    assert rel.trainer_approved_at is None


def test_programme_closed_or_outside_dates(db_session) -> None:
    programme = ProgrammeFactory(status="closed")
    ada, bob = mentor(programme), mentee(programme)
    with pytest.raises(RuleViolation, match="not taking requests"):
        rels.request_mentoring(db_session, actor_for(bob, programme.course), programme.id, ada.id)
    programme.status = "open"
    programme.starts_on = (utcnow() + timedelta(days=5)).date()
    with pytest.raises(RuleViolation, match="opens on"):
        rels.request_mentoring(db_session, actor_for(bob, programme.course), programme.id, ada.id)


def test_trainer_creates_pauses_resumes_reassigns_and_ends(db_session) -> None:
    programme = ProgrammeFactory(model="group", default_capacity=3)
    course = programme.course
    tess = actor_for(enrol(course, "trainer"), course, "trainer")
    ada, cy = mentor(programme), mentor(programme)
    team = [mentee(programme) for _ in range(3)]
    rel = rels.create_relationship(
        db_session, tess, programme.id, mentor_ids=[ada.id], mentee_ids=[m.id for m in team]
    )
    assert rel.status == "active" and len(rel.members) == 4
    assert all(_kinds(db_session, p) == ["relationship.created"] for p in [ada, *team])
    rels.pause(db_session, tess, rel.id, reason="Summer break")
    rels.resume(db_session, tess, rel.id)
    rels.reassign(db_session, tess, rel.id, remove_person_id=ada.id, add_person_id=cy.id)
    assert rel.person_ids("mentor") == [cy.id]
    with pytest.raises(ValidationFailed, match="reason"):
        rels.end(db_session, tess, rel.id, reason=" ")
    rels.end(db_session, tess, rel.id, reason="Programme reorganised")
    statuses = db_session.scalars(
        select(RelationshipEvent.to_status)
        .where(RelationshipEvent.relationship_id == rel.id)
        .order_by(RelationshipEvent.id)
    ).all()
    assert statuses == ["active", "paused", "active", "active", "ended"]
    assert rel.close_reason == "Programme reorganised" and rel.ended_at is not None


def test_trainer_pairing_respects_capacity_and_shape(db_session, programme) -> None:
    course = programme.course
    tess = actor_for(enrol(course, "trainer"), course, "trainer")
    ada = mentor(programme, capacity=1)
    one, two = mentee(programme), mentee(programme)
    with pytest.raises(ValidationFailed, match="one mentor with one mentee"):
        rels.create_relationship(
            db_session, tess, programme.id, mentor_ids=[ada.id], mentee_ids=[one.id, two.id]
        )
    rels.create_relationship(db_session, tess, programme.id, mentor_ids=[ada.id], mentee_ids=[one.id])
    with pytest.raises(RuleViolation, match="no free place"):
        rels.create_relationship(db_session, tess, programme.id, mentor_ids=[ada.id], mentee_ids=[two.id])


def test_learners_cannot_use_trainer_actions(db_session, programme) -> None:
    course = programme.course
    ada, bob = mentor(programme), mentee(programme)
    rel = pair(programme, ada, bob)
    for action in (rels.pause, rels.complete, rels.resume):
        with pytest.raises(PermissionDenied):
            action(db_session, actor_for(bob, course), rel.id)
    with pytest.raises(PermissionDenied):
        rels.create_relationship(
            db_session, actor_for(bob, course), programme.id, mentor_ids=[ada.id], mentee_ids=[bob.id]
        )
    # Members may end their own relationship, with a reason.
    rels.end(db_session, actor_for(bob, course), rel.id, reason="We met our goals")
    assert rel.status == "ended"


def test_many_pairings_at_once_follow_the_same_rules(db_session) -> None:
    programme = ProgrammeFactory(default_capacity=2, model="flash", flash_duration_days=7)
    course = programme.course
    trainer = actor_for(enrol(course, "trainer"), course, "trainer")
    ada, cleo = mentor(programme), mentor(programme)
    bob, dan, eve = mentee(programme), mentee(programme), mentee(programme)
    made = rels.create_relationships(
        db_session,
        trainer,
        programme.id,
        [([ada.id], [bob.id]), ([ada.id], [dan.id]), ([cleo.id], [eve.id])],
        pending=False,
        source="trainer",
        note="Spring intake",
    )
    assert [r.person_ids() for r in made] == [[ada.id, bob.id], [ada.id, dan.id], [cleo.id, eve.id]]
    assert all(r.status == "active" and r.scheduled_end_at == r.started_at + timedelta(days=7) for r in made)
    assert all(r.request_message == "Spring intake" for r in made)
    assert _kinds(db_session, ada) == ["relationship.created"] * 2
    events_written = db_session.scalars(
        select(RelationshipEvent.note).where(RelationshipEvent.relationship_id.in_([r.id for r in made]))
    ).all()
    assert events_written == ["Created by a trainer"] * 3
    view = detail(db_session, actor_for(bob, course), made[0].id)
    assert view.viewer_role == "mentee" and [e.event.to_status for e in view.timeline] == ["active"]


def test_many_pairings_are_refused_whole_when_one_breaks_a_rule(db_session) -> None:
    programme = ProgrammeFactory(default_capacity=1)
    course = programme.course
    trainer = actor_for(enrol(course, "trainer"), course, "trainer")
    ada, bob, dan = mentor(programme), mentee(programme), mentee(programme)
    with pytest.raises(RuleViolation, match="no free place") as full:
        rels.create_relationships(
            db_session, trainer, programme.id, [([ada.id], [bob.id]), ([ada.id], [dan.id])],
            pending=True, source="matching",
        )
    assert full.value.details == {"capacity": 1, "load": 0}
    with pytest.raises(Conflict) as twice:
        rels.create_relationships(
            db_session, trainer, programme.id, [([ada.id], [bob.id]), ([ada.id], [bob.id])],
            pending=True, source="matching",
        )
    assert twice.value.code == "already_paired"
    assert db_session.scalars(select(RelationshipEvent)).all() == []
    assert _kinds(db_session, bob) == []
