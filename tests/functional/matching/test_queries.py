"""Bounded queries: building the pool, running, reviewing and suggesting cost the same number of queries
for a programme of 8 people as for one of 72."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from lti_app.extensions import db
from lti_app.models.base import utcnow
from lti_app.services import matching
from tests.factories.core import pair
from tests.factories.matching import ProgrammeQuestionFactory, criterion, mentee, mentor
from tests.functional.matching.support import learner_actor, setting


@contextmanager
def counted() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _programme(mentees: int, mentors: int):  # type: ignore[no-untyped-def]
    s = setting(default_capacity=2)
    ProgrammeQuestionFactory(programme=s.programme, key="pace")
    criterion(s.programme, "skills", "complementarity", 10)
    criterion(s.programme, "time_zone", "similarity", 4)
    criterion(s.programme, "pace", "similarity", 3, source="question")
    criterion(s.programme, "languages", "must")
    people = [
        mentor(
            s.course,
            s.programme,
            skills=["python"],
            languages=["en"],
            time_zone="Europe/Paris",
            answers={"pace": "o1"},
        )
        for _ in range(mentors)
    ]
    learners = [
        mentee(
            s.course,
            s.programme,
            skills_wanted=["python"],
            languages=["en"],
            time_zone="UTC",
            answers={"pace": "o2"},
        )
        for _ in range(mentees)
    ]
    for i in range(0, mentors, 2):  # some existing relationships, active and pending
        pair(s.programme, people[i], learners[i], "active" if i % 4 == 0 else "pending")
    db.session.flush()
    return s, learners


def _cost(action: Callable[[], object]) -> int:
    db.session.flush()
    db.session.expire_all()
    with counted() as statements:
        action()
    return len(statements)


def _costs(mentees: int, mentors: int) -> dict[str, int]:
    s, learners = _programme(mentees, mentors)
    programme = s.programme
    costs = {"pool": _cost(lambda: matching.load_pool(db.session, programme, now=utcnow()))}
    runs: list[Any] = []
    costs["run"] = _cost(
        lambda: runs.append(matching.run_matching(db.session, s.trainer_actor, programme.id))
    )
    costs["review"] = _cost(lambda: matching.review(db.session, s.trainer_actor, programme.id, runs[0].id))
    learner = learner_actor(learners[-1], s.course)
    costs["suggest"] = _cost(lambda: matching.suggest_mentors(db.session, learner, programme.id, 5))
    costs["due"] = _cost(lambda: matching.questions_due(db.session, learner, s.course.id))
    return costs


def test_query_counts_do_not_grow_with_the_pool(app) -> None:
    small = _costs(6, 2)  # both leave some mentees unmatched
    large = _costs(60, 12)
    assert small == large
    assert small["pool"] <= 8, small


def _publish_cost(mentees: int, mentors: int) -> tuple[int, int]:
    s, _ = _programme(mentees, mentors)
    run = matching.run_matching(db.session, s.trainer_actor, s.programme.id)
    cost = _cost(lambda: matching.publish(db.session, s.trainer_actor, s.programme.id, run.id))
    return cost, run.matched_count


def test_publishing_costs_the_same_for_any_number_of_pairs(app) -> None:
    """Every relationship of a proposal is created in one pass (capacity checked under the mentors' locks,
    relationships, members, events and notifications inserted in bulk), not one pair at a time."""
    small, small_pairs = _publish_cost(6, 2)
    large, large_pairs = _publish_cost(60, 12)
    assert large_pairs > 5 * small_pairs
    assert small == large
    assert small <= 45, small
