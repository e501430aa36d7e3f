"""LTI Dynamic Registration 1.0, platform side.

The admin pastes the tool's registration URL into the platform; the platform opens it with two query
parameters, ``openid_configuration`` (a URL to :func:`openid_configuration`'s document) and
``registration_token`` (:func:`issue_registration_token`); the tool reads the configuration and POSTs its
client metadata to the registration endpoint with the token as Bearer, and the platform answers with the new
client id and deployment (:func:`register_tool`). Shapes follow Moodle 4.5 (openid-configuration.json,
dynreg_capture.json).
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import jwt

from . import vocab
from .model import PlatformConfig, PlatformError, PlatformKey
from .tool_messages import ReplayCache

# Moodle 4.5's variables list, abridged to the ones a mentoring tool could use.
_VARIABLES = (
    "Context.id",
    "Context.title",
    "Context.label",
    "CourseSection.title",
    "CourseSection.label",
    "ResourceLink.id",
    "ResourceLink.title",
    "ResourceLink.description",
    "User.id",
    "User.username",
    "Person.name.full",
    "Person.name.given",
    "Person.name.family",
    "Person.email.primary",
    "Person.sourcedId",
    "Membership.role",
)


def openid_configuration(
    issuer: str,
    *,
    authorization_endpoint: str,
    token_endpoint: str,
    jwks_uri: str,
    registration_endpoint: str,
    product_family_code: str = vocab.PRODUCT_MOODLE,
    version: str = "4.5.6 (Build: 20250811)",
    scopes_supported: Sequence[str] = (
        vocab.SCOPE_BASIC_OUTCOME,
        vocab.SCOPE_LINEITEM_READONLY,
        vocab.SCOPE_RESULT_READONLY,
        vocab.SCOPE_SCORE,
        vocab.SCOPE_LINEITEM,
        vocab.SCOPE_NRPS,
        vocab.SCOPE_TOOL_SETTING,
        "openid",
    ),
) -> dict[str, Any]:
    """The platform's OpenID configuration (Dynamic Registration 1.0 §3.4), Moodle's keys and order."""
    return {
        "issuer": issuer,
        "token_endpoint": token_endpoint,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "jwks_uri": jwks_uri,
        "authorization_endpoint": authorization_endpoint,
        "registration_endpoint": registration_endpoint,
        "scopes_supported": list(scopes_supported),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
        vocab.PLATFORM_CONFIGURATION: {
            "product_family_code": product_family_code,
            "version": version,
            "messages_supported": [
                {"type": vocab.MSG_RESOURCE_LINK},
                {"type": vocab.MSG_DEEP_LINKING, "placements": ["ContentArea"]},
            ],
            "variables": list(_VARIABLES),
        },
    }


def new_client_id() -> str:
    """A client id shaped like Moodle's (15 letters and digits)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(15))


def issue_registration_token(
    key: PlatformKey, *, client_id: str | None = None, lifetime: int = 3600, now: int | None = None
) -> tuple[str, str]:
    """A registration token and the client id it reserves.

    Moodle signs ``{"sub": <future client id>, "scope": "reg", "iat", "exp"}`` with its platform key
    (dynreg_capture.json), so the endpoint needs no server-side state to know which client id to issue.
    """
    issued = int(time.time()) if now is None else now
    client_id = client_id or new_client_id()
    claims = {"sub": client_id, "scope": "reg", "iat": issued, "exp": issued + lifetime}
    token = jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"})
    return token, client_id


def verify_registration_token(
    bearer: str, keys: Iterable[PlatformKey], *, used: ReplayCache | None = None
) -> dict[str, Any]:
    """Check a registration token: signed by one of our keys, scope ``reg``, unexpired, unused.

    Moodle refuses a token whose client id is already registered (``token_already_used``, 401).
    """
    token = bearer.removeprefix("Bearer ").strip()
    if not token:
        raise PlatformError("invalid_token", "a registration token is required", status=401)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in keys if k.kid == kid), None)
        if key is None:
            raise PlatformError("invalid_token", "registration token signed by an unknown key", status=401)
        claims = jwt.decode(token, key.public_pem, algorithms=["RS256"], options={"require": ["sub", "exp"]})
    except jwt.InvalidTokenError as exc:
        raise PlatformError("invalid_token", f"registration token refused: {exc}", status=401) from exc
    if claims.get("scope") != "reg":
        raise PlatformError("invalid_token", "not a registration token", status=401)
    if used is not None and not used.use(f"reg:{claims['sub']}", float(claims["exp"])):
        raise PlatformError("invalid_token", "token_already_used", status=401)
    return claims


