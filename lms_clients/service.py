"""Authenticated calls to LTI Advantage services (AGS, NRPS).

Joins the retrying HTTP layer and the token cache: each call carries ``Authorization: Bearer`` (RFC 6750
section 2.1). A platform may revoke or forget a token before it expires (a purged token store, a changed tool
configuration), so a 401 makes the client drop that token and try once more with a fresh one; a second
401 means the tool really lacks access and is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import requests

from .errors import LMSRequestError
from .http import DEFAULT_EXPECTED, LMSHttp, Params
from .token import TokenClient

logger = logging.getLogger(__name__)


class ServiceClient:
    """Base for the LTI Advantage service clients: one per platform registration, thread-safe."""

    def __init__(
        self, http: LMSHttp, tokens: TokenClient, *, shared_scopes: Iterable[str] | None = None
    ) -> None:
        """``shared_scopes``: when given (e.g. every scope the launch's AGS endpoint claim lists), tokens
        are requested for this set on every call, so one cached token serves all operations instead of
        one token per operation's minimal scope."""
        self.http = http
        self.tokens = tokens
        self.shared_scopes = tuple(shared_scopes) if shared_scopes else None

    def call(
        self,
        method: str,
        url: str,
        scopes: Iterable[str],
        *,
        headers: Mapping[str, str] | None = None,
        params: Params = None,
        json: Any = None,
        data: Any = None,
        accept: str | None = None,
        content_type: str | None = None,
        expected: Collection[int] = DEFAULT_EXPECTED,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send a request with a bearer token for ``scopes``; on 401 refresh the token once and resend."""
        scope_list = self.shared_scopes or tuple(scopes)
        for attempt in (1, 2):
            token = self.tokens.get_token(scope_list)
            send_headers = dict(headers or {})
            send_headers["Authorization"] = f"Bearer {token}"
            try:
                return self.http.request(
                    method,
                    url,
                    headers=send_headers,
                    params=params,
                    json=json,
                    data=data,
                    accept=accept,
                    content_type=content_type,
                    expected=expected,
                    idempotent=idempotent,
                )
            except LMSRequestError as exc:
                if exc.status != 401:
                    raise
                self.tokens.invalidate(scope_list, token)
                if attempt == 2:
                    raise LMSRequestError(
                        "The LMS rejected a freshly issued access token (HTTP 401); check that the tool "
                        "is granted these services",
                        method=exc.method,
                        url=exc.url,
                        status=exc.status,
                        body=exc.body,
                    ) from exc
                logger.info("LMS %s answered 401; retrying once with a new access token", exc.url)
        raise AssertionError("unreachable")  # pragma: no cover
