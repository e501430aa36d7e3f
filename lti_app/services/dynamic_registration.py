"""LTI Dynamic Registration 1.0: an LMS admin pastes Tandem's registration URL, and the platform and the
tool introduce themselves without anyone copying a URL by hand.

The platform opens ``/lti/register?openid_configuration=…&registration_token=…``; Tandem reads the
configuration, checks that it really speaks for the issuer it names (§3.5.1: the issuer must share the
configuration URL's origin, or anyone could register under someone else's issuer), posts its client
metadata, and stores the client id and deployment it gets back. Nothing is written unless every step
succeeded.

The registration URL is public, so the exchange trusts nothing it is told: a second registration of the
same issuer and client id may add deployments but never changes the stored endpoints (whoever could
rewrite a platform's JWKS URL could sign launches as anyone on it: an operator changes them with
``tandem platform add``); in production the URL must carry an operator's invitation
(:mod:`lti_app.services.registration_invitations`), every endpoint must be https and none may resolve to
the tool's own network (:class:`~lms_clients.registration.AddressGuard`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.orm import Session

from config.settings import Settings
from lms_clients.errors import LMSRequestError
from lms_clients.http import LMSHttp
from lms_clients.registration import (
    TOOL_CONFIGURATION,
    AddressGuard,
    PlatformConfiguration,
    UnsafeAddress,
    fetch_platform_configuration,
    register_tool,
    registration_session,
)
from lms_clients.scopes import ALL as SERVICE_SCOPES
from lti_app.errors import Conflict, TandemError, ValidationFailed
from lti_app.models.registration import Registration
from lti_app.services.registration_invitations import Invitation, InvitationRefused, Invitations
from lti_app.services.registrations import (
    DYNAMIC,
    PlatformDetails,
    ToolUrls,
    find_registration,
    upsert_registration,
)

log = logging.getLogger(__name__)

TOOL_NAME = "Tandem"
TOOL_DESCRIPTION = (
    "Mentoring programmes: find a mentor, keep a diary, give 360 feedback, complete in the gradebook."
)
# The identity claims Tandem shows (names on profiles, email for notifications, picture for avatars).
CLAIMS = ("iss", "sub", "name", "given_name", "family_name", "email", "picture")
MESSAGE_RESOURCE_LINK = "LtiResourceLinkRequest"
MESSAGE_DEEP_LINKING = "LtiDeepLinkingRequest"
# Platforms known to keep a dynamically registered tool disabled until an admin approves it.
PENDING_UNTIL_ACTIVATED = {"moodle": "Moodle"}


class RegistrationFailed(TandemError):
    """The platform could not be registered; the message says what the LMS admin can do about it."""

    status = 400
    code = "registration_failed"


class AlreadyRegistered(Conflict):
    """The platform answered with a client id Tandem knows, under other endpoints."""

    code = "already_registered"


@dataclass(frozen=True)
class RegistrationPolicy:
    """How much a registration is trusted to choose where Tandem connects: see :func:`registration_policy`."""

    require_https: bool = False
    address_guard: AddressGuard | None = None
    # Checks the invitation a registration URL carries; required or only checked when given.
    invitations: Invitations | None = None
    invitation_required: bool = False


def registration_policy(settings: Settings) -> RegistrationPolicy:
    """Production: an operator's invitation, https only, nothing on the tool's own network but the
    networks the operator trusts. Development and tests register a platform on loopback over plain http,
    with or without an invitation (one that is given is checked)."""
    invitations = Invitations(settings.secret_key)
    if not settings.is_production:
        return RegistrationPolicy(invitations=invitations)
    return RegistrationPolicy(
        require_https=True,
        address_guard=AddressGuard(settings.platform_networks),
        invitations=invitations,
        invitation_required=True,
    )


def check_invitation(policy: RegistrationPolicy, code: str | None) -> Invitation | None:
    code = (code or "").strip()
    if not code:
        if policy.invitation_required:
            raise InvitationRefused(
                "Tandem registers an LMS by URL only with an invitation from the people who run it. Ask "
                "them for a registration URL (they create one with `tandem platform invite` or on Tandem's "
                "administration page) and paste that URL into your LMS.",
                code="invitation_required",
            )
        return None
    if policy.invitations is None:
        raise InvitationRefused("Invitations cannot be checked here.")
    return policy.invitations.check(code)


def _for_another_platform(issuer: str) -> InvitationRefused:
    return InvitationRefused(
        "This registration URL was issued for another LMS. Ask the people who run Tandem for one for "
        "this LMS.",
        details={"issuer": issuer},
        code="invitation_other_platform",
    )


@dataclass(frozen=True)
class RegistrationOutcome:
    registration: Registration
    deployment_id: str | None
    created: bool
    product_family: str

    @property
    def pending_activation(self) -> bool:
        return self.product_family in PENDING_UNTIL_ACTIVATED

    @property
    def product_name(self) -> str:
        return PENDING_UNTIL_ACTIVATED.get(self.product_family, self.product_family or "your LMS")


def _origin(url: str) -> str:
    parts = urlparse(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def check_configuration_url(url: str, *, require_https: bool) -> str:
    url = (url or "").strip()
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationFailed(
            "The registration link is incomplete: open it from your LMS's tool registration page.",
            details={"openid_configuration": "must be the platform's absolute http(s) URL"},
        )
    if require_https and parts.scheme != "https":
        raise ValidationFailed(
            "The platform's configuration must be served over https.",
            details={"openid_configuration": "must be an https:// URL"},
        )
    return url


# Endpoints Tandem itself connects to (the authorization endpoint is only where browsers are sent).
_CALLED_ENDPOINTS = ("registration_endpoint", "jwks_uri", "token_endpoint")
_ENDPOINTS = ("authorization_endpoint", *_CALLED_ENDPOINTS)


def _guard(policy: RegistrationPolicy, url: str) -> None:
    if policy.address_guard is None:
        return
    try:
        policy.address_guard.check(url)
    except UnsafeAddress as exc:
        if exc.unresolved:
            raise RegistrationFailed(
                f"Tandem could not find the LMS: {exc.message}. Check the LMS's address, then retry.",
                code="platform_unreachable",
            ) from None
        raise RegistrationFailed(
            "The platform names an address on Tandem's own network, which dynamic registration may not "
            "reach. If your LMS lives on a private network, ask the people who run Tandem to trust it "
            "(TANDEM_PLATFORM_NETWORKS) or to register it by hand (tandem platform add).",
            details={"host": exc.host, "reason": exc.message},
            code="unsafe_address",
        ) from None


def check_endpoints(configuration: PlatformConfiguration, policy: RegistrationPolicy) -> None:
    """Every endpoint https in production; the ones Tandem calls resolve outside its own network."""
    if policy.require_https:
        plain = {f: "must be an https:// URL" for f in _ENDPOINTS
                 if urlparse(getattr(configuration, f)).scheme != "https"}
        if plain:
            raise RegistrationFailed(
                "The platform's configuration names endpoints that are not served over https.",
                details=plain,
                code="insecure_endpoint",
            )
    for name in _CALLED_ENDPOINTS:
        _guard(policy, getattr(configuration, name))


def _same_endpoints(registration: Registration, details: PlatformDetails) -> bool:
    return (
        registration.auth_login_url == details.auth_login_url
        and registration.auth_token_url == details.auth_token_url
        and registration.key_set_url == details.key_set_url
        and (registration.auth_audience or None) == (details.auth_audience or None)
    )


def check_issuer(configuration: PlatformConfiguration, configuration_url: str) -> None:
    """§3.5.1: the issuer must be on the same origin as the configuration it came from."""
    if _origin(configuration.issuer) != _origin(configuration_url):
        raise RegistrationFailed(
            "The platform's configuration names an issuer on a different site from the one it was fetched "
            "from, so Tandem cannot trust it.",
            details={"issuer": configuration.issuer, "openid_configuration": configuration_url},
            code="issuer_mismatch",
        )


def client_metadata(urls: ToolUrls, configuration: PlatformConfiguration) -> dict[str, Any]:
    """The tool's OpenID client metadata with its LTI tool configuration (§3.5.2, §3.5.3)."""
    supported = set(configuration.scopes_supported)
    # Ask only for scopes the platform offers when it lists them: some refuse a registration otherwise.
    scopes = [s for s in SERVICE_SCOPES if not supported or s in supported]
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": list(urls.redirect_uris),
        "client_name": TOOL_NAME,
        "jwks_uri": urls.jwks,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(scopes),
        TOOL_CONFIGURATION: {
            "domain": urls.domain,
            "target_link_uri": urls.launch,
            "description": TOOL_DESCRIPTION,
            "claims": list(CLAIMS),
            "messages": [
                {"type": MESSAGE_RESOURCE_LINK, "target_link_uri": urls.launch, "label": TOOL_NAME},
                {"type": MESSAGE_DEEP_LINKING, "target_link_uri": urls.deep_link, "label": TOOL_NAME},
            ],
        },
    }


