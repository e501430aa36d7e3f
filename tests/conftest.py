"""Test harness: every database test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.

Each test run gets its own PostgreSQL database (created and dropped here), so runs never share state; each
test starts from empty tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from config.settings import Settings

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
PG_SKIP_MESSAGE = "PostgreSQL pass skipped: TEST_DATABASE_URL is not set (CI sets it)"

pytest_plugins = ["tests.platform.fixtures"] if (Path(__file__).parent / "platform" / "fixtures.py").exists() else []


def pytest_report_header(config: pytest.Config) -> str:
    if PG_URL:
        return f"databases: SQLite and PostgreSQL ({make_url(PG_URL).render_as_string(hide_password=True)})"
    return f"databases: SQLite only. {PG_SKIP_MESSAGE}"


def pytest_sessionstart(session: pytest.Session) -> None:
    if not PG_URL:
        return
    try:
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        pytest.exit(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}", returncode=3)


def _create_pg_database() -> tuple[str, URL]:
    server = make_url(PG_URL)
    name = f"tandem_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, server.set(database=name)


def _drop_pg_database(name: str) -> None:
    admin = create_engine(make_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'tandem.sqlite'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP_MESSAGE)
    name, url = _create_pg_database()
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _drop_pg_database(name)


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    base = Settings(
        env="test",
        database_url=database_url,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        base_url="http://tool.test",
        instance_dir=tmp_path,
        log_level="WARNING",
    )
    return base.with_overrides(**overrides) if overrides else base


@pytest.fixture(scope="session")
def _app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from lti_app import create_app
    from lti_app.extensions import db

    app = create_app(make_settings(database_url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def app(_app: Flask) -> Iterator[Flask]:
    from lti_app.extensions import db
    from tests.support.schema import empty_all_tables

    ctx = _app.app_context()
    ctx.push()
    try:
        yield _app
    finally:
        db.session.remove()
        empty_all_tables(db)
        # The framing origins are kept per process for a minute; a test's platforms must not outlive it.
        # Reloaded now, from the emptied tables, so the next test's first request costs no extra query.
        _app.extensions["tandem.platform_origins"].refresh()
        db.session.remove()
        ctx.pop()


@pytest.fixture()
def db_session(app: Flask):  # type: ignore[no-untyped-def]
    from lti_app.extensions import db

    return db.session


@pytest.fixture()
def client(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture()
def dialect(app: Flask) -> str:
    from lti_app.extensions import db

    return db.engine.dialect.name
