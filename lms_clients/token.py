"""OAuth 2 access tokens for LTI Advantage services.

LTI 1.3 (IMS Security Framework 1.0, section 4.1) has the tool obtain tokens with the client credentials
grant, authenticating with a signed JWT client assertion (RFC 7523 section 2.2, RFC 7521 section 4.2).
Tokens are expensive for the platform to mint and live for an hour, so they are cached per
(issuer, client id, scope set) and shared by every thread of a worker process; concurrent callers wait for
one token request instead of stampeding the token endpoint.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import jwt
from marshmallow import fields, validate

from .errors import LMSRequestError
from .http import LMSHttp, json_body
from .schemas import BaseSchema, load, response_error

logger = logging.getLogger(__name__)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 section 2.2
ASSERTION_LIFETIME = 300
DEFAULT_EXPIRES_IN = 300  # RFC 6749 section 5.1 only RECOMMENDS expires_in; assume a short life without it


@dataclass(frozen=True)
class ServiceRegistration:
    """What the tool knows about a platform to ask it for tokens (plain data, no ORM object)."""

    issuer: str
    client_id: str
    token_url: str
    audience: str | None = None  # the ``aud`` of the client assertion when it is not the token URL


@dataclass(frozen=True)
class SigningKey:
    """The tool's current private key; ``kid`` must match the key published in the tool's JWKS."""

    kid: str
    private_key_pem: str = field(repr=False)


KeyProvider = Callable[[], SigningKey]
CacheKey = tuple[str, str, frozenset[str]]


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    token_type: str
    expires_at: float  # time.monotonic() after which the token must not be used
    granted_scope: str | None = None


def usable_lifetime(expires_in: float) -> float:
    """Seconds a fresh token may be reused: ``expires_in`` minus a safety margin.

    The margin covers clock skew and requests in flight: 60 s for ordinary one-hour tokens, half the
    lifetime for short ones, and never less than 10 s (so a token valid 10 s or less is used once, not
    cached).
    """
    margin = min(60.0, max(10.0, expires_in / 2))
    return expires_in - margin


class TokenCache:
    """Thread-safe token store with one lock per key, so only one thread fetches a given token.

    A process-wide instance (:data:`DEFAULT_TOKEN_CACHE`) is shared by every client built in the process,
    which is what lets a worker reuse tokens across jobs.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._tokens: dict[CacheKey, AccessToken] = {}
        self._key_locks: dict[CacheKey, threading.Lock] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._monotonic()

    def get(self, key: CacheKey) -> AccessToken | None:
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and token.expires_at <= self._monotonic():
                del self._tokens[key]
                return None
            return token

    def put(self, key: CacheKey, token: AccessToken) -> None:
        with self._lock:
            self._tokens[key] = token

    def discard(self, key: CacheKey, value: str | None = None) -> None:
        """Forget the token for ``key``; with ``value``, only if it is still that token (another thread
        may already have replaced a rejected token with a fresh one)."""
        with self._lock:
            token = self._tokens.get(key)
            if token is not None and (value is None or token.value == value):
                del self._tokens[key]

    def key_lock(self, key: CacheKey) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


DEFAULT_TOKEN_CACHE = TokenCache()


class TokenResponseSchema(BaseSchema):
    """RFC 6749 section 5.1 successful token answer."""

    access_token = fields.String(required=True, validate=validate.Length(min=1))
    token_type = fields.String(required=True)
    expires_in = fields.Integer(load_default=DEFAULT_EXPIRES_IN, validate=validate.Range(min=0))
    scope = fields.String(load_default=None, allow_none=True)


def _scope_set(scopes: Iterable[str]) -> frozenset[str]:
    if isinstance(scopes, str):  # a lone scope string would otherwise become a set of characters
        scopes = scopes.split()
    result = frozenset(s for s in scopes if s)
    if not result:
        raise ValueError("at least one scope is required")
    return result


