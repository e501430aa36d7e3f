"""Two accepts at once can never overfill a mentor: on PostgreSQL, with real threads and connections.

The mentor has one place and two pending requests. Whichever accept takes the mentor's membership lock first
wins; the other waits for it, then counts the first one's mentee and is refused with a clear 409.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from lti_app.errors import RuleViolation
from lti_app.extensions import db
from lti_app.models.relationship import Relationship
from lti_app.services import relationships
from tests.factories.core import ProgrammeFactory, actor_for, pair
from tests.factories.mentoring import mentee, mentor
from tests.support.launch import api_headers

WAIT = 20.0


@pytest.fixture()
def two_requests(app, db_session, dialect):  # type: ignore[no-untyped-def]
    if dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers by itself")
    programme = ProgrammeFactory()
    ada = mentor(programme, capacity=1)
    found = []
    for _ in range(2):
        asker = mentee(programme)
        rel = pair(programme, ada, asker, status="pending")
        rel.requested_by_id = asker.id
        found.append(rel.id)
    db_session.commit()
    return programme, ada, found


def _active(session: Any) -> int:
    return session.scalar(select(func.count(Relationship.id)).where(Relationship.status == "active"))


def _waiting_on_a_lock(engine: Any) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        )


def test_the_second_accept_waits_for_the_first_and_is_refused(app, db_session, two_requests) -> None:
    programme, ada, (first_id, second_id) = two_requests
    actor = actor_for(ada, programme.course)
    engine = db.engine
    first_holds_lock, release_first = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def first() -> None:
        with Session(engine) as session:
            relationships.accept(session, actor, first_id)
            first_holds_lock.set()
            release_first.wait(WAIT)
            session.commit()
            outcome["first"] = "accepted"

    def second() -> None:
        with Session(engine) as session:
            try:
                relationships.accept(session, actor, second_id)
                session.commit()
                outcome["second"] = "accepted"
            except RuleViolation as exc:
                session.rollback()
                outcome["second"] = exc

    one = threading.Thread(target=first)
    one.start()
    assert first_holds_lock.wait(WAIT)
    two = threading.Thread(target=second)
    two.start()
    # The second accept must be blocked on the first one's lock (not merely slow) before the first commits.
    deadline = time.monotonic() + WAIT
    while not _waiting_on_a_lock(engine) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _waiting_on_a_lock(engine), "the second accept never waited for the mentor's lock"
    assert "second" not in outcome
    release_first.set()
    one.join(WAIT)
    two.join(WAIT)
    assert outcome["first"] == "accepted"
    refused = outcome["second"]
    assert isinstance(refused, RuleViolation) and refused.code == "mentor_full"
    db_session.expire_all()
    assert _active(db_session) == 1


def test_two_simultaneous_api_accepts_exactly_one_wins(app, db_session, two_requests) -> None:
    programme, ada, ids = two_requests
    headers = api_headers(app, actor_for(ada, programme.course))
    start = threading.Barrier(2)
    responses: dict[int, Any] = {}

    def accept(rid: int) -> None:
        client = app.test_client()
        start.wait(WAIT)
        responses[rid] = client.post(f"/api/v1/relationships/{rid}/accept", headers=headers)

    threads = [threading.Thread(target=accept, args=(rid,)) for rid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    statuses = sorted(r.status_code for r in responses.values())
    assert statuses == [200, 409]
    loser = next(r for r in responses.values() if r.status_code == 409).get_json()
    assert loser["error"] == "mentor_full" and "has no free place" in loser["message"]
    db_session.expire_all()
    assert _active(db_session) == 1
