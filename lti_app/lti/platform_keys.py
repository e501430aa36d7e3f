"""The platform's public keys, from its JWKS URL, cached in the shared store.

A launch names its signing key by ``kid``. Key sets change rarely, so one fetch serves every worker for
``platform_jwks_ttl_seconds``. When a launch names a kid the cached set does not list, the platform has
probably rotated its key (Security Framework §6.3): the set is fetched again, once, and the launch retried
against it. A second fetch within ``min_refresh_seconds`` is not made, so a stream of forged tokens with
made-up kids cannot turn Tandem into a tool for hammering the platform's JWKS endpoint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jwt import PyJWK
from jwt.exceptions import PyJWKError

from lms_clients.errors import LMSRequestError
from lms_clients.http import LMSHttp, json_body
from lti_app.errors import LaunchError
from lti_app.lti.storage import LaunchStore

log = logging.getLogger(__name__)

JWKS_MEDIA_TYPES = ("application/jwk-set+json", "application/json")


@dataclass(frozen=True)
class PlatformKeySet:
    """Where a registration publishes its keys, and the cache entry that holds them."""

    registration_id: int
    url: str

    @property
    def cache_key(self) -> str:
        return f"jwks-{self.registration_id}"


class PlatformKeys:
    def __init__(
        self,
        store: LaunchStore,
        http: LMSHttp,
        *,
        ttl_seconds: int,
        min_refresh_seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._http = http
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._clock = clock

    def key_for(self, key_set: PlatformKeySet, kid: str) -> PyJWK:
        """The RS256 public key named ``kid``, or :class:`LaunchError` saying why there is none."""
        cached = self._store.get(key_set.cache_key)
        if not isinstance(cached, dict) or cached.get("url") != key_set.url:
            cached = self._fetch(key_set)
        found = _find(cached, kid)
        if found is None and self._clock() - float(cached.get("fetched_at", 0)) >= self._min_refresh:
            log.info("unknown kid for registration %s: refreshing its key set", key_set.registration_id)
            cached = self._fetch(key_set)
            found = _find(cached, kid)
        if found is None:
            raise LaunchError(
                f"The LMS signed this launch with key id {kid!r}, which is not in its published key set "
                f"({key_set.url}). If the LMS has just changed its keys, launch again in a minute.",
                code="unknown_key",
            )
        try:
            return PyJWK(found, algorithm="RS256")
        except PyJWKError as exc:
            raise LaunchError(
                f"The LMS key {kid!r} published at {key_set.url} is not a usable RSA key.",
                code="bad_platform_key",
            ) from exc

    def _fetch(self, key_set: PlatformKeySet) -> dict[str, Any]:
        try:
            response = self._http.request("GET", key_set.url, accept="application/json")
            body = json_body(response, media_types=None, what="its key set")
        except LMSRequestError as exc:
            raise LaunchError(
                f"Tandem could not fetch the LMS's public keys from {key_set.url} ({exc}). "
                "Check the key set URL of this registration.",
                code="platform_keys_unavailable",
            ) from exc
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list):
            raise LaunchError(
                f'The LMS\'s key set at {key_set.url} is not a JSON Web Key Set (no "keys" list).',
                code="platform_keys_unavailable",
            )
        entry = {
            "url": key_set.url,
            "keys": [k for k in keys if isinstance(k, dict)],
            "fetched_at": self._clock(),
        }
        self._store.put_now(key_set.cache_key, entry, self._ttl)
        return entry


def _find(entry: dict[str, Any], kid: str) -> dict[str, Any] | None:
    for key in entry.get("keys", ()):
        # A key without "alg" is usable for RS256 when it is an RSA key; one declaring another alg is not.
        if key.get("kid") == kid and key.get("kty") == "RSA" and key.get("alg", "RS256") == "RS256":
            return dict(key)
    return None