@dataclass(frozen=True)
class ToolRegistration:
    """A tool registered through Dynamic Registration: what the platform stores for it."""

    client_id: str
    deployment_id: str
    client_name: str
    initiate_login_uri: str
    redirect_uris: tuple[str, ...]
    jwks_uri: str
    target_link_uri: str
    domain: str
    scopes: tuple[str, ...]
    description: str = ""
    logo_uri: str = ""
    deep_link_uri: str = ""
    custom_parameters: Mapping[str, str] = field(default_factory=dict)
    claims: tuple[str, ...] = ()
    response: Mapping[str, Any] = field(default_factory=dict)

    def platform_config(self, template: PlatformConfig) -> PlatformConfig:
        """The launch configuration for this tool, taking the platform's own URLs from ``template``."""
        return replace(
            template,
            client_id=self.client_id,
            deployment_id=self.deployment_id,
            tool_login_url=self.initiate_login_uri,
            tool_launch_url=self.target_link_uri,
            tool_deep_link_url=self.deep_link_uri,
            tool_jwks_url=self.jwks_uri,
            redirect_uris=self.redirect_uris,
            tool_name=self.client_name,
            tool_description=self.description,
            custom=dict(self.custom_parameters),
        )


class RegistrationError(PlatformError):
    """Client metadata the platform refuses (RFC 7591 §3.2.2 ``invalid_client_metadata``)."""

    def __init__(self, description: str) -> None:
        super().__init__("invalid_client_metadata", description, status=400)


def register_tool(
    request_json: Mapping[str, Any],
    bearer: str,
    *,
    keys: Iterable[PlatformKey],
    deployment_id: str,
    used_tokens: ReplayCache | None = None,
    scopes_supported: Iterable[str] = vocab.SERVICE_SCOPES,
) -> ToolRegistration:
    """Validate a tool's registration request and build Moodle's answer to it.

    Dynamic Registration 1.0 §3.3 fixes the metadata: ``application_type`` web, ``grant_types`` with
    ``implicit`` and ``client_credentials``, ``response_types`` with ``id_token``, an
    ``initiate_login_uri``, ``redirect_uris``, a ``jwks_uri``, ``token_endpoint_auth_method``
    ``private_key_jwt`` and the LTI tool configuration object with ``domain`` and ``target_link_uri``.
    """
    claims = verify_registration_token(bearer, keys, used=used_tokens)
    metadata = dict(request_json)
    tool_conf = metadata.get(vocab.TOOL_CONFIGURATION)
    _check_metadata(metadata, tool_conf)
    assert isinstance(tool_conf, Mapping)

    scopes = _granted_scopes(str(metadata.get("scope", "")).split(), set(scopes_supported))
    messages = [m for m in tool_conf.get("messages", []) if isinstance(m, Mapping)]
    deep_link = next((m for m in messages if m.get("type") == vocab.MSG_DEEP_LINKING), None)
    asked_claims = set(tool_conf.get("claims", []))
    granted_claims = ["sub", "iss"]
    if asked_claims & {"name", "given_name", "family_name"}:
        granted_claims += ["name", "family_name", "given_name"]
    if "email" in asked_claims:
        granted_claims.append("email")
    custom = {str(k): str(v) for k, v in dict(tool_conf.get("custom_parameters") or {}).items()}

    tool_configuration: dict[str, Any] = {
        "version": vocab.LTI_VERSION,
        "deployment_id": deployment_id,
        "target_link_uri": tool_conf["target_link_uri"],
        "domain": tool_conf["domain"],
        "description": tool_conf.get("description", ""),
    }
    if deep_link is not None:
        # Moodle echoes only the Deep Linking message; resource link launches are implied.
        tool_configuration["messages"] = [dict(deep_link)]
    if custom:
        tool_configuration["custom_parameters"] = custom
    tool_configuration["claims"] = granted_claims
    response: dict[str, Any] = {
        "client_id": claims["sub"],
        "response_types": ["id_token"],
        "jwks_uri": metadata["jwks_uri"],
        "initiate_login_uri": metadata["initiate_login_uri"],
        "grant_types": ["client_credentials", "implicit"],
        "redirect_uris": list(metadata["redirect_uris"]),
        "application_type": "web",
        "token_endpoint_auth_method": "private_key_jwt",
        "client_name": metadata["client_name"],
        "logo_uri": metadata.get("logo_uri", ""),
        "scope": " ".join(scopes),
        vocab.TOOL_CONFIGURATION: tool_configuration,
    }
    return ToolRegistration(
        client_id=claims["sub"],
        deployment_id=deployment_id,
        client_name=metadata["client_name"],
        initiate_login_uri=metadata["initiate_login_uri"],
        redirect_uris=tuple(metadata["redirect_uris"]),
        jwks_uri=metadata["jwks_uri"],
        target_link_uri=tool_conf["target_link_uri"],
        domain=tool_conf["domain"],
        scopes=tuple(scopes),
        description=str(tool_conf.get("description", "")),
        logo_uri=str(metadata.get("logo_uri", "")),
        deep_link_uri=str((deep_link or {}).get("target_link_uri") or ""),
        custom_parameters=custom,
        claims=tuple(granted_claims),
        response=response,
    )


