"""Launches a tool must refuse, for a parametrised test matrix.

Each case starts from a genuine launch (real login, real state cookie, real nonce) and spoils exactly one
thing, re-signing with the platform's own key wherever the signature is not the point, so a tool that
accepts the launch is missing precisely that check (Security Framework 1.0 §5.1.3, LTI 1.3 Core §5.3)::

    @pytest.mark.parametrize("case", BAD_LAUNCH_CASES)
    def test_refuses(client, lti_platform, case):
        response = bad_launch(client, lti_platform, sam, course, case)
        assert response.status_code in (400, 401, 403, 413, 422)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import jwt
import requests

from lti_app.demo_lms import vocab
from lti_app.demo_lms.platform import AuthResponse, PlatformKey, sign_id_token

from .drive import LaunchFlow, LaunchName
from .server import TestPlatform

MISSING_CLAIM_CASES: dict[str, str] = {
    "missing_iss": "iss",
    "missing_aud": "aud",
    "missing_exp": "exp",
    "missing_iat": "iat",
    "missing_nonce": "nonce",
    "missing_deployment_id": vocab.CLAIM_DEPLOYMENT_ID,
    "missing_message_type": vocab.CLAIM_MESSAGE_TYPE,
    "missing_version": vocab.CLAIM_VERSION,
    "missing_roles": vocab.CLAIM_ROLES,
    "missing_resource_link": vocab.CLAIM_RESOURCE_LINK,
}
"""Required claims (OIDC Core §2, LTI 1.3 Core §5.3), each a case of its own. ``sub`` is absent on purpose:
LTI Core §5.3.6 allows anonymous launches."""

BAD_LAUNCH_CASES: tuple[str, ...] = (
    "tampered_signature",
    "unknown_kid",
    "alg_none",
    "hs256_public_key",
    "expired",
    "future_iat",
    "wrong_aud",
    "wrong_iss",
    "wrong_nonce",
    "replayed",
    "missing_state",
    "wrong_state",
    "unknown_deployment",
    *MISSING_CLAIM_CASES,
    "wrong_message_type",
    "wrong_version",
    "malformed_token",
    "oversized_body",
)

OVERSIZED_BYTES = 3 * 1024 * 1024


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unverified_claims(id_token: str) -> dict[str, Any]:
    """The claims of a JWT without checking anything (to copy and spoil them)."""
    return dict(jwt.decode(id_token, options={"verify_signature": False}))


def forge_token(claims: dict[str, Any], *, header: dict[str, Any], secret: bytes | None = None) -> str:
    """A JWT with any header: HS256 over ``secret`` when given, else with an empty signature (alg none)."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = b""
    if secret is not None:
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def _tamper(token: str) -> str:
    head, body, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{body}.{b64url(bytes(raw))}"


def bad_launch_posts(
    case: str, auth: AuthResponse, platform: TestPlatform, *, claim: str | None = None
) -> list[dict[str, str]]:
    """The form posts (in order) that make up ``case``, built from the genuine answer ``auth``.

    ``case="missing_claim"`` with ``claim=`` removes any claim by name.
    """
    fields = dict(auth.fields)
    claims = unverified_claims(auth.id_token)
    key = platform.signing_key
    now = int(time.time())

    def resigned(change: Callable[[dict[str, Any]], None]) -> list[dict[str, str]]:
        spoiled = dict(claims)
        change(spoiled)
        return [{**fields, "id_token": sign_id_token(spoiled, key)}]

    if case in MISSING_CLAIM_CASES or case == "missing_claim":
        name = MISSING_CLAIM_CASES.get(case) or claim
        if not name:
            raise ValueError("missing_claim needs claim=")
        return resigned(lambda c: c.pop(name, None))
    simple: dict[str, Callable[[dict[str, Any]], None]] = {
        "expired": lambda c: c.update(iat=now - 900, exp=now - 600),
        "future_iat": lambda c: c.update(iat=now + 3600, exp=now + 3660),
        "wrong_aud": lambda c: c.update(
            aud=["not-this-tool"] if isinstance(c.get("aud"), list) else "not-this-tool",
            **({"azp": "not-this-tool"} if "azp" in c else {}),
        ),
        "wrong_iss": lambda c: c.update(iss="https://lms.invalid"),
        "wrong_nonce": lambda c: c.update(nonce=secrets.token_hex(16)),
        "unknown_deployment": lambda c: c.update({vocab.CLAIM_DEPLOYMENT_ID: "unknown-deployment"}),
        "wrong_message_type": lambda c: c.update({vocab.CLAIM_MESSAGE_TYPE: "LtiUnknownRequest"}),
        "wrong_version": lambda c: c.update({vocab.CLAIM_VERSION: "1.1.0"}),
        "oversized_body": lambda c: c.update(
            {vocab.CLAIM_CUSTOM: {**c.get(vocab.CLAIM_CUSTOM, {}), "padding": "x" * OVERSIZED_BYTES}}
        ),
    }
    if case in simple:
        return resigned(simple[case])
    if case == "tampered_signature":
        return [{**fields, "id_token": _tamper(auth.id_token)}]
    if case == "unknown_kid":
        stranger = PlatformKey.generate(kid="unknown-" + secrets.token_hex(4))
        return [{**fields, "id_token": sign_id_token(claims, stranger)}]
    if case == "alg_none":
        return [
            {**fields, "id_token": forge_token(claims, header={"alg": "none", "typ": "JWT", "kid": key.kid})}
        ]
    if case == "hs256_public_key":
        # The classic key confusion: HMAC keyed with the platform's *public* key, which anyone can fetch.
        header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
        return [{**fields, "id_token": forge_token(claims, header=header, secret=key.public_pem.encode())}]
    if case == "replayed":
        return [fields, dict(fields)]
    if case == "missing_state":
        return [{k: v for k, v in fields.items() if k != "state"}]
    if case == "wrong_state":
        return [{**fields, "state": "state-" + secrets.token_hex(16)}]
    if case == "malformed_token":
        return [{**fields, "id_token": "this-is-not-a-jwt"}]
    raise ValueError(f"unknown bad launch case {case!r}; see BAD_LAUNCH_CASES")


def bad_launch(
    tool: Any,
    platform: TestPlatform,
    user: Any,
    course: Any,
    case: str,
    *,
    launch: LaunchName = "resource_link",
    claim: str | None = None,
    session: requests.Session | None = None,
    tool_base_url: str | None = None,
    via_http: bool | None = None,
    all_responses: bool = False,
    **options: Any,
) -> Any:
    """Run a genuine login, then post the spoiled form(s) of ``case``; the tool's response to the last
    post (all of them with ``all_responses=True``: for ``replayed`` the first must succeed)."""
    flow = LaunchFlow(tool, platform, session=session, tool_base_url=tool_base_url, via_http=via_http)
    auth = flow.authorize(flow.login(flow.start(user, course, launch, **options)))
    responses = [
        flow.post(fields, auth.redirect_uri) for fields in bad_launch_posts(case, auth, platform, claim=claim)
    ]
    return responses if all_responses else responses[-1]