class TokenClient:
    """Gets and caches access tokens for one platform registration.

    ``key_provider`` is called for every new client assertion, so a rotated tool key is picked up without
    rebuilding the client.
    """

    def __init__(
        self,
        registration: ServiceRegistration,
        key_provider: KeyProvider,
        http: LMSHttp,
        *,
        cache: TokenCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registration = registration
        self._key_provider = key_provider
        self._http = http
        self._cache = cache if cache is not None else DEFAULT_TOKEN_CACHE
        self._clock = clock

    def _key(self, scopes: frozenset[str]) -> CacheKey:
        return (self.registration.issuer, self.registration.client_id, scopes)

    def get_token(self, scopes: Iterable[str]) -> str:
        """An access token valid for (at least) ``scopes``, from the cache or freshly requested."""
        key = self._key(_scope_set(scopes))
        cached = self._cache.get(key)
        if cached is not None:
            return cached.value
        with self._cache.key_lock(key):
            cached = self._cache.get(key)  # another thread may have fetched it while we waited
            if cached is not None:
                return cached.value
            token = self._request_token(key[2])
            if token.expires_at > self._cache.now():
                self._cache.put(key, token)
            return token.value

    def invalidate(self, scopes: Iterable[str], token: str | None = None) -> None:
        """Drop the cached token for ``scopes`` (only if it is ``token``, when given), e.g. after a 401."""
        self._cache.discard(self._key(_scope_set(scopes)), token)

    def client_assertion(self) -> str:
        """A fresh RS256 client assertion JWT (RFC 7523 section 3; IMS Security Framework section 4.1)."""
        key = self._key_provider()
        reg = self.registration
        issued_at = int(self._clock())
        claims = {
            "iss": reg.client_id,
            "sub": reg.client_id,
            "aud": reg.audience or reg.token_url,
            "iat": issued_at,
            "exp": issued_at + ASSERTION_LIFETIME,
            "jti": str(uuid.uuid4()),  # RFC 7523 section 3, item 7: lets the platform refuse replays
        }
        try:
            return jwt.encode(claims, key.private_key_pem, algorithm="RS256", headers={"kid": key.kid})
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            # Never include the key material: only say which key could not be used.
            raise ValueError(f"tool signing key {key.kid!r} cannot sign RS256 assertions") from exc

    def _request_token(self, scopes: frozenset[str]) -> AccessToken:
        reg = self.registration
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.client_assertion(),
            "scope": " ".join(sorted(scopes)),
        }
        try:
            # A token request may be replayed safely: the worst outcome is an unused token.
            response = self._http.request(
                "POST", reg.token_url, data=form, accept="application/json", expected=(200,), idempotent=True
            )
        except LMSRequestError as exc:
            explained = _explain_refusal(exc)
            if explained is exc:
                raise
            raise explained from exc
        # Moodle quirk (mod/lti/token.php): the JSON answer is labelled text/html, so the media type is
        # not checked here; the body is validated instead.
        payload = json_body(response, media_types=None, what="the access token answer")
        data = load(TokenResponseSchema(), payload, response, "OAuth 2 token answer")
        if data["token_type"].lower() != "bearer":  # RFC 6750: we only know how to send bearer tokens
            raise response_error(
                response, f"The LMS issued a {data['token_type']!r} token; only Bearer tokens are supported"
            )
        logger.info(
            "LMS access token issued for client %s at %s (scopes: %d, expires in %ss)",
            reg.client_id, reg.issuer, len(scopes), data["expires_in"],
        )
        return AccessToken(
            value=data["access_token"],
            token_type=data["token_type"],
            expires_at=self._cache.now() + usable_lifetime(data["expires_in"]),
            granted_scope=data["scope"],
        )


def _explain_refusal(exc: LMSRequestError) -> LMSRequestError:
    """Turn an OAuth 2 error answer (RFC 6749 section 5.2) into a message naming the ``error`` code."""
    code = description = None
    if exc.status is not None and exc.body:
        try:
            payload = json.loads(exc.body)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            code = payload["error"]
            description = payload.get("error_description")
    if code is None:
        return exc
    message = f"The LMS refused the token request: {code}"
    if isinstance(description, str) and description:
        message += f" ({description[:200]})"
    return LMSRequestError(
        message, method=exc.method, url=exc.url, status=exc.status, body=exc.body, errorcode=code,
        retry_after=exc.retry_after,
    )
