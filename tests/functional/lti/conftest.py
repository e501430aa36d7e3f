"""Fixtures for launch tests: a test platform registered with Tandem, and apps with other settings (HTTPS
base URL, Redis store) on the same test database.

Tandem's public URL in tests is ``http://tool.test`` (see ``tests/conftest.py``), so the platform is told
the tool lives there and the Flask test client answers for that host.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask

from lti_app.extensions import db
from lti_app.models.registration import Deployment, Registration
from tests.conftest import make_settings
from tests.platform import TestPlatform

TOOL_URL = "http://tool.test"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def register(platform: TestPlatform, *, client_id: str | None = None, active: bool = True) -> Registration:
    """Register ``platform`` (one client id, all its deployments) in Tandem, as an admin would."""
    details = platform.registration_details(platform.config(client_id))
    registration = Registration(
        name="Test LMS",
        issuer=details["issuer"],
        client_id=details["client_id"],
        auth_login_url=details["auth_login_url"],
        auth_token_url=details["auth_token_url"],
        key_set_url=details["key_set_url"],
        product_family=details["product_family"],
        is_active=active,
    )
    registration.deployments = [Deployment(deployment_id=d) for d in details["deployment_ids"]]
    db.session.add(registration)
    db.session.commit()
    return registration


@pytest.fixture
def moodle(lti_platform: TestPlatform, app: Flask) -> TestPlatform:
    """A Moodle-shaped platform (login by POST, 60 s tokens, deployment id = tool type id), registered."""
    lti_platform.add_tool(TOOL_URL)
    register(lti_platform)
    return lti_platform


@pytest.fixture
def canvas(lti_canvas_platform: TestPlatform, app: Flask) -> TestPlatform:
    """A Canvas-shaped platform (one issuer, ``aud`` a list with ``azp``), registered."""
    lti_canvas_platform.add_tool(TOOL_URL)
    register(lti_canvas_platform)
    return lti_canvas_platform


@pytest.fixture(scope="session")
def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def make_app(
    _app: Flask, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Flask]]:
    """Apps with other settings on the test database (whose tables ``_app`` created), one per settings."""
    from lti_app import create_app

    made: dict[str, Flask] = {}

    def make(**overrides: Any) -> Flask:
        key = repr(sorted(overrides.items()))
        if key not in made:
            made[key] = create_app(
                make_settings(database_url, tmp_path_factory.mktemp("instance"), **overrides)
            )
        return made[key]

    yield make
    for other in made.values():
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def use_app(app: Flask) -> Iterator[Callable[[Flask], Flask]]:
    """Switch the test to another app: its context is pushed until the test ends (``app`` still empties
    the tables afterwards)."""
    pushed: list[Any] = []

    def use(other: Flask) -> Flask:
        ctx = other.app_context()
        ctx.push()
        pushed.append(ctx)
        return other

    yield use
    for ctx in reversed(pushed):
        db.session.remove()
        ctx.pop()


@pytest.fixture
def redis_app(
    make_app: Callable[..., Flask], use_app: Callable[[Flask], Flask], redis_available: bool
) -> Iterator[Flask]:
    """Tandem with its launch store in Redis; each test gets a key prefix of its own, dropped afterwards."""
    from lti_app.lti.storage import RedisStore
    from lti_app.lti.wiring import KEYS_KEY, STORE_KEY

    if not redis_available:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    other = use_app(make_app(redis_url=REDIS_URL))
    prefix = f"tandem-test-{uuid.uuid4().hex}:"
    other.extensions[STORE_KEY] = RedisStore.from_url(REDIS_URL, prefix)
    other.extensions.pop(KEYS_KEY, None)
    yield other
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


@pytest.fixture(params=["database", "redis"])
def store_app(request: pytest.FixtureRequest, app: Flask) -> Flask:
    """The app, once with the database store and once with Redis."""
    if request.param == "redis":
        return request.getfixturevalue("redis_app")
    return app
