"""Goals: the mentee owns them, the mentor proposes; progress history; personal goals; counts for
completion."""

from __future__ import annotations

import pytest

from lti_app.errors import NotFound, PermissionDenied, RuleViolation, StaleVersion, ValidationFailed
from lti_app.services import events, goals
from tests.factories.diary import cast


@pytest.fixture()
def published(monkeypatch):  # type: ignore[no-untyped-def]
    seen: list[events.DomainEvent] = []
    monkeypatch.setattr(events, "_subscribers", [lambda _session, event: seen.append(event)])
    return seen


def test_a_mentees_goal_is_agreed_at_once(db_session, published) -> None:
    people = cast()
    goal = goals.create_goal(
        db_session,
        people.actor("mentee"),
        goals.GoalInput(
            title="Speak at a meetup",
            success_measure="One talk given",
            milestones=[goals.MilestoneInput("Pick a topic"), goals.MilestoneInput("Write the abstract")],
        ),
        relationship_id=people.relationship.id,
    )
    assert goal.owner_id == people.mentee.id and not goal.is_proposal
    assert [m.title for m in goal.milestones] == ["Pick a topic", "Write the abstract"]
    assert [(p.progress, p.status) for p in goal.history] == [(0, "not_started")]
    assert (
        published[-1].kind == events.GOAL_CHANGED and published[-1].relationship_id == people.relationship.id
    )


def test_a_mentor_proposes_and_the_mentee_accepts(db_session) -> None:
    people = cast()
    goal = goals.create_goal(
        db_session,
        people.actor("mentor"),
        goals.GoalInput(title="Read two books"),
        relationship_id=people.relationship.id,
    )
    assert goal.owner_id == people.mentee.id and goal.is_proposal
    goals.update_goal(db_session, people.actor("mentor"), goal.id, goals.GoalInput(title="Read three books"))
    with pytest.raises(RuleViolation, match="Accept"):
        goals.record_progress(db_session, people.actor("mentee"), goal.id, progress=10)
    with pytest.raises(PermissionDenied):
        goals.accept_goal(db_session, people.actor("mentor"), goal.id)
    goals.accept_goal(db_session, people.actor("mentee"), goal.id)
    assert not goal.is_proposal
    with pytest.raises(PermissionDenied):
        goals.update_goal(db_session, people.actor("mentor"), goal.id, goals.GoalInput(title="Four"))
    for who in ("trainer", "admin"):
        with pytest.raises(PermissionDenied):
            goals.record_progress(db_session, people.actor(who), goal.id, progress=50)


def test_progress_history_is_kept(db_session) -> None:
    people = cast()
    goal = goals.create_goal(
        db_session,
        people.actor("mentee"),
        goals.GoalInput(title="Lead a retro"),
        relationship_id=people.relationship.id,
    )
    goals.record_progress(db_session, people.actor("mentee"), goal.id, progress=30)
    assert goal.status == "in_progress"
    goals.record_progress(db_session, people.actor("mentee"), goal.id, progress=30)  # no change, no point
    goals.record_progress(db_session, people.actor("mentee"), goal.id, status="achieved")
    assert (goal.progress, goal.status) == (100, "achieved") and goal.achieved_at is not None
    assert [(p.progress, p.status) for p in goal.history] == [
        (0, "not_started"),
        (30, "in_progress"),
        (100, "achieved"),
    ]
    with pytest.raises(ValidationFailed) as failed:
        goals.record_progress(db_session, people.actor("mentee"), goal.id, progress=101, status="won")
    assert set(failed.value.details) == {"progress", "status"}


def test_goal_counts_for_completion(db_session) -> None:
    people = cast()
    made = [
        goals.create_goal(
            db_session,
            people.actor("mentee"),
            goals.GoalInput(title=f"Goal {n}"),
            relationship_id=people.relationship.id,
        )
        for n in range(4)
    ]
    goals.create_goal(  # a proposal not yet accepted counts in neither
        db_session,
        people.actor("mentor"),
        goals.GoalInput(title="Proposal"),
        relationship_id=people.relationship.id,
    )
    goals.record_progress(db_session, people.actor("mentee"), made[0].id, status="achieved")
    goals.record_progress(db_session, people.actor("mentee"), made[1].id, status="dropped")
    assert goals.goal_counts(db_session, people.relationship.id) == (1, 3)


