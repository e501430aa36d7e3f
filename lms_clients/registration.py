"""The two calls of LTI Dynamic Registration 1.0 that go to the platform.

1. Read the platform's OpenID configuration (§3.3-3.4) from the URL the platform gave the tool.
2. Post the tool's client metadata to the platform's ``registration_endpoint`` (§3.5), with the one-time
   registration token as a bearer token when one was given, and read back the client id and deployment.

Both answers are validated here, so the service layer deals in plain dataclasses and one error type.

The registration URL is opened by anyone, so what it makes the tool fetch is untrusted: the configuration
is read without following redirects and only when it is labelled JSON, and :class:`AddressGuard` keeps
the tool's outbound calls off its own network (loopback, private, link-local) where the operator asks.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from marshmallow import EXCLUDE, ValidationError, fields, validate, validates_schema

from .errors import LMSRequestError
from .http import LMSHttp, json_body, media_type
from .schemas import BaseSchema, Identifier, describe_errors, response_error

logger = logging.getLogger(__name__)

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"

# A configuration document is a few kilobytes; refuse to parse anything absurd.
MAX_BODY_BYTES = 256 * 1024
REDIRECT_STATUSES = (301, 302, 303, 307, 308)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeAddress(ValueError):
    """A URL the tool must not call: its host resolves to a non-public address, or does not resolve."""

    def __init__(self, message: str, *, host: str, unresolved: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.host = host
        self.unresolved = unresolved


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (what the HTTP client would connect to)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is loopback
    return address.is_global and not address.is_multicast


class AddressGuard:
    """Refuses a URL whose host resolves to an address that is not public (loopback, private, link-local
    such as a cloud metadata service, carrier-grade NAT, reserved), unless it lies in a network the
    operator trusts (an LMS on the campus network).

    The check resolves the name once before the call, so a DNS server that answers differently a moment
    later could still steer the connection; an egress firewall is the complete answer (docs/admin/deploy.md).
    """

    def __init__(
        self,
        allowed_networks: Iterable[str | IPNetwork] = (),
        resolve: Callable[[str, int], list[str]] = resolve_host,
    ) -> None:
        self.allowed_networks = tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks)
        self._resolve = resolve

    def _allowed(self, address: IPAddress) -> bool:
        return _is_public(address) or any(address in network for network in self.allowed_networks)

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise UnsafeAddress(f"{url!r} has an invalid port", host=host) from None
        if not host:
            raise UnsafeAddress(f"{url!r} names no host", host=host)
        try:
            found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in self._resolve(host, port)]
        except (OSError, UnicodeError, ValueError):
            raise UnsafeAddress(f"{host} does not resolve", host=host, unresolved=True) from None
        if not found:
            raise UnsafeAddress(f"{host} does not resolve", host=host, unresolved=True)
        refused = [a for a in found if not self._allowed(a)]
        if refused:
            raise UnsafeAddress(
                f"{host} resolves to {refused[0]}, a loopback, private or link-local address", host=host
            )


class _NoRedirects(requests.Session):
    """A session that never follows a redirect: the configuration must come from the very URL the
    platform named, or an open redirect on the LMS's site would let any document speak for it."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)


def registration_session() -> requests.Session:
    """The ``requests`` session for the calls of a dynamic registration (give it to :class:`LMSHttp`)."""
    return _NoRedirects()


def _web_url() -> validate.URL:
    return validate.URL(schemes={"http", "https"}, require_tld=False)


class _PlatformConfigurationSchema(BaseSchema):
    product_family_code = fields.String(load_default="")
    version = fields.String(load_default="")
    messages_supported = fields.List(fields.Dict(), load_default=list)


class _OpenIdConfigurationSchema(BaseSchema):
    """The fields Dynamic Registration 1.0 §3.4 requires of the platform, and the optional ones Tandem
    reads."""

    issuer = fields.String(required=True, validate=_web_url())
    authorization_endpoint = fields.String(required=True, validate=_web_url())
    token_endpoint = fields.String(required=True, validate=_web_url())
    jwks_uri = fields.String(required=True, validate=_web_url())
    registration_endpoint = fields.String(required=True, validate=_web_url())
    token_endpoint_auth_methods_supported = fields.List(fields.String(), load_default=list)
    scopes_supported = fields.List(fields.String(), load_default=list)
    id_token_signing_alg_values_supported = fields.List(fields.String(), load_default=list)
    # Brightspace and Blackboard want this as the client assertion audience instead of the token URL.
    authorization_server = fields.String(load_default=None, allow_none=True)
    # Required by §3.4, but only informative to Tandem: a platform that forgets it can still register.
    platform = fields.Nested(
        _PlatformConfigurationSchema, data_key=PLATFORM_CONFIGURATION, load_default=dict, unknown=EXCLUDE
    )

    @validates_schema
    def _signs_rs256(self, data: dict[str, Any], **_: Any) -> None:
        algs = data.get("id_token_signing_alg_values_supported") or []
        if algs and "RS256" not in algs:
            raise ValidationError(
                "the platform must sign id_tokens with RS256", "id_token_signing_alg_values_supported"
            )
        methods = data.get("token_endpoint_auth_methods_supported") or []
        if methods and "private_key_jwt" not in methods:
            raise ValidationError(
                "the platform must accept private_key_jwt", "token_endpoint_auth_methods_supported"
            )


