"""Roster sync costs a constant number of statements per batch, whatever the batch holds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from lti_app.extensions import db


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """Statements this thread sends (the platform's JWKS fetch through the app runs in another thread).
    An executemany counts once: it is one round of the batch, not one per row."""
    statements: list[str] = []
    me = threading.get_ident()

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if threading.get_ident() == me:
            statements.append(statement.split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def enrol_many(platform, lms_course, n: int) -> list:
    people = [platform.add_user() for _ in range(n)]
    for person in people:
        platform.enrol(person, lms_course, "learner")
    return people


def test_statements_grow_with_batches_not_members(platform, lms_course, sync) -> None:
    enrol_many(platform, lms_course, 120)

    with counted_statements() as first:
        sync(batch_size=40, page_limit=50)  # 3 batches of new people
    with counted_statements() as again:
        sync(batch_size=40, page_limit=50)  # 3 batches, nothing changed

    batches = 3
    # Per new batch: read the people known, insert the new ones (one executemany), read their ids, insert
    # the enrolments. Plus the signing key, the registration and course once, and the final deactivation.
    assert first.count("SELECT") <= 2 * batches + 3
    assert first.count("INSERT") <= 2 * batches
    assert len(first) <= 4 * batches + 6
    # Per unchanged batch: read people, stamp the enrolments seen.
    assert again.count("UPDATE") <= batches + 1
    assert len(again) <= 2 * batches + 6


def test_a_bigger_batch_costs_the_same_statements(platform, lms_course, sync) -> None:
    enrol_many(platform, lms_course, 30)
    with counted_statements() as small_roster:
        sync(batch_size=100)
    platform_people = enrol_many(platform, lms_course, 60)
    assert platform_people

    with counted_statements() as bigger_roster:
        sync(batch_size=100)  # 90 members, 60 of them new, still one batch

    assert len(bigger_roster) <= len(small_roster) + 1