def test_stale_goal_edit_is_refused(db_session) -> None:
    people = cast()
    goal = goals.create_goal(
        db_session, people.actor("mentee"), goals.GoalInput(title="A"), relationship_id=people.relationship.id
    )
    version = goal.version
    goals.update_goal(db_session, people.actor("mentee"), goal.id, goals.GoalInput(title="B"), version)
    with pytest.raises(StaleVersion):
        goals.update_goal(db_session, people.actor("mentee"), goal.id, goals.GoalInput(title="C"), version)


def test_goals_are_seen_by_overseers_but_not_outsiders(db_session) -> None:
    people = cast()
    goals.create_goal(
        db_session, people.actor("mentee"), goals.GoalInput(title="A"), relationship_id=people.relationship.id
    )
    for who in ("mentor", "trainer", "admin"):
        assert [g.title for g in goals.list_goals(db_session, people.actor(who), people.relationship.id)] == [
            "A"
        ]
    with pytest.raises(NotFound):
        goals.list_goals(db_session, people.actor("outsider"), people.relationship.id)


def test_personal_goals_belong_to_their_owner_and_trainers(db_session) -> None:
    people = cast()
    goal = goals.create_goal(
        db_session,
        people.actor("mentee"),
        goals.GoalInput(title="Learn SQL"),
        programme_id=people.programme.id,
    )
    assert goal.is_personal and goal.owner_id == people.mentee.id and goal.course_id == people.course.id
    assert [g.id for g in goals.personal_goals(db_session, people.actor("mentee"), people.programme.id)] == [
        goal.id
    ]
    seen_by_trainer = goals.personal_goals(
        db_session, people.actor("trainer"), people.programme.id, people.mentee.id
    )
    assert [g.id for g in seen_by_trainer] == [goal.id]
    for who in ("mentor", "outsider"):
        with pytest.raises(NotFound):
            goals.get_goal(db_session, people.actor(who), goal.id)
        with pytest.raises(NotFound):
            goals.personal_goals(db_session, people.actor(who), people.programme.id, people.mentee.id)
    with pytest.raises(PermissionDenied):
        goals.create_goal(
            db_session,
            people.actor("trainer"),
            goals.GoalInput(title="Mine"),
            programme_id=people.programme.id,
        )


def test_group_mentor_names_the_mentee(db_session) -> None:
    from lti_app.models.relationship import RelationshipMember
    from tests.factories.diary import enrol

    people = cast()
    second = enrol(people.course)
    db_session.add(
        RelationshipMember(relationship_id=people.relationship.id, person_id=second.id, role="mentee")
    )
    db_session.flush()
    db_session.expire(people.relationship, ["members"])
    with pytest.raises(ValidationFailed) as failed:
        goals.create_goal(
            db_session,
            people.actor("mentor"),
            goals.GoalInput(title="X"),
            relationship_id=people.relationship.id,
        )
    assert "owner_id" in failed.value.details
    goal = goals.create_goal(
        db_session,
        people.actor("mentor"),
        goals.GoalInput(title="X", owner_id=second.id),
        relationship_id=people.relationship.id,
    )
    assert goal.owner_id == second.id
    with pytest.raises(PermissionDenied):
        goals.create_goal(
            db_session,
            people.actor("mentee"),
            goals.GoalInput(title="Y", owner_id=second.id),
            relationship_id=people.relationship.id,
        )


def test_milestones_are_ticked_by_the_owner(db_session) -> None:
    people = cast()
    goal = goals.create_goal(
        db_session,
        people.actor("mentee"),
        goals.GoalInput(title="A", milestones=[goals.MilestoneInput("M1")]),
        relationship_id=people.relationship.id,
    )
    milestone = goal.milestones[0]
    with pytest.raises(PermissionDenied):
        goals.set_milestone_done(db_session, people.actor("mentor"), milestone.id, True)
    goals.set_milestone_done(db_session, people.actor("mentee"), milestone.id, True)
    assert milestone.done and milestone.done_at is not None
