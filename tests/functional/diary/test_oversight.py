"""One oversight rule for goals, check-ins and 360 cycles (``access.is_course_trainer``; pairing alerts go to
``access.course_trainer_ids``, see test_checkins): trainers of the course and admins of its platform
oversee; a participant, and a trainer of another course, do not."""

from __future__ import annotations

import pytest

from lti_app.errors import NotFound
from lti_app.services import checkins, goals
from lti_app.services.feedback import cycles
from tests.factories.core import CourseFactory, actor_for
from tests.factories.diary import GoalFactory, cast, enrol


def oversees(db_session, people, actor) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    personal = GoalFactory(
        rel=None, programme_id=people.programme.id, course_id=people.course.id, owner_id=people.mentee.id
    )
    checkins.answer_checkin(db_session, people.actor("mentee"), people.relationship.id, checkins.CheckInInput(4, "yes"))
    cycles.create_cycle(db_session, people.actor("mentee"), course_id=people.course.id)
    seen = {}
    try:
        seen["goal"] = goals.get_goal(db_session, actor, personal.id).id == personal.id
    except NotFound:
        seen["goal"] = False
    try:
        seen["checkins"] = len(checkins.list_checkins(db_session, actor, people.relationship.id)) == 1
    except NotFound:
        seen["checkins"] = False
    try:
        seen["cycles"] = len(cycles.list_cycles(db_session, actor, people.course.id)) == 1
    except NotFound:
        seen["cycles"] = False
    return seen


@pytest.mark.parametrize("who, expected", [("trainer", True), ("admin", True), ("outsider", False)])
def test_the_same_people_oversee_goals_checkins_and_cycles(db_session, who, expected) -> None:
    people = cast()
    assert oversees(db_session, people, people.actor(who)) == dict.fromkeys(("goal", "checkins", "cycles"), expected)


def test_a_trainer_of_another_course_oversees_nothing_here(db_session) -> None:
    people = cast()
    elsewhere = CourseFactory(registration=people.course.registration)
    stranger = enrol(elsewhere, "trainer")
    actor = actor_for(stranger, elsewhere, "trainer")  # launched from their own course
    assert oversees(db_session, people, actor) == {"goal": False, "checkins": False, "cycles": False}
