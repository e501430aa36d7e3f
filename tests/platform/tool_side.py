"""The tool's half of the messages, for tests that play a fake tool against the platform: client
assertions for the token endpoint, Deep Linking responses, registration requests.

Written from the specs (Security Framework 1.0 §4.1.1, Deep Linking 2.0 §4.5, Dynamic Registration 1.0
§3.3) with PyJWT only, so they check the platform independently of the tool's own implementation.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jwt

from lti_app.demo_lms import vocab
from lti_app.demo_lms.platform import PlatformConfig, PlatformKey

ToolKey = PlatformKey
"""A tool's RSA key is the same kind of object as a platform's: kid, private PEM, public JWK."""


def make_client_assertion(
    client_id: str,
    token_url: str,
    key: PlatformKey,
    *,
    lifetime: int = 300,
    jti: str | None = None,
    now: int | None = None,
    headers: Mapping[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A client assertion JWT (RFC 7523 §3): ``iss`` = ``sub`` = client id, ``aud`` = the token URL."""
    issued = int(time.time()) if now is None else now
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": issued,
        "exp": issued + lifetime,
        "jti": jti or secrets.token_hex(16),
    }
    body.update(claims)
    return jwt.encode(body, key.private_pem, algorithm="RS256", headers={"kid": key.kid, **(headers or {})})


def token_request_form(
    client_id: str,
    token_url: str,
    key: PlatformKey,
    scopes: Iterable[str] = vocab.SERVICE_SCOPES,
    **assertion_claims: Any,
) -> dict[str, str]:
    """The form a tool POSTs to the token endpoint (svc_01_token.json)."""
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": vocab.CLIENT_ASSERTION_TYPE,
        "client_assertion": make_client_assertion(client_id, token_url, key, **assertion_claims),
        "scope": " ".join(scopes),
    }


def make_deep_linking_response(
    config: PlatformConfig,
    key: PlatformKey,
    content_items: Sequence[Mapping[str, Any]],
    *,
    data: str | None = None,
    nonce: str | None = None,
    lifetime: int = 600,
    **claims: Any,
) -> str:
    """A Deep Linking response JWT (Deep Linking 2.0 §4.5), signed by the tool."""
    issued = int(time.time())
    body: dict[str, Any] = {
        "iss": config.client_id,
        "aud": config.issuer,
        "iat": issued,
        "exp": issued + lifetime,
        "nonce": nonce or secrets.token_hex(16),
        vocab.CLAIM_DEPLOYMENT_ID: config.deployment_id,
        vocab.CLAIM_MESSAGE_TYPE: vocab.MSG_DEEP_LINKING_RESPONSE,
        vocab.CLAIM_VERSION: vocab.LTI_VERSION,
        vocab.CLAIM_DL_CONTENT_ITEMS: [dict(item) for item in content_items],
    }
    if data is not None:
        body[vocab.CLAIM_DL_DATA] = data
    body.update(claims)
    return jwt.encode(body, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


def tool_registration_request(
    tool_base_url: str,
    *,
    client_name: str = "Tandem",
    scopes: Iterable[str] = vocab.SERVICE_SCOPES,
    login_path: str = "/lti/login",
    launch_path: str = "/lti/launch",
    jwks_path: str = "/lti/jwks",
    custom_parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Client metadata as a tool POSTs it to the registration endpoint (dynreg_capture.json)."""
    base = tool_base_url.rstrip("/")
    domain = base.split("://", 1)[-1]
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": base + login_path,
        "redirect_uris": [base + launch_path],
        "client_name": client_name,
        "jwks_uri": base + jwks_path,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(scopes),
        vocab.TOOL_CONFIGURATION: {
            "domain": domain,
            "target_link_uri": base + launch_path,
            "description": "Mentoring programmes inside the LMS",
            "custom_parameters": dict(custom_parameters or {}),
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [
                {"type": vocab.MSG_DEEP_LINKING, "target_link_uri": base + launch_path},
                {"type": vocab.MSG_RESOURCE_LINK},
            ],
        },
    }
