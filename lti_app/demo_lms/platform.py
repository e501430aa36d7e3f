"""The platform (LMS) side of an LTI 1.3 launch, free of any web framework.

A platform does four things in a launch (LTI 1.3 Core §4, Security Framework 1.0 §5.1):

1. it starts a *third-party initiated login* by sending the tool's OIDC login URL a handful of parameters
   (:func:`login_initiation`);
2. the tool answers with an OIDC authentication request, which the platform must validate to the letter
   before it says anything about the user (:func:`authorize`);
3. it builds the id_token claims for the message (:func:`build_id_token_claims`) and
4. signs them with one of its keys, naming the key in the JWT header so the tool can pick it from the
   platform's JWKS (:func:`sign_id_token`, :func:`jwks`).

The values these work on (keys, registrations, people, courses, launches, roles) are in :mod:`.model` and
the claim builders in :mod:`.claims`; both are re-exported here.

The demo LMS wires these into Flask views and a database; the test platform serves them over loopback. Both
rely on the messages having the exact shape real LMSs send, so the claim builders follow Moodle 4.5 (the
captured fixtures) and Canvas claim for claim; a tool that passes against them passes against the real thing.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import jwt

from . import vocab
from .claims import build_id_token_claims
from .model import (
    ROLE_SET_NAMES,
    Course,
    DeepLinkingSettings,
    Launch,
    LaunchKind,
    PlatformConfig,
    PlatformError,
    PlatformKey,
    ResourceLink,
    User,
    default_target,
    jwks,
    role_uris,
    short_role_name,
)

__all__ = [
    "ROLE_SET_NAMES",
    "AuthResponse",
    "Course",
    "DeepLinkingSettings",
    "Launch",
    "LaunchKind",
    "LoginInitiation",
    "PlatformConfig",
    "PlatformError",
    "PlatformKey",
    "ResourceLink",
    "User",
    "authorize",
    "auto_submit_form",
    "build_id_token_claims",
    "jwks",
    "login_initiation",
    "role_uris",
    "short_role_name",
    "sign_id_token",
]


@dataclass(frozen=True)
class LoginInitiation:
    """The third-party initiated login the platform sends to the tool (Security Framework §5.1.1.1).

    Moodle and Canvas both send it as an auto-submitted POST form; GET with a query string is allowed and
    some platforms use it, so a tool must take both.
    """

    url: str
    params: dict[str, str]
    method: Literal["GET", "POST"] = "POST"

    def get_url(self) -> str:
        """The login URL with the parameters in the query string (the GET variant)."""
        return self.url + ("&" if "?" in self.url else "?") + urlencode(self.params)

    def html(self) -> str:
        """An auto-submitting page that delivers the login from a browser, the way an LMS does."""
        if self.method == "GET":
            target = html.escape(self.get_url(), quote=True)
            return (
                '<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0; url='
                f'{target}"></head><body><a href="{target}">Continue</a></body></html>'
            )
        return auto_submit_form(self.url, self.params)


def login_initiation(
    config: PlatformConfig, user: User, launch: Launch, *, method: Literal["GET", "POST"] = "POST"
) -> LoginInitiation:
    """Build the login initiation for ``user`` launching ``launch``.

    ``login_hint`` is the user id and ``lti_message_hint`` names the launch: both come back in the tool's
    authentication request and are all the platform needs to rebuild the message there.
    """
    target = launch.target_link_uri or default_target(config, launch)
    hint = launch.message_hint
    if config.product_family == vocab.PRODUCT_CANVAS:
        # Canvas's order, with its own region/environment hints.
        params = {
            "iss": config.issuer,
            "login_hint": user.id,
            "client_id": config.client_id,
            "lti_deployment_id": config.deployment_id,
            "target_link_uri": target,
        }
        if hint:
            params["lti_message_hint"] = hint
        params.update({"canvas_environment": "prod", "canvas_region": "not_configured"})
    else:
        # Moodle's order (launch_student.json: login_initiation).
        params = {"iss": config.issuer, "target_link_uri": target, "login_hint": user.id}
        if hint:
            params["lti_message_hint"] = hint
        params.update({"client_id": config.client_id, "lti_deployment_id": config.deployment_id})
    if config.lti_storage_target:
        # LTI Client Side postMessages: the platform offers its storage frame to keep state without cookies.
        params["lti_storage_target"] = config.lti_storage_target
    return LoginInitiation(url=config.tool_login_url, params=params, method=method)


# ------------------------------------------------------------------------------------------- authorize


@dataclass(frozen=True)
class AuthResponse:
    """What the platform posts back to the tool's redirect_uri (OIDC Core §3.2.2.5, form_post mode)."""

    redirect_uri: str
    fields: dict[str, str]
    claims: dict[str, Any]

    @property
    def id_token(self) -> str:
        return self.fields["id_token"]

    @property
    def state(self) -> str:
        return self.fields.get("state", "")

    def html(self) -> str:
        """The auto-submitting form a browser receives from the authorization endpoint."""
        return auto_submit_form(self.redirect_uri, self.fields)