def _explain(exc: LMSRequestError, step: str) -> RegistrationFailed:
    if exc.status is None:
        reason = "did not answer in time" if exc.timed_out else "could not be reached"
        return RegistrationFailed(
            f"Tandem could not {step}: the LMS {reason}. Check that Tandem can reach your LMS, then retry.",
            code="platform_unreachable",
        )
    return RegistrationFailed(f"Tandem could not {step}: {exc.message}.", details={"status": exc.status})


def dialog_http() -> LMSHttp:
    """An admin is watching the LMS dialog: short timeouts, one retry of a transient failure at most,
    and never a redirect followed (see :func:`~lms_clients.registration.fetch_platform_configuration`)."""
    return LMSHttp(
        connect_timeout=5.0, read_timeout=15.0, max_attempts=2, backoff_max=1.0,
        session=registration_session(),
    )


def _store(
    session: Session, details: PlatformDetails, deployment_id: str | None
) -> tuple[Registration, bool]:
    """Create the platform, or add the deployment to the same platform registering again: never change a
    known platform's endpoints, source or activation (see the module docstring)."""
    known = find_registration(session, details.issuer, details.client_id)
    if known is not None and not _same_endpoints(known, details):
        log.warning("dynamic registration refused: registration %s exists with other endpoints", known.id)
        raise AlreadyRegistered(
            "This LMS is already registered with Tandem under other addresses, and a registration by URL "
            "never changes a registered platform. An operator can update it with `tandem platform add` "
            "or remove it first (`tandem platform remove`), then register again.",
            details={"issuer": details.issuer, "client_id": details.client_id},
        )
    try:
        return upsert_registration(
            session,
            details,
            deployment_ids=[deployment_id] if deployment_id else [],
            source=known.source if known is not None else DYNAMIC,
        )
    except ValidationFailed as exc:
        raise RegistrationFailed(
            "The platform's answer cannot be stored: " + exc.message, details=exc.details
        ) from exc


