"""The shared launch store (database and Redis) and the platform key cache on top of it."""

from __future__ import annotations

import threading
from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from lti_app.extensions import db
from lti_app.lti.storage import DatabaseStore, purge_expired
from lti_app.lti.wiring import launch_store
from lti_app.models.base import utcnow
from lti_app.models.cache import CacheEntry
from lti_app.models.registration import Registration
from tests.platform import TestPlatform, bad_launch, drive_launch

from .support import expected_endpoint, landed


def test_put_get_pop(store_app: Flask) -> None:
    store = launch_store(store_app)
    store.put("k1", {"a": [1, 2]}, 60)
    db.session.commit()

    assert store.get("k1") == {"a": [1, 2]}
    store.put("k1", {"a": 3}, 60)  # a second put replaces
    assert store.get("k1") == {"a": 3}
    assert store.pop("k1") == {"a": 3}
    assert store.pop("k1") is None
    assert store.get("k1") is None
    assert store.get("never-set") is None


def test_expired_entries_are_gone(app: Flask) -> None:
    store = DatabaseStore(lambda: db.session())
    store.put("old", "x", 60)
    store.put("new", "y", 60)
    db.session.execute(
        update(CacheEntry).where(CacheEntry.key == "old").values(expires_at=utcnow() - timedelta(seconds=1))
    )

    assert store.get("old") is None
    assert store.pop("old") is None
    assert purge_expired(db.session()) == 0  # pop already removed it
    store.put("old2", "z", 60)
    db.session.execute(update(CacheEntry).where(CacheEntry.key == "old2").values(expires_at=utcnow()))
    assert purge_expired(db.session()) == 1
    assert db.session.scalars(select(CacheEntry.key)).all() == ["new"]


def test_pop_hands_a_value_to_exactly_one_worker(store_app: Flask, dialect: str) -> None:
    """Several workers racing for one nonce: exactly one gets it (DELETE … RETURNING / GETDEL)."""
    store = launch_store(store_app)
    store.put("nonce-race", True, 60)
    db.session.commit()
    winners: list[object] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        with store_app.app_context():
            barrier.wait()
            value = store.pop("nonce-race")
            db.session.commit()
            if value is not None:
                winners.append(value)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert winners == [True]


def test_launch_over_either_store(store_app: Flask, moodle: TestPlatform) -> None:
    client = store_app.test_client()
    sam = moodle.add_user()
    course = moodle.add_course()

    response = drive_launch(client, moodle, sam, course)

    assert landed(store_app, response)[0] == expected_endpoint(store_app, "pages.home")
    replay = client.post("/lti/launch", base_url="http://tool.test", data=moodle.last_launch.fields)
    assert replay.status_code == 400


def test_platform_keys_are_fetched_once_and_shared(store_app: Flask, moodle: TestPlatform) -> None:
    client = store_app.test_client()
    course = moodle.add_course()

    for _ in range(3):
        landed(store_app, drive_launch(client, moodle, moodle.add_user(), course))

    assert moodle.count("jwks") == 1


def test_rotated_platform_key_is_picked_up_once(store_app: Flask, moodle: TestPlatform) -> None:
    client = store_app.test_client()
    course = moodle.add_course()
    landed(store_app, drive_launch(client, moodle, moodle.add_user(), course))
    _age_key_cache(store_app)

    moodle.rotate_key(retire_previous=True)
    landed(store_app, drive_launch(client, moodle, moodle.add_user(), course))
    landed(store_app, drive_launch(client, moodle, moodle.add_user(), course))

    assert moodle.count("jwks") == 2  # the first fetch, and one refresh for the new kid


def test_unknown_kid_does_not_hammer_the_platform(app: Flask, client, moodle: TestPlatform) -> None:
    """Right after a fetch, a token with a kid the set does not list is refused without another fetch."""
    course = moodle.add_course()
    landed(app, drive_launch(client, moodle, moodle.add_user(), course))

    for _ in range(3):
        response = bad_launch(client, moodle, moodle.add_user(), course, "unknown_kid")
        assert response.status_code == 400

    assert moodle.count("jwks") == 1


def test_platform_keys_unreachable_is_a_clear_4xx(app: Flask, client, moodle: TestPlatform) -> None:
    moodle.faults.add("jwks", [503, 503, 503])

    response = drive_launch(client, moodle, moodle.add_user(), moodle.add_course())

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-error-code="platform_keys_unavailable"' in page


def test_redis_outage_is_a_503_page_not_a_500(make_app, use_app, moodle: TestPlatform) -> None:
    broken = use_app(make_app(redis_url="redis://127.0.0.1:1/0"))

    initiation = moodle.launch(moodle.add_user(), moodle.add_course())
    response = broken.test_client().post("/lti/login", base_url="http://tool.test", data=initiation.params)

    assert response.status_code == 503
    assert 'data-error-code="storage_unavailable"' in response.get_data(as_text=True)


def _age_key_cache(app: Flask) -> None:
    """Make the cached key set look older than the minimum refresh interval (no sleeping in tests)."""
    registration = db.session.scalars(select(Registration)).one()
    store = launch_store(app)
    key = f"jwks-{registration.id}"
    entry = store.get(key)
    assert entry is not None, "no cached key set"
    entry["fetched_at"] -= 3600
    store.put_now(key, entry, 3600)
