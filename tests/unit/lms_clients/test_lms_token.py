"""Client credentials tokens: the signed assertion as the platform verifies it, caching and failures."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lms_clients import (
    LMSHttp,
    LMSRequestError,
    ServiceRegistration,
    SigningKey,
    TokenCache,
    TokenClient,
    scopes,
)
from lms_clients.token import usable_lifetime

SCORE = [scopes.AGS_SCORE]


def test_moodle_token_answer_labelled_text_html_is_accepted(
    lms_server: HTTPServer,
    capture: Callable[[str], Any],
    token_client: TokenClient,
    make_token_endpoint: Callable[..., Any],
) -> None:
    exchange = capture("svc_01_token.json")
    assert exchange.raw["response"]["headers"]["Content-Type"].startswith("text/html")
    verifier = make_token_endpoint()

    def moodle(request: Request) -> Response:
        checked = verifier.handle(request)  # verifies the assertion like Moodle does
        return checked if checked.status_code != 200 else exchange.response()

    lms_server.expect_request(exchange.path, method="POST").respond_with_handler(moodle)
    requested = exchange.request["body"]["scope"].split()

    token = token_client.get_token(requested)

    assert token == exchange.raw["response"]["json"]["access_token"]
    assert verifier.refusals == []
    assert verifier.scopes == [exchange.request["body"]["scope"]]  # same scopes, same (sorted) order


def test_client_assertion_is_verified_by_the_platform(
    token_endpoint: Any, token_client: TokenClient, registration: ServiceRegistration, signing_key: SigningKey
) -> None:
    token_client.get_token(SCORE)

    assert token_endpoint.refusals == []
    [header] = token_endpoint.headers
    [claims] = token_endpoint.claims
    assert header["kid"] == signing_key.kid and header["alg"] == "RS256"
    assert claims["iss"] == claims["sub"] == registration.client_id
    assert claims["aud"] == registration.token_url
    assert claims["exp"] == claims["iat"] + 300
    assert token_endpoint.scopes == [scopes.AGS_SCORE]


def test_explicit_audience_is_used_in_the_assertion(
    lms_server: HTTPServer,
    registration: ServiceRegistration,
    make_token_endpoint: Callable[..., Any],
    signing_key: SigningKey,
    http: LMSHttp,
) -> None:
    audience = "https://platform.example/oauth2/token"
    endpoint = make_token_endpoint(audience)
    lms_server.expect_request("/mod/lti/token.php", method="POST").respond_with_handler(endpoint.handle)
    reg = ServiceRegistration(registration.issuer, registration.client_id, registration.token_url, audience)

    TokenClient(reg, lambda: signing_key, http, cache=TokenCache()).get_token(SCORE)

    assert endpoint.refusals == []
    assert endpoint.claims[0]["aud"] == audience


def test_each_assertion_has_a_fresh_jti(
    token_client: TokenClient, rsa_private_key: rsa.RSAPrivateKey
) -> None:
    public = rsa_private_key.public_key()
    assertions = [token_client.client_assertion() for _ in range(3)]
    decoded = [jwt.decode(a, public, algorithms=["RS256"], options={"verify_aud": False}) for a in assertions]
    assert len({d["jti"] for d in decoded}) == 3


def test_token_is_cached_per_scope_set(token_endpoint: Any, token_client: TokenClient) -> None:
    first = token_client.get_token([scopes.AGS_SCORE, scopes.AGS_LINEITEM])
    again = token_client.get_token(s for s in (scopes.AGS_LINEITEM, scopes.AGS_SCORE))
    other = token_client.get_token([scopes.NRPS_CONTEXT_MEMBERSHIP_READONLY])

    assert first == again
    assert other != first
    assert len(token_endpoint.issued) == 2


def test_cache_is_shared_between_clients_of_the_same_process(
    token_endpoint: Any,
    registration: ServiceRegistration,
    signing_key: SigningKey,
    http: LMSHttp,
    token_cache: TokenCache,
) -> None:
    one = TokenClient(registration, lambda: signing_key, http, cache=token_cache)
    two = TokenClient(registration, lambda: signing_key, http, cache=token_cache)

    assert one.get_token(SCORE) == two.get_token(SCORE)
    assert len(token_endpoint.issued) == 1


def test_fifty_concurrent_callers_cause_one_token_request(
    token_endpoint: Any, token_client: TokenClient
) -> None:
    token_endpoint.delay_seconds = 0.3
    start = threading.Barrier(50)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            tokens.append(token_client.get_token(SCORE))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert len(tokens) == 50 and len(set(tokens)) == 1
    assert len(token_endpoint.issued) == 1


def test_invalidate_forces_a_new_token_but_spares_a_newer_one(
    token_endpoint: Any, token_client: TokenClient
) -> None:
    first = token_client.get_token(SCORE)
    token_client.invalidate(SCORE)
    second = token_client.get_token(SCORE)
    token_client.invalidate(SCORE, token=first)  # a late 401 for the old token must not drop the new one

    assert second != first
    assert token_client.get_token(SCORE) == second
    assert len(token_endpoint.issued) == 2


def test_token_is_renewed_a_minute_before_it_expires(
    token_endpoint: Any, registration: ServiceRegistration, signing_key: SigningKey, http: LMSHttp
) -> None:
    now = [1000.0]
    client = TokenClient(registration, lambda: signing_key, http, cache=TokenCache(monotonic=lambda: now[0]))

    first = client.get_token(SCORE)
    now[0] += 3600 - 61
    assert client.get_token(SCORE) == first
    now[0] += 2
    assert client.get_token(SCORE) != first
    assert len(token_endpoint.issued) == 2


def test_usable_lifetime_keeps_a_sane_margin() -> None:
    assert usable_lifetime(3600) == 3540
    assert usable_lifetime(120) == 60
    assert usable_lifetime(30) == 15
    assert usable_lifetime(20) == 10
    assert usable_lifetime(5) <= 0  # too short to cache: used once


def test_very_short_tokens_are_not_cached(token_endpoint: Any, token_client: TokenClient) -> None:
    token_endpoint.expires_in = 5
    assert token_client.get_token(SCORE) != token_client.get_token(SCORE)


def test_rotated_key_is_picked_up(
    token_client: TokenClient, registration: ServiceRegistration, http: LMSHttp, signing_key: SigningKey
) -> None:
    new_private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    new_key = SigningKey(
        kid="rotated-2",
        private_key_pem=new_private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )
    current = [signing_key]
    client = TokenClient(registration, lambda: current[0], http, cache=TokenCache())
    assert jwt.get_unverified_header(client.client_assertion())["kid"] == signing_key.kid
    current[0] = new_key
    assertion = client.client_assertion()
    assert jwt.get_unverified_header(assertion)["kid"] == "rotated-2"
    jwt.decode(assertion, new_private.public_key(), algorithms=["RS256"], options={"verify_aud": False})


def test_signing_key_pem_never_shows_in_repr(signing_key: SigningKey) -> None:
    assert "PRIVATE" not in repr(signing_key)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("<html><body>Error</body></html>", "text/html", "not valid JSON"),
        ('["access_token"]', "application/json", "not a JSON object"),
        ('{"token_type": "Bearer", "expires_in": 3600}', "text/html", "access_token"),
        ('{"access_token": "SECRET-1", "expires_in": 3600}', "text/html", "token_type"),
        ('{"access_token": "SECRET-1", "token_type": "Bearer", "expires_in": "soon"}', "text/html",
         "expires_in"),
        ('{"access_token": "SECRET-1", "token_type": "mac", "expires_in": 3600}', "text/html", "'mac'"),
    ],
)
def test_invalid_token_answers_raise_clear_errors(
    lms_server: HTTPServer, token_client: TokenClient, body: str, content_type: str, message: str
) -> None:
    lms_server.expect_request("/mod/lti/token.php").respond_with_data(body, content_type=content_type)

    with pytest.raises(LMSRequestError, match=message) as caught:
        token_client.get_token(SCORE)

    assert caught.value.status == 200
    assert "SECRET-1" not in str(caught.value)
    assert "SECRET-1" not in (caught.value.body or "")


def test_oauth_error_answer_names_the_error_code(lms_server: HTTPServer, token_client: TokenClient) -> None:
    lms_server.expect_request("/mod/lti/token.php").respond_with_json(
        {"error": "invalid_scope", "error_description": "scope not permitted"}, status=400
    )

    with pytest.raises(LMSRequestError) as caught:
        token_client.get_token(SCORE)

    assert caught.value.errorcode == "invalid_scope"
    assert caught.value.status == 400
    assert "invalid_scope" in str(caught.value) and "scope not permitted" in str(caught.value)


def test_expires_in_is_optional(lms_server: HTTPServer, token_client: TokenClient) -> None:
    lms_server.expect_request("/mod/lti/token.php").respond_with_json(
        {"access_token": "abc", "token_type": "bearer"}
    )
    assert token_client.get_token("https://purl.imsglobal.org/spec/lti-ags/scope/score") == "abc"


def test_scopes_are_required(token_client: TokenClient) -> None:
    with pytest.raises(ValueError):
        token_client.get_token([])


def test_rate_limited_token_request_keeps_the_platforms_retry_after(
    lms_server: HTTPServer, token_client: TokenClient
) -> None:
    lms_server.expect_request("/mod/lti/token.php").respond_with_json(
        {"error": "slow_down", "error_description": "too many token requests"},
        status=429,
        headers={"Retry-After": "45"},
    )

    with pytest.raises(LMSRequestError) as caught:
        token_client.get_token(SCORE)

    assert caught.value.errorcode == "slow_down"
    assert caught.value.retry_after == 45.0
