"""What the platform receives *from* the tool, signed with the tool's key: client assertions at the token
endpoint (Security Framework 1.0 §4.1) and Deep Linking responses (Deep Linking 2.0 §4.5).

Both are JWTs the platform must verify against the tool's JWKS, never against anything the JWT itself names,
and both must be refused when replayed. The functions here are shared by the demo LMS and the test platform.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from . import vocab
from .model import PlatformConfig, PlatformError

JwksSource = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
"""A tool's JWKS, or a callable that fetches it (over HTTP, or from a test client that cannot serve HTTP)."""


def fetch_jwks(url: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """GET a JWKS document; any failure becomes an ``invalid_client`` the token endpoint can answer."""
    try:
        response = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise PlatformError(
            "invalid_client", f"cannot fetch the tool's JWKS from {url}: {exc}", status=401
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise PlatformError("invalid_client", f"{url} did not return a JWKS", status=401)
    return document


class ReplayCache:
    """Remembers single-use values (``jti``, nonces) until they expire; thread-safe.

    RFC 7523 §3 lets the server reject a reused ``jti``; Security Framework §5.1.3 requires nonces not be
    reused. Entries are dropped once past their expiry, after which the JWT itself is refused as expired.
    """

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def use(self, value: str, expires_at: float, *, now: float | None = None) -> bool:
        """Record ``value``; False when it was already used and has not expired yet."""
        current = time.time() if now is None else now
        with self._lock:
            for stale in [item for item, until in self._seen.items() if until < current]:
                del self._seen[stale]
            if value in self._seen:
                return False
            self._seen[value] = expires_at
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


@dataclass(frozen=True)
class AccessToken:
    """A bearer token the token endpoint issued, with what it allows and until when."""

    token: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float

    def allows(self, *scopes: str, now: float | None = None) -> bool:
        """True while unexpired and holding at least one of ``scopes``."""
        current = time.time() if now is None else now
        return current < self.expires_at and any(scope in self.scopes for scope in scopes)


class AccessTokenStore:
    """Issued access tokens, looked up by the service endpoints; thread-safe."""

    def __init__(self) -> None:
        self._tokens: dict[str, AccessToken] = {}
        self._lock = threading.Lock()

    def issue(
        self, client_id: str, scopes: Iterable[str], lifetime: int, *, now: float | None = None
    ) -> AccessToken:
        current = time.time() if now is None else now
        token = AccessToken(secrets.token_hex(16), client_id, frozenset(scopes), current + lifetime)
        with self._lock:
            self._tokens[token.token] = token
        return token

    def get(self, token: str) -> AccessToken | None:
        with self._lock:
            return self._tokens.get(token)

    def expire_all(self) -> None:
        """Make every issued token expired, so a tool's next service call gets a 401 and must fetch anew."""
        with self._lock:
            self._tokens = {
                key: AccessToken(t.token, t.client_id, t.scopes, 0.0) for key, t in self._tokens.items()
            }

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)


def peek_client_id(form: Mapping[str, str]) -> str:
    """The ``iss`` of a client assertion, unverified: only to pick the registration to verify it against."""
    assertion = form.get("client_assertion", "")
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.InvalidTokenError as exc:
        raise PlatformError("invalid_request", f"client_assertion is not a JWT: {exc}") from exc
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise PlatformError("invalid_client", "client_assertion has no iss", status=401)
    return issuer


def verify_tool_jwt(
    token: str,
    tool_jwks: JwksSource,
    *,
    audience: str,
    leeway: float = 5.0,
    error: str = "invalid_client",
    status: int = 401,
) -> dict[str, Any]:
    """Verify a JWT the tool signed: RS256 only, key chosen by ``kid`` from the tool's JWKS.

    Refusing every other ``alg`` up front closes ``none`` and the HS256-with-the-public-key confusion
    (Security Framework §5.1.3: RS256 is the algorithm LTI uses). A JWKS with a single key may be used for
    a JWT without a ``kid``.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise PlatformError(error, f"not a JWT: {exc}", status=status) from exc
    if header.get("alg") != "RS256":
        raise PlatformError(error, f"alg {header.get('alg')!r} is not accepted; RS256 only", status=status)
    document = tool_jwks() if callable(tool_jwks) else tool_jwks
    keys = [key for key in document.get("keys", []) if isinstance(key, Mapping)]
    kid = header.get("kid")
    # Without a kid, only a single-key JWKS is unambiguous.
    candidates = [key for key in keys if key.get("kid") == kid] if kid else keys[:1] if len(keys) == 1 else []
    if not candidates:
        raise PlatformError(error, f"no key with kid {kid!r} in the tool's JWKS", status=status)
    try:
        public_key = jwt.PyJWK.from_dict(dict(candidates[0]), algorithm="RS256").key
        return jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            audience=audience,
            options={"require": ["iss", "aud", "exp", "iat"]},
            leeway=leeway,
        )
    except jwt.InvalidTokenError as exc:
        raise PlatformError(error, f"JWT refused: {exc}", status=status) from exc


def issue_access_token(
    config: PlatformConfig,
    form: Mapping[str, str],
    tool_jwks: JwksSource,
    *,
    replay_cache: ReplayCache | None = None,
    token_store: AccessTokenStore | None = None,
    allowed_scopes: Iterable[str] = vocab.SERVICE_SCOPES,
    lifetime: int = 3600,
    leeway: float = 5.0,
) -> dict[str, Any]:
    """The token endpoint: an OAuth 2 client-credentials grant with a JWT client assertion.

    Security Framework §4.1.1 and RFC 7523 §3: ``grant_type=client_credentials``, the jwt-bearer assertion
    type, an assertion signed by the tool's key with ``iss`` = ``sub`` = client id, ``aud`` = the token
    URL, unexpired, with a ``jti`` never seen before. Granted scopes are the requested ones the platform
    offers. Returns the RFC 6749 §5.1 body (svc_01_token.json).
    """
    if form.get("grant_type") != "client_credentials":
        raise PlatformError("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != vocab.CLIENT_ASSERTION_TYPE:
        raise PlatformError("invalid_request", f"client_assertion_type must be {vocab.CLIENT_ASSERTION_TYPE}")
    assertion = form.get("client_assertion", "")
    if not assertion:
        raise PlatformError("invalid_request", "client_assertion is required")
    claims = verify_tool_jwt(assertion, tool_jwks, audience=config.token_url, leeway=leeway)
    if claims.get("iss") != config.client_id or claims.get("sub") != config.client_id:
        raise PlatformError(
            "invalid_client", "client assertion iss and sub must both be the client id", status=401
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise PlatformError("invalid_client", "client assertion needs a jti", status=401)
    if replay_cache is not None and not replay_cache.use(
        f"{config.client_id}:{jti}", float(claims["exp"]) + leeway
    ):
        raise PlatformError("invalid_client", "client assertion jti was already used", status=401)
    offered = list(allowed_scopes)
    requested = form.get("scope", "").split()
    granted = [scope for scope in requested if scope in offered]
    if not granted:
        raise PlatformError("invalid_scope", f"none of the requested scopes is available: {requested}")
    token_store = token_store if token_store is not None else AccessTokenStore()
    token = token_store.issue(config.client_id, granted, lifetime)
    return {
        "access_token": token.token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": " ".join(granted),
    }


_UNSET: Any = object()


def decode_deep_linking_response(
    token: str,
    tool_jwks: JwksSource,
    config: PlatformConfig,
    expected_nonce: str | None = None,
    *,
    expected_data: str | None = _UNSET,
    replay_cache: ReplayCache | None = None,
    leeway: float = 5.0,
) -> dict[str, Any]:
    """Verify a Deep Linking response JWT and return all its claims.

    Deep Linking 2.0 §4.5 and Security Framework §5.2: signed by the tool (RS256, kid from the tool's
    JWKS), ``iss`` = client id, ``aud`` = the platform issuer, unexpired, a nonce (single use when a replay
    cache is given), ``LtiDeepLinkingResponse`` 1.3.0 for this deployment, and ``data`` echoed unchanged
    when the request carried one.
    """
    claims = verify_tool_jwt(
        token, tool_jwks, audience=config.issuer, leeway=leeway, error="invalid_request", status=400
    )
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != config.issuer:
        raise PlatformError("invalid_request", "aud lists several parties but azp is not this platform")
    checks = [
        (claims.get("iss") == config.client_id, "iss must be the tool's client id"),
        (
            claims.get(vocab.CLAIM_MESSAGE_TYPE) == vocab.MSG_DEEP_LINKING_RESPONSE,
            f"message_type must be {vocab.MSG_DEEP_LINKING_RESPONSE}",
        ),
        (claims.get(vocab.CLAIM_VERSION) == vocab.LTI_VERSION, f"version must be {vocab.LTI_VERSION}"),
        (claims.get(vocab.CLAIM_DEPLOYMENT_ID) == config.deployment_id, "deployment_id does not match"),
        (bool(claims.get("nonce")), "nonce is required"),
    ]
    for ok, problem in checks:
        if not ok:
            raise PlatformError("invalid_request", problem)
    if expected_nonce is not None and claims.get("nonce") != expected_nonce:
        raise PlatformError("invalid_request", "nonce does not match")
    if expected_data is not _UNSET and claims.get(vocab.CLAIM_DL_DATA) != expected_data:
        raise PlatformError("invalid_request", "data was not echoed unchanged (Deep Linking 2.0 §4.5.3)")
    if replay_cache is not None and not replay_cache.use(
        f"dl:{claims['nonce']}", float(claims["exp"]) + leeway
    ):
        raise PlatformError("invalid_request", "deep linking response replayed")
    items = claims.get(vocab.CLAIM_DL_CONTENT_ITEMS, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) and item.get("type") for item in items):
        raise PlatformError("invalid_request", "content_items must be a list of objects with a type")
    return claims


def verify_deep_linking_response(
    token: str,
    tool_jwks: JwksSource,
    config: PlatformConfig,
    expected_nonce: str | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """Verify a Deep Linking response (see :func:`decode_deep_linking_response`) and return its items."""
    claims = decode_deep_linking_response(token, tool_jwks, config, expected_nonce, **options)
    return list(claims.get(vocab.CLAIM_DL_CONTENT_ITEMS, []))