@dataclass(frozen=True)
class PlatformConfiguration:
    """A platform's OpenID configuration, validated."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    product_family_code: str = ""
    version: str = ""
    scopes_supported: tuple[str, ...] = ()
    authorization_server: str | None = None
    messages_supported: tuple[dict[str, Any], ...] = field(default=())


class _ToolConfigurationAnswerSchema(BaseSchema):
    deployment_id = Identifier(load_default=None, allow_none=True)


class _RegistrationAnswerSchema(BaseSchema):
    """§3.6: the platform echoes the metadata with a ``client_id`` (and, in the tool configuration object,
    the ``deployment_id`` it created, which Moodle and Canvas both send)."""

    client_id = Identifier(required=True, validate=validate.Length(min=1, max=255))
    tool = fields.Nested(
        _ToolConfigurationAnswerSchema, data_key=TOOL_CONFIGURATION, load_default=dict, unknown=EXCLUDE
    )


@dataclass(frozen=True)
class ToolRegistration:
    """What the platform answered to the registration: the tool's new client id and deployment."""

    client_id: str
    deployment_id: str | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def _decode(response: Any, what: str) -> dict[str, Any]:
    if len(response.content) > MAX_BODY_BYTES:
        raise response_error(response, f"The LMS sent {what} larger than {MAX_BODY_BYTES // 1024} KiB")
    # Media type not enforced here: several platforms label JSON answers as text/html or text/plain (the
    # configuration is checked apart, in fetch_platform_configuration).
    payload = json_body(response, media_types=None, what=what)
    if not isinstance(payload, dict):
        raise response_error(response, f"The LMS sent {what} that is not a JSON object")
    return payload


def _is_json(response: requests.Response) -> bool:
    kind = media_type(response)
    return kind == "application/json" or kind.endswith("+json")


def fetch_platform_configuration(http: LMSHttp, url: str) -> PlatformConfiguration:
    """GET the OpenID configuration (§3.4) and validate it; :class:`LMSRequestError` says what is wrong.

    Refused when the answer redirects (give :func:`registration_session` to ``http`` so the redirect is
    not even followed) or is not labelled JSON: a platform's configuration endpoint answers JSON itself,
    whereas an uploaded file or a page elsewhere on the site is served as a download, text or HTML.
    """
    response = http.request("GET", url, accept="application/json", expected=(200, *REDIRECT_STATUSES))
    if response.status_code != 200 or response.history:
        raise response_error(
            response,
            "The LMS answered with a redirect to another address; Tandem reads the configuration only from "
            "the address the LMS gave, so register with the platform's own configuration URL",
        )
    if not _is_json(response):
        raise response_error(
            response,
            f"The LMS sent its OpenID configuration as {media_type(response) or 'no content type'!r}, "
            "not application/json, so it does not come from the platform's configuration endpoint",
        )
    payload = _decode(response, "its OpenID configuration")
    try:
        data = _OpenIdConfigurationSchema().load(payload)
    except ValidationError as exc:
        raise response_error(
            response, f"The LMS sent an invalid OpenID configuration: {describe_errors(exc)}"
        ) from None
    platform = data["platform"] or {}
    return PlatformConfiguration(
        issuer=data["issuer"],
        authorization_endpoint=data["authorization_endpoint"],
        token_endpoint=data["token_endpoint"],
        jwks_uri=data["jwks_uri"],
        registration_endpoint=data["registration_endpoint"],
        product_family_code=platform.get("product_family_code", ""),
        version=platform.get("version", ""),
        scopes_supported=tuple(data["scopes_supported"]),
        authorization_server=data["authorization_server"],
        messages_supported=tuple(platform.get("messages_supported", ())),
    )


def register_tool(
    http: LMSHttp, registration_endpoint: str, client_metadata: dict[str, Any], registration_token: str | None
) -> ToolRegistration:
    """POST the tool's client metadata (§3.5) and return the client id and deployment the platform gave.

    Not retried on a lost answer: a replay could create a second tool on the platform.
    """
    headers = {"Authorization": f"Bearer {registration_token}"} if registration_token else {}
    try:
        response = http.request(
            "POST", registration_endpoint, headers=headers, json=client_metadata,
            accept="application/json", expected=(200, 201), idempotent=False,
        )
    except LMSRequestError as exc:
        raise _explain_refusal(exc) from exc
    payload = _decode(response, "the registration answer")
    try:
        data = _RegistrationAnswerSchema().load(payload)
    except ValidationError as exc:
        raise response_error(
            response, f"The LMS sent an invalid registration answer: {describe_errors(exc)}"
        ) from None
    logger.info("Dynamic registration accepted by the LMS (client %s)", data["client_id"])
    return ToolRegistration(
        client_id=data["client_id"], deployment_id=data["tool"].get("deployment_id"), raw=payload
    )


def _explain_refusal(exc: LMSRequestError) -> LMSRequestError:
    """Name the OAuth-style ``error`` a platform gives when it refuses the registration (§3.6.1)."""
    if exc.status is None or not exc.body:
        return exc
    try:
        payload = json.loads(exc.body)
    except ValueError:
        return exc
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), str):
        return exc
    description = payload.get("error_description")
    message = f"The LMS refused the registration: {payload['error']}"
    if isinstance(description, str) and description:
        message += f" ({description[:200]})"
    return LMSRequestError(
        message, method=exc.method, url=exc.url, status=exc.status, body=exc.body, errorcode=payload["error"]
    )
