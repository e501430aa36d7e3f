"""The one exception raised for every failed conversation with an LMS.

Callers (the outbox worker, roster sync, views) catch a single type and decide what to do from its
attributes: ``status`` tells a refused request from an unavailable platform, ``timed_out`` tells a slow
platform from a broken one. The exception is meant to be logged and shown to trainers, so it never carries
access tokens, client assertions, Moodle web service tokens or query values that may identify a person.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

BODY_LIMIT = 500

# Query parameters whose values are safe and useful in logs and error messages. Everything else (user ids,
# tokens) is masked: ``?type_id=1&user_id=4`` becomes ``?type_id=1&user_id=***``.
_SAFE_QUERY_KEYS = frozenset(
    {
        "type_id",  # Moodle tool type, see the Moodle services URLs
        "limit",
        "rlid",
        "role",
        "resource_link_id",
        "resource_id",
        "tag",
        "page",
        "per_page",
        "moodlewsrestformat",
        "wsfunction",
    }
)

# Secrets that may show up in a response body: OAuth 2 token answers (RFC 6749 section 5.1), client
# assertions (RFC 7523) and Moodle web service tokens.
_SECRET_PATTERNS = (
    re.compile(r'("(?:access_token|refresh_token|id_token|client_assertion|wstoken|token)"\s*:\s*")[^"]*(")'),
    re.compile(r"((?:access_token|client_assertion|wstoken|token)=)[^&\s\"']*()"),
    re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+()"),
)


def safe_url(url: str | None) -> str | None:
    """Return ``url`` fit for logs: no credentials, no fragment, query values masked unless known safe."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(k, v if k in _SAFE_QUERY_KEYS else "***") for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def redact_secrets(text: str, *secrets: str) -> str:
    """Mask token-looking values and any of the given ``secrets`` in ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***\2", text)
    return text


def trim_body(body: str | bytes | None, *secrets: str) -> str | None:
    """Keep the start of a response body for diagnosis, with secrets masked."""
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    body = redact_secrets(body, *secrets)
    if len(body) > BODY_LIMIT:
        return body[:BODY_LIMIT] + "…"
    return body


class LMSRequestError(Exception):
    """A call to an LMS failed: transport error, unexpected status, or an answer we cannot trust.

    Attributes:
        message: what went wrong, in words a trainer or an administrator can act on.
        method, url: the request (the URL passes through :func:`safe_url`).
        status: the HTTP status of the last answer, ``None`` when no answer came.
        body: the start of the last answer's body, secrets masked.
        timed_out: the platform did not answer in time (connect or read timeout).
        errorcode: a machine-readable code given by the platform (OAuth ``error``, Moodle ``errorcode``).
        retry_after: seconds the platform asked to wait (``Retry-After`` of the last answer, RFC 9110
            section 10.2.3), ``None`` when it did not say. Parsed once, in :mod:`lms_clients.http`, so a
            caller with its own durable retries (the outbox) honours it without reading headers.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        url: str | None = None,
        status: int | None = None,
        body: str | bytes | None = None,
        timed_out: bool = False,
        errorcode: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method.upper() if method else None
        self.url = safe_url(url)
        self.status = status
        self.body = trim_body(body)
        self.timed_out = timed_out
        self.errorcode = errorcode
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [self.message]
        where = " ".join(p for p in (self.method, self.url) if p)
        if where:
            parts.append(f"[{where}]")
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.timed_out:
            parts.append("(timed out)")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, method={self.method!r}, url={self.url!r}, "
            f"status={self.status!r}, timed_out={self.timed_out!r}, errorcode={self.errorcode!r}, "
            f"retry_after={self.retry_after!r})"
        )