def authorize(
    config: PlatformConfig,
    auth_request_params: Mapping[str, str],
    user: User,
    launch: Launch,
    key: PlatformKey,
    *,
    now: int | None = None,
) -> AuthResponse:
    """Validate the tool's OIDC authentication request and answer it with a signed id_token.

    Security Framework §5.1.1.2 fixes every parameter: ``scope=openid``, ``response_type=id_token``,
    ``response_mode=form_post``, ``prompt=none``, the registered ``client_id`` and an exactly registered
    ``redirect_uri``; ``login_hint`` (and ``lti_message_hint``) must be the ones the platform sent, and
    ``nonce`` and ``state`` must be present. Anything else raises :class:`PlatformError`.
    """
    params = {name: str(value) for name, value in auth_request_params.items()}
    client_id = params.get("client_id", "")
    if client_id != config.client_id:
        raise PlatformError("unauthorized_client", f"unknown client_id {client_id!r}")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in config.allowed_redirect_uris:
        raise PlatformError(
            "invalid_request", f"redirect_uri {redirect_uri!r} is not registered for this tool"
        )

    def refuse(error: str, description: str) -> PlatformError:
        return PlatformError(error, description, redirectable=True)

    if params.get("scope", "").split() != ["openid"]:
        raise refuse("invalid_scope", "scope must be openid")
    if params.get("response_type") != "id_token":
        raise refuse("unsupported_response_type", "response_type must be id_token")
    if params.get("response_mode") != "form_post":
        raise refuse("invalid_request", "response_mode must be form_post")
    if params.get("prompt") != "none":
        raise refuse("invalid_request", "prompt must be none")
    if params.get("login_hint") != user.id:
        raise refuse("login_required", "login_hint does not identify the signed-in user")
    if launch.message_hint and params.get("lti_message_hint") != launch.message_hint:
        raise refuse("invalid_request", "lti_message_hint does not match the launch")
    nonce = params.get("nonce", "")
    if not nonce:
        raise refuse("invalid_request", "nonce is required")
    state = params.get("state", "")
    if not state:
        raise refuse("invalid_request", "state is required")

    claims = build_id_token_claims(config, user, launch, nonce=nonce, now=now)
    fields = {"id_token": sign_id_token(claims, key), "state": state}
    if params.get("lti_storage_target"):
        # LTI Client Side postMessages §4: echo the storage target so the tool looks for its state there.
        fields["lti_storage_target"] = params["lti_storage_target"]
    return AuthResponse(redirect_uri=redirect_uri, fields=fields, claims=claims)


def sign_id_token(claims: Mapping[str, Any], key: PlatformKey) -> str:
    """RS256 with the key's kid in the header, the only combination LTI allows (Security Framework §5.1.3)."""
    return jwt.encode(
        dict(claims), key.private_pem, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"}
    )


def auto_submit_form(action: str, fields: Mapping[str, str]) -> str:
    """An HTML page that POSTs ``fields`` to ``action`` on load, with a button for script-less browsers."""
    escape = html.escape
    inputs = "".join(
        f'<input type="hidden" name="{escape(name, quote=True)}" value="{escape(value, quote=True)}">'
        for name, value in fields.items()
    )
    return (
        "<!DOCTYPE html><html><head><title>Launching…</title></head>"
        '<body onload="document.forms[0].submit()">'
        f'<form method="post" action="{html.escape(action, quote=True)}">{inputs}'
        '<noscript><button type="submit">Continue</button></noscript></form></body></html>'
    )
