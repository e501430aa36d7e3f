"""One HTTP wrapper for every outbound call to an LMS.

Platforms are slow, rate-limit tools and restart behind load balancers; the completion sync must survive
that without hammering them. So every call goes through :class:`LMSHttp`, which owns:

* a pooled ``requests.Session`` (one per platform registration, shared by worker threads);
* connect and read timeouts, always set;
* retries with exponential backoff and full jitter on 429, 502, 503, 504 and transport errors, honouring
  ``Retry-After`` (RFC 9110 section 10.2.3); never on other statuses, which retrying cannot fix;
* one exception type, :class:`~lms_clients.errors.LMSRequestError`, for every failure;
* logs that name the method, host, path, status, attempt and duration, and nothing secret.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import logging
import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from .errors import LMSRequestError
from .schemas import response_error

logger = logging.getLogger(__name__)

DEFAULT_EXPECTED: tuple[int, ...] = (200, 201, 202, 204)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
USER_AGENT = "Tandem/0.1 (LTI 1.3 tool)"

Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header (delay-seconds or HTTP-date), or ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 section 5.6.7: HTTP-dates are always GMT
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def retry_after_of(response: requests.Response) -> float | None:
    """The wait a 429 or 503 answer asks for; other statuses' ``Retry-After`` is no request to slow down."""
    if response.status_code not in (429, 503):
        return None
    return parse_retry_after(response.headers.get("Retry-After"))


def _host_path(url: str) -> str:
    """``host[:port]/path`` for logs: no scheme noise, no query values (they may carry user ids)."""
    parts = urlsplit(url)
    return f"{parts.netloc.rpartition('@')[2]}{parts.path}"


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the platform, so any method may be retried."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


class LMSHttp:
    """Pooled, retrying HTTP client for one platform (one per registration, shared across threads).

    ``sleep`` and ``jitter`` are injectable so tests never wait on real backoff. ``jitter(ceiling)`` returns
    the delay before the next attempt, uniformly in ``[0, ceiling]`` by default ("full jitter").
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 120.0,
        pool_maxsize: int = 32,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float], float] | None = None,
        session: requests.Session | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._sleep = sleep
        self._jitter = jitter or (lambda ceiling: random.uniform(0.0, ceiling))
        self.session = session or requests.Session()
        # Retries are ours (with Retry-After and logging); urllib3 must not retry behind our back.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers["User-Agent"] = user_agent

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> LMSHttp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def backoff_delay(self, attempt: int, response: requests.Response | None = None) -> float:
        """Delay before attempt ``attempt + 1``: the platform's ``Retry-After`` if any, else full jitter."""
        if response is not None and response.status_code in (429, 503):
            retry_after = retry_after_of(response)
            if retry_after is not None:
                return min(retry_after, self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return self._jitter(ceiling)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Params = None,
        json: Any = None,
        data: Any = None,
        accept: str | None = None,
        content_type: str | None = None,
        expected: Collection[int] = DEFAULT_EXPECTED,
        idempotent: bool | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> requests.Response:
        """Send one logical request, retrying transient failures; return the response if its status is
        in ``expected``, else raise :class:`LMSRequestError`.

        ``json`` is serialised here so a vendor media type (``content_type``) can be set exactly, as AGS
        requires for scores and line items. ``idempotent`` defaults from the method: a POST whose answer
        was lost (read timeout, 502, 504) is only retried when the caller says a replay is harmless, so a
        line item is never created twice.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        send_headers: dict[str, str] = dict(headers or {})
        if accept:
            send_headers["Accept"] = accept
        body = data
        if json is not None:
            body = jsonlib.dumps(json, allow_nan=False).encode("utf-8")
            send_headers.setdefault("Content-Type", content_type or "application/json")
        elif content_type:
            send_headers["Content-Type"] = content_type
        where = _host_path(url)

        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=send_headers,
                    params=params,
                    data=body,
                    timeout=timeout or self.timeout,
                    allow_redirects=method in ("GET", "HEAD"),
                )
            except requests.RequestException as exc:
                elapsed_ms = (time.monotonic() - started) * 1000
                timed_out = isinstance(exc, requests.Timeout)
                retryable = isinstance(exc, requests.ConnectionError | requests.Timeout) and (
                    idempotent or _never_sent(exc)
                )
                logger.warning(
                    "LMS %s %s failed: %s (attempt %d/%d, %.0f ms)",
                    method, where, type(exc).__name__, attempt, self.max_attempts, elapsed_ms,
                )
                if retryable and attempt < self.max_attempts:
                    self._sleep(self.backoff_delay(attempt))
                    continue
                what = "did not answer in time" if timed_out else "could not be reached"
                raise LMSRequestError(
                    f"The LMS {what} ({type(exc).__name__}) after {attempt} attempt(s)",
                    method=method,
                    url=url,
                    timed_out=timed_out,
                ) from exc

            elapsed_ms = (time.monotonic() - started) * 1000
            status = response.status_code
            if status in expected:
                logger.debug(
                    "LMS %s %s -> %d (attempt %d, %.0f ms)", method, where, status, attempt, elapsed_ms
                )
                return response

            retryable = status in RETRY_STATUSES and (idempotent or status in (429, 503))
            logger.warning(
                "LMS %s %s -> %d (attempt %d/%d, %.0f ms)",
                method, where, status, attempt, self.max_attempts, elapsed_ms,
            )
            if retryable and attempt < self.max_attempts:
                delay = self.backoff_delay(attempt, response)
                response.close()
                self._sleep(delay)
                continue
            raise LMSRequestError(
                f"The LMS answered HTTP {status} where {', '.join(map(str, sorted(expected)))} was expected"
                + (f" (gave up after {attempt} attempts)" if attempt > 1 else ""),
                method=method,
                url=url,
                status=status,
                body=response.content,
                retry_after=retry_after_of(response),
            )


def media_type(response: requests.Response) -> str:
    """The response's media type without parameters, lower-cased (``''`` when absent)."""
    return response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


def json_body(
    response: requests.Response,
    *,
    media_types: Collection[str] | None,
    what: str,
) -> Any:
    """Decode a JSON answer, or raise :class:`LMSRequestError` saying what was wrong with it.

    ``media_types`` lists the acceptable media types (``application/json`` is always accepted as well);
    ``None`` accepts any, for platforms known to mislabel JSON (Moodle's token endpoint says text/html).
    """
    if media_types is not None:
        actual = media_type(response)
        allowed = {m.lower() for m in media_types} | {"application/json"}
        if actual not in allowed:
            raise response_error(
                response,
                f"The LMS sent {what} as {actual or 'no content type'!r}, expected one of "
                f"{', '.join(sorted(allowed))}",
            )
    try:
        return jsonlib.loads(response.content)
    except ValueError:
        raise response_error(response, f"The LMS sent {what} that is not valid JSON") from None
