"""Fixtures for the LMS client tests: a real HTTP server on loopback playing the platform.

Nothing here patches ``requests``: the clients talk HTTP to a threaded pytest-httpserver instance, whose
handlers answer like Moodle 4.5 did in the captured fixtures (replayed from the shared folder) and check
what the tool sent (for the token endpoint: the signed client assertion, verified with the public key).
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lms_clients import (
    AssignmentGradesClient,
    LMSHttp,
    NamesRolesClient,
    ServiceRegistration,
    SigningKey,
    TokenCache,
    TokenClient,
)

CLIENT_ID = "at60R5zwy5HUfTm"  # the client id in the Moodle captures
KID = "lab-tool-key-1"
CAPTURE_ORIGIN = "http://127.0.0.1:8080"  # where the captures were taken; rebased onto the test server


def _load_fixture_helper() -> ModuleType:
    """Import tests/fixtures_moodle.py by path: the repository root is not necessarily on sys.path."""
    path = Path(__file__).resolve().parents[2] / "fixtures_moodle.py"
    spec = importlib.util.spec_from_file_location("fixtures_moodle", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fixtures_moodle = _load_fixture_helper()


# --------------------------------------------------------------------------- captured Moodle answers


def rebase(value: Any, base_url: str) -> Any:
    """Point the URLs inside a captured message at the test server."""
    if isinstance(value, str):
        return value.replace(CAPTURE_ORIGIN, base_url)
    if isinstance(value, list):
        return [rebase(v, base_url) for v in value]
    if isinstance(value, dict):
        return {k: rebase(v, base_url) for k, v in value.items()}
    return value


@dataclass
class Capture:
    """One captured request/answer pair, with URLs rebased onto the test server."""

    raw: dict[str, Any]
    base_url: str

    @property
    def request(self) -> dict[str, Any]:
        return rebase(self.raw["request"], self.base_url)

    @property
    def path(self) -> str:
        return self.request["url"][len(self.base_url):].split("?", 1)[0]

    @property
    def query(self) -> str:
        url = self.request["url"]
        return url.split("?", 1)[1] if "?" in url else ""

    @property
    def answer_json(self) -> Any:
        return rebase(self.raw["response"].get("json"), self.base_url)

    def response(self, *, headers: dict[str, str] | None = None) -> Response:
        """The captured answer as the server should send it: status, content type, body."""
        captured = self.raw["response"]
        body = json.dumps(self.answer_json) if "json" in captured else captured.get("text") or ""
        response = Response(body, status=captured["status"])
        response.headers["Content-Type"] = captured["headers"]["Content-Type"]
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response


@pytest.fixture
def capture(base_url: str) -> Callable[[str], Capture]:
    """``capture("svc_02_nrps_memberships.json")`` → the captured exchange (skipped if the folder is
    absent)."""

    def load(name: str) -> Capture:
        return Capture(fixtures_moodle.load_moodle_fixture(name), base_url)

    return load


# --------------------------------------------------------------------------- the platform server


@pytest.fixture(scope="session")
def _platform_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def lms_server(_platform_server: HTTPServer) -> Iterator[HTTPServer]:
    """The platform for one test; assertions raised inside handlers fail the test at teardown."""
    _platform_server.clear()
    yield _platform_server
    try:
        _platform_server.check_assertions()
    finally:
        _platform_server.clear()


@pytest.fixture
def base_url(lms_server: HTTPServer) -> str:
    return lms_server.url_for("/").rstrip("/")


# --------------------------------------------------------------------------- tool side


@pytest.fixture(scope="session")
def rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def signing_key(rsa_private_key: rsa.RSAPrivateKey) -> SigningKey:
    pem = rsa_private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return SigningKey(kid=KID, private_key_pem=pem)


@pytest.fixture
def sleeps() -> list[float]:
    """Delays the client asked to sleep; nothing really waits."""
    return []


@pytest.fixture
def http(sleeps: list[float]) -> Iterator[LMSHttp]:
    # jitter returns its ceiling so the backoff sequence is predictable.
    client = LMSHttp(
        connect_timeout=2.0, read_timeout=5.0, sleep=sleeps.append, jitter=lambda ceiling: ceiling
    )
    yield client
    client.close()


@pytest.fixture
def registration(base_url: str) -> ServiceRegistration:
    return ServiceRegistration(
        issuer=base_url, client_id=CLIENT_ID, token_url=f"{base_url}/mod/lti/token.php"
    )


@pytest.fixture
def token_cache() -> TokenCache:
    return TokenCache()


@pytest.fixture
def token_client(
    registration: ServiceRegistration, signing_key: SigningKey, http: LMSHttp, token_cache: TokenCache
) -> TokenClient:
    return TokenClient(registration, lambda: signing_key, http, cache=token_cache)


@dataclass
class TokenEndpoint:
    """Moodle's ``/mod/lti/token.php``, strict: verifies the client assertion like a platform must
    (RFC 7523 section 3) and answers JSON labelled text/html, as Moodle 4.5 does."""

    audience: str
    public_key: rsa.RSAPublicKey
    expires_in: int = 3600
    delay_seconds: float = 0.0
    issued: list[str] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, Any]] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request) -> Response:
        form = request.form
        try:
            assert form.get("grant_type") == "client_credentials", "grant_type"
            assert (
                form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            ), "client_assertion_type"
            assertion = form.get("client_assertion", "")
            header = jwt.get_unverified_header(assertion)
            assert header.get("alg") == "RS256", "alg"
            assert header.get("kid") == KID, "kid"
            claims = jwt.decode(
                assertion,
                self.public_key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=CLIENT_ID,
                options={"require": ["iss", "sub", "aud", "iat", "exp", "jti"]},
            )
            assert claims["sub"] == CLIENT_ID, "sub"
            assert claims["exp"] - claims["iat"] == 300, "lifetime"
            uuid.UUID(claims["jti"])
            with self._lock:
                assert claims["jti"] not in {c["jti"] for c in self.claims}, "jti replayed"
        except (AssertionError, jwt.PyJWTError, ValueError, KeyError) as exc:
            self.refusals.append(f"{type(exc).__name__}: {exc}")
            return Response(
                json.dumps({"error": "invalid_client", "error_description": f"bad assertion: {exc}"}),
                status=400,
                content_type="application/json",
            )
        if self.delay_seconds:
            time.sleep(self.delay_seconds)  # lets concurrent callers pile up behind the first request
        with self._lock:
            token = f"token-{len(self.issued) + 1}-{uuid.uuid4().hex[:8]}"
            self.issued.append(token)
            self.claims.append(claims)
            self.headers.append(header)
            self.scopes.append(form.get("scope", ""))
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in,
                "scope": form.get("scope", "")}
        return Response(json.dumps(body), status=200, content_type="text/html; charset=utf-8")

    def is_valid(self, authorization: str | None) -> bool:
        with self._lock:
            return bool(authorization) and authorization in {f"Bearer {t}" for t in self.issued}


@pytest.fixture
def make_token_endpoint(
    rsa_private_key: rsa.RSAPrivateKey, registration: ServiceRegistration
) -> Callable[..., TokenEndpoint]:
    """``make_token_endpoint(audience=None)`` → a verifying token endpoint, not yet installed."""

    def make(audience: str | None = None) -> TokenEndpoint:
        return TokenEndpoint(audience or registration.token_url, rsa_private_key.public_key())

    return make


@pytest.fixture
def token_endpoint(
    lms_server: HTTPServer, make_token_endpoint: Callable[..., TokenEndpoint]
) -> TokenEndpoint:
    """The verifying token endpoint, installed at Moodle's ``/mod/lti/token.php``."""
    endpoint = make_token_endpoint()
    lms_server.expect_request("/mod/lti/token.php", method="POST").respond_with_handler(endpoint.handle)
    return endpoint


@pytest.fixture
def received(lms_server: HTTPServer) -> Callable[[str], list[Request]]:
    """``received("/path")`` → the requests the platform got for that path, in order."""

    def find(path: str) -> list[Request]:
        return [request for request, _ in lms_server.log if request.path == path]

    return find


Handler = Callable[[Request], Response]


@pytest.fixture
def guarded(token_endpoint: TokenEndpoint) -> Callable[[Handler], Handler]:
    """Wraps a handler so it answers 401 unless the request bears a token the endpoint issued."""

    def wrap(handler: Handler) -> Handler:
        def check(request: Request) -> Response:
            if not token_endpoint.is_valid(request.headers.get("Authorization")):
                return Response('{"error": "invalid_token"}', status=401, content_type="application/json")
            return handler(request)

        return check

    return wrap


@pytest.fixture
def nrps(http: LMSHttp, token_client: TokenClient) -> NamesRolesClient:
    return NamesRolesClient(http, token_client)


@pytest.fixture
def ags(http: LMSHttp, token_client: TokenClient) -> AssignmentGradesClient:
    return AssignmentGradesClient(http, token_client)
