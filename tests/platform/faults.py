"""Scripted misbehaviour for the test platform, and the counters tests read afterwards.

A real LMS is slow, rate-limits, answers 503 during maintenance, sometimes sends half a body or the wrong
Content-Type, and sometimes is not there at all. Tool code that talks to it (token fetch, AGS sync, NRPS
roster) must survive all of that, so tests queue faults per endpoint and the platform serves them in order,
one per request, before answering normally again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    """One scripted answer. Applied in this order: ``delay``, then ``drop``, then ``status`` (answer with
    that status, ``headers`` and ``body`` instead of the real handler), else the real answer with
    ``content_type`` replaced and/or the body ``truncate``-d.
    """

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | bytes | None = None
    content_type: str | None = None
    delay: float = 0.0
    drop: bool = False
    truncate: bool = False

    @classmethod
    def error(cls, status: int, *, retry_after: float | None = None, body: str | None = None) -> Fault:
        """An error status, e.g. ``Fault.error(503)``; ``retry_after`` adds the header (RFC 9110 §10.2.3)."""
        headers = {"Retry-After": _seconds(retry_after)} if retry_after is not None else {}
        return cls(status=status, headers=headers, body=body)

    @classmethod
    def rate_limited(cls, retry_after: float = 1) -> Fault:
        """429 Too Many Requests with ``Retry-After`` (RFC 6585 §4)."""
        return cls.error(429, retry_after=retry_after)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Answer normally, but only after ``seconds``: provokes client timeouts."""
        return cls(delay=seconds)

    @classmethod
    def malformed_json(cls) -> Fault:
        """The real answer cut in half, as when a proxy drops the end of a body."""
        return cls(truncate=True)

    @classmethod
    def wrong_content_type(cls, content_type: str = "text/html; charset=utf-8") -> Fault:
        """The real answer labelled with another Content-Type (an LMS error page, say)."""
        return cls(content_type=content_type)

    @classmethod
    def dropped(cls) -> Fault:
        """Close the connection without answering (the client sees a connection reset)."""
        return cls(drop=True)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


FaultLike = int | Fault


class FaultInjector:
    """Per-endpoint queues of faults, plus an outage switch; thread-safe.

    ``add("scores", [503, 503, Fault.rate_limited(1)])`` makes the next three score POSTs fail; an ``int``
    is shorthand for ``Fault.error(status)``. ``down()`` makes every (or the named) endpoint answer 503
    until ``up()`` or until the given number of seconds has passed; for a refused connection stop the
    platform instead (``TestPlatform.stop()``/``start()`` keep the port).
    """

    def __init__(self, endpoints: Iterable[str]) -> None:
        self._known = frozenset(endpoints)
        self._queues: dict[str, list[Fault]] = {}
        self._down_until: float | None = None
        self._down_endpoints: frozenset[str] | None = None
        self._down_status = 503
        self._lock = threading.Lock()

    @property
    def endpoints(self) -> frozenset[str]:
        return self._known

    def add(self, endpoint: str, faults: FaultLike | Iterable[FaultLike]) -> None:
        """Queue ``faults`` (served first-in first-out) for ``endpoint``."""
        self._check(endpoint)
        items = [faults] if isinstance(faults, int | Fault) else list(faults)
        queued = [Fault.error(item) if isinstance(item, int) else item for item in items]
        with self._lock:
            self._queues.setdefault(endpoint, []).extend(queued)

    def pending(self, endpoint: str | None = None) -> int:
        """How many queued faults have not been served yet."""
        with self._lock:
            if endpoint is None:
                return sum(len(queue) for queue in self._queues.values())
            return len(self._queues.get(endpoint, []))

    def clear(self, endpoint: str | None = None) -> None:
        """Forget queued faults (all, or one endpoint's) and end any outage."""
        with self._lock:
            if endpoint is None:
                self._queues.clear()
                self._down_until = None
            else:
                self._queues.pop(endpoint, None)

    def down(self, seconds: float | None = None, *, status: int = 503, endpoints: Iterable[str] = ()) -> None:
        """Answer ``status`` for ``seconds`` (or until :meth:`up`), on all or only the named endpoints."""
        names = frozenset(endpoints)
        for name in names:
            self._check(name)
        with self._lock:
            self._down_until = float("inf") if seconds is None else time.monotonic() + seconds
            self._down_endpoints = names or None
            self._down_status = status

    def up(self) -> None:
        """End an outage started with :meth:`down`."""
        with self._lock:
            self._down_until = None

    def is_down(self, endpoint: str) -> bool:
        with self._lock:
            return self._outage(endpoint)

    def next_for(self, endpoint: str) -> Fault | None:
        """The fault to apply to this request, if any (an outage wins over queued faults)."""
        with self._lock:
            if self._outage(endpoint):
                return Fault.error(self._down_status, retry_after=1)
            queue = self._queues.get(endpoint)
            return queue.pop(0) if queue else None

    def _outage(self, endpoint: str) -> bool:
        if self._down_until is None:
            return False
        if time.monotonic() >= self._down_until:
            self._down_until = None
            return False
        return self._down_endpoints is None or endpoint in self._down_endpoints

    def _check(self, endpoint: str) -> None:
        if endpoint not in self._known:
            raise ValueError(f"unknown endpoint {endpoint!r}; faults apply to {sorted(self._known)}")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the platform served, for assertions."""

    endpoint: str
    method: str
    path: str
    query: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    fault: Fault | None = None


class RequestLog:
    """Thread-safe record of requests, with counts per endpoint (token requests, above all)."""

    def __init__(self, keep_bodies_up_to: int = 65536) -> None:
        self._entries: list[RecordedRequest] = []
        self._counts: Counter[str] = Counter()
        self._limit = keep_bodies_up_to
        self._lock = threading.Lock()

    def record(self, entry: RecordedRequest) -> None:
        if len(entry.body) > self._limit:
            entry = RecordedRequest(
                entry.endpoint,
                entry.method,
                entry.path,
                entry.query,
                entry.status,
                entry.headers,
                entry.body[: self._limit],
                entry.fault,
            )
        with self._lock:
            self._entries.append(entry)
            self._counts[entry.endpoint] += 1

    def count(
        self, endpoint: str | None = None, *, method: str | None = None, status: int | None = None
    ) -> int:
        """Requests served, optionally only for one endpoint, method or status."""
        with self._lock:
            if method is None and status is None:
                return self._counts[endpoint] if endpoint else sum(self._counts.values())
            return sum(
                1
                for e in self._entries
                if (endpoint is None or e.endpoint == endpoint)
                and (method is None or e.method == method)
                and (status is None or e.status == status)
            )

    def counts(self) -> dict[str, int]:
        """Requests served per endpoint."""
        with self._lock:
            return dict(self._counts)

    def entries(self, endpoint: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [e for e in self._entries if endpoint is None or e.endpoint == endpoint]

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()
            self._counts.clear()