def register_platform(
    session: Session,
    *,
    configuration_url: str,
    registration_token: str | None,
    urls: ToolUrls,
    http_factory: Callable[[], LMSHttp] = dialog_http,
    policy: RegistrationPolicy | None = None,
    invitation: str | None = None,
) -> RegistrationOutcome:
    """Run the whole exchange and store the platform (flushed, not committed). Every check that can be
    made before a call to the platform is made before it."""
    policy = policy or RegistrationPolicy()
    invited = check_invitation(policy, invitation)
    url = check_configuration_url(configuration_url, require_https=policy.require_https)
    if invited is not None and invited.issuer is not None and _origin(invited.issuer) != _origin(url):
        # The issuer shares the configuration's origin (§3.5.1): refused before any call to the platform.
        raise _for_another_platform(url)
    token = (registration_token or "").strip() or None
    _guard(policy, url)
    with http_factory() as http:
        try:
            configuration = fetch_platform_configuration(http, url)
        except LMSRequestError as exc:
            raise _explain(exc, "read the platform's configuration") from exc
        check_issuer(configuration, url)
        if invited is not None and not invited.admits(configuration.issuer):
            raise _for_another_platform(configuration.issuer)
        check_endpoints(configuration, policy)
        try:
            metadata = client_metadata(urls, configuration)
            answer = register_tool(http, configuration.registration_endpoint, metadata, token)
        except LMSRequestError as exc:
            raise _explain(exc, "register with the platform") from exc
    details = PlatformDetails(
        issuer=configuration.issuer,
        client_id=answer.client_id,
        auth_login_url=configuration.authorization_endpoint,
        auth_token_url=configuration.token_endpoint,
        key_set_url=configuration.jwks_uri,
        auth_audience=configuration.authorization_server,
        product_family=configuration.product_family_code,
    )
    registration, created = _store(session, details, answer.deployment_id)
    log.info(
        "platform %s by dynamic registration: registration %s (%s)",
        "registered" if created else "re-registered",
        registration.id,
        configuration.product_family_code or "-",
    )
    return RegistrationOutcome(registration, answer.deployment_id, created, configuration.product_family_code)
