"""Tandem: mentoring programmes inside the LMS, over LTI 1.3.

``create_app`` builds everything; nothing (engine, keys, app) is built at import time, so
``gunicorn 'lti_app:create_app()'`` and the tests each get their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Flask is imported inside create_app so the pure packages (matching, domain) stay pure.
    from flask import Flask

    from config.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    from flask import Flask

    from config.settings import Settings
    from lti_app import extensions
    from lti_app.views import register_views
    from lti_app.web import launch_session, observability, security, templating

    settings = settings or Settings.from_env()
    settings.validate()
    observability.configure_logging(settings.log_level)

    app = Flask(__name__, instance_path=str(settings.instance_dir), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        TESTING=settings.env == "test",
        # CSRF tokens live as long as the launch token that carries their secret.
        WTF_CSRF_TIME_LIMIT=settings.launch_token_ttl_seconds,
        WTF_CSRF_SSL_STRICT=False,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PREFERRED_URL_SCHEME="https" if settings.base_url.startswith("https://") else "http",
        TANDEM_RERAISE=settings.env == "test",
        API_TITLE="Tandem API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "Mentoring programmes inside the LMS. Authenticate with the launch token "
                     "as a Bearer token."},
            "components": {"securitySchemes": {"launchToken": {"type": "http", "scheme": "bearer"}}},
            "security": [{"launchToken": []}],
        },
    )
    app.extensions["tandem.settings"] = settings
    app.extensions["tandem.launch_tokens"] = launch_session.LaunchTokens(
        settings.secret_key, settings.launch_token_ttl_seconds, settings.launch_token_max_age_seconds
    )
    app.session_interface = launch_session.LaunchSessionInterface()

    import lti_app.models  # noqa: F401 - every table registered on the metadata

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(_migrations_dir()), render_as_batch=True)
    extensions.csrf.init_app(app)
    extensions.api.init_app(app)
    if settings.is_sqlite:
        _enable_sqlite_pragmas(app)

    observability.init_request_ids(app)
    security.init_security_headers(app)
    templating.init_templating(app)
    register_views(app)
    if settings.demo_allowed:
        # The demo LMS signs launches for anyone who opens /demo: outside production only.
        from lti_app.demo_lms.views import init_app as init_demo_lms

        init_demo_lms(app)
    return app


def _engine_options(settings: Settings) -> dict[str, object]:
    if settings.is_sqlite:
        # Threads share the file; a busy timeout instead of "database is locked" under concurrent requests.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}


def _enable_sqlite_pragmas(app: Flask) -> None:
    from sqlalchemy import event

    from lti_app.extensions import db

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()


def _migrations_dir():  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