def _check_metadata(metadata: Mapping[str, Any], tool_conf: Any) -> None:
    def need(condition: bool, problem: str) -> None:
        if not condition:
            raise RegistrationError(problem)

    need(metadata.get("application_type") == "web", "application_type must be web")
    grant_types = metadata.get("grant_types") or []
    need(
        {"implicit", "client_credentials"} <= set(grant_types),
        "grant_types must include implicit and client_credentials",
    )
    need("id_token" in (metadata.get("response_types") or []), "response_types must include id_token")
    need(_is_url(metadata.get("initiate_login_uri")), "initiate_login_uri must be a URL")
    redirect_uris = metadata.get("redirect_uris")
    need(
        isinstance(redirect_uris, list) and bool(redirect_uris) and all(_is_url(u) for u in redirect_uris),
        "redirect_uris must be a non-empty list of URLs",
    )
    need(_is_url(metadata.get("jwks_uri")), "jwks_uri must be a URL")
    need(
        metadata.get("token_endpoint_auth_method") == "private_key_jwt",
        "token_endpoint_auth_method must be private_key_jwt",
    )
    need(bool(metadata.get("client_name")), "client_name is required")  # Moodle requires it
    need(isinstance(tool_conf, Mapping), f"{vocab.TOOL_CONFIGURATION} is required")
    assert isinstance(tool_conf, Mapping)
    need(bool(tool_conf.get("domain")), "the tool configuration needs a domain")
    need(_is_url(tool_conf.get("target_link_uri")), "the tool configuration needs a target_link_uri")
    messages = tool_conf.get("messages", [])
    need(isinstance(messages, list), "messages must be a list")


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _granted_scopes(requested: Sequence[str], supported: set[str]) -> list[str]:
    """Moodle's grant: any AGS scope turns on grade sync (score, result, line item read), ``lineitem``
    adds write access; NRPS separately. Order as in Moodle's answer (dynreg_capture.json)."""
    asked = set(requested) & supported
    granted: list[str] = []
    if asked & set(vocab.AGS_SCOPES):
        granted += [vocab.SCOPE_SCORE, vocab.SCOPE_RESULT_READONLY, vocab.SCOPE_LINEITEM_READONLY]
    if vocab.SCOPE_LINEITEM in asked:
        granted.append(vocab.SCOPE_LINEITEM)
    if vocab.SCOPE_NRPS in asked:
        granted.append(vocab.SCOPE_NRPS)
    return [scope for scope in granted if scope in supported]
