"""Short-lived launch state shared by every worker: OIDC state and nonces, launch data, platform key sets.

Tandem runs several gunicorn workers, and the login, the launch and the pages after it rarely land on the
same one, so nothing here lives only in process memory. Two stores with one interface:

* :class:`DatabaseStore` (the ``cache_entry`` table) when no Redis is configured. Writes go through the
  request's session, so they commit with the request and a refused launch rolls them back.
* :class:`RedisStore` when ``TANDEM_REDIS_URL`` is set: expiry is Redis's own.

``pop`` is the one operation the protocol depends on: it hands a value to exactly one caller, which is how
a nonce is used once and a replayed launch is refused (``DELETE … RETURNING`` on the database, ``GETDEL``
on Redis; both atomic across workers).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

import redis
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from lti_app.errors import TandemError
from lti_app.models.base import UTCDateTime, utcnow
from lti_app.models.cache import CacheEntry

log = logging.getLogger(__name__)

# One login in a hundred also sweeps expired rows, so the table stays small without a cron job.
PURGE_ONE_IN = 100


class StorageUnavailable(TandemError):
    """The shared store (Redis) did not answer: nothing about the launch was wrong, try again shortly."""

    status = 503
    code = "storage_unavailable"


class LaunchStore(Protocol):
    def put(self, key: str, value: Any, ttl: int) -> None: ...

    def get(self, key: str) -> Any | None: ...

    def pop(self, key: str) -> Any | None: ...

    def put_now(self, key: str, value: Any, ttl: int) -> None:
        """Store outside the request's transaction: for caches (platform key sets) that are worth keeping
        even when the request that filled them is refused."""
        ...


class DatabaseStore:
    """``cache_entry`` rows; values are JSON text. ``session`` is called for the current session (the
    Flask-SQLAlchemy scoped session in the app), so one store serves every request."""

    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def put(self, key: str, value: Any, ttl: int) -> None:
        session = self._session()
        session.execute(*_upsert(key, value, ttl))
        if secrets.randbelow(PURGE_ONE_IN) == 0:
            purge_expired(session)

    def put_now(self, key: str, value: Any, ttl: int) -> None:
        bind = self._session().get_bind()
        engine = bind.engine if isinstance(bind, Connection) else bind
        with engine.connect() as conn:
            _put_on_connection(conn, key, value, ttl)
            conn.commit()

    def get(self, key: str) -> Any | None:
        row = (
            self._session()
            .execute(select(CacheEntry.value).where(CacheEntry.key == key, CacheEntry.expires_at > utcnow()))
            .first()
        )
        return json.loads(row[0]) if row else None

    def pop(self, key: str) -> Any | None:
        row = (
            self._session()
            .execute(
                delete(CacheEntry)
                .where(CacheEntry.key == key)
                .returning(CacheEntry.value, CacheEntry.expires_at)
                .execution_options(synchronize_session=False)
            )
            .first()
        )
        if row is None or row[1] <= utcnow():
            return None
        return json.loads(row[0])


# One statement for SQLite (3.24+) and PostgreSQL alike. Written as text because SQLAlchemy cannot cache
# the compiled form of its dialect ON CONFLICT constructs, and this runs several times per launch.
_UPSERT = text(
    "INSERT INTO cache_entry (key, value, expires_at) VALUES (:key, :value, :expires_at) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
).bindparams(bindparam("expires_at", type_=UTCDateTime()))


def _upsert(key: str, value: Any, ttl: int) -> tuple[Any, dict[str, Any]]:
    return _UPSERT, {"key": key, "value": json.dumps(value), "expires_at": utcnow() + timedelta(seconds=ttl)}


def _put_on_connection(conn: Connection, key: str, value: Any, ttl: int) -> None:
    conn.execute(*_upsert(key, value, ttl))


def purge_expired(session: Session) -> int:
    """Delete expired rows; returns how many. Cheap: ``expires_at`` is indexed."""
    result = session.execute(
        delete(CacheEntry)
        .where(CacheEntry.expires_at <= utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


class RedisStore:
    """Keys under ``prefix`` (several Tandem instances, or test runs, can share one Redis)."""

    def __init__(self, client: redis.Redis, prefix: str = "tandem:") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = "tandem:") -> RedisStore:
        # Short timeouts: a launch waits on these calls; a dead Redis must fail fast with a clear page.
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        return cls(client, prefix)

    def put(self, key: str, value: Any, ttl: int) -> None:
        self._call(lambda: self._redis.set(self._prefix + key, json.dumps(value), ex=max(1, ttl)))

    put_now = put

    def get(self, key: str) -> Any | None:
        raw = self._call(lambda: self._redis.get(self._prefix + key))
        return json.loads(raw) if raw is not None else None

    def pop(self, key: str) -> Any | None:
        raw = self._call(lambda: self._redis.getdel(self._prefix + key))
        return json.loads(raw) if raw is not None else None

    def _call(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except redis.RedisError as exc:
            log.error("launch store unavailable: %s", type(exc).__name__)
            raise StorageUnavailable(
                "Tandem cannot reach its session store right now. Please try again in a minute."
            ) from exc


class StoreLaunchData(LaunchDataStorage[Any]):
    """pylti1p3's storage interface over a :class:`LaunchStore`.

    pylti1p3 would otherwise key everything by a ``session-id`` cookie, which is exactly the third-party
    cookie the LMS frame may drop; keys here are random (state, nonce, launch id) and need no session.
    """

    def __init__(self, store: LaunchStore, default_ttl: int) -> None:
        super().__init__()
        self._store = store
        self._default_ttl = default_ttl

    def get_session_cookie_name(self) -> str | None:
        return None

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> Any:
        return self._store.get(self._prepare_key(key))

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        self._store.put(self._prepare_key(key), value, exp or self._default_ttl)

    def check_value(self, key: str) -> bool:
        return self._store.get(self._prepare_key(key)) is not None

    def pop_value(self, key: str) -> Any:
        return self._store.pop(self._prepare_key(key))
