"""Platforms that registered Tandem (manually, by dynamic registration, or the built-in demo LMS).

A registration is one (issuer, client id) pair: Canvas gives every customer the same issuer, Moodle one
client id per tool type, so neither alone names a tenant. Registering the same pair again updates it, so a
repeated ``tandem platform add`` or dynamic registration never duplicates a platform.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from config.settings import Settings
from lti_app.crypto import SecretBox
from lti_app.errors import NotFound, PermissionDenied, ValidationFailed
from lti_app.models.registration import Deployment, Registration
from lti_app.services.access import Actor
from lti_app.services.keys import KeyInfo, list_keys, rotate

MANUAL = "manual"
DYNAMIC = "dynamic"
DEMO = "demo"
SOURCES = (MANUAL, DYNAMIC, DEMO)


@dataclass(frozen=True)
class ToolUrls:
    """Every address of the tool an LMS admin pastes into the platform, derived from TANDEM_BASE_URL."""

    base_url: str

    @property
    def domain(self) -> str:
        return urlparse(self.base_url).netloc

    @property
    def login(self) -> str:
        return f"{self.base_url}/lti/login"

    @property
    def launch(self) -> str:
        return f"{self.base_url}/lti/launch"

    @property
    def deep_link(self) -> str:
        # One launch endpoint takes both message types; the message_type claim tells them apart.
        return self.launch

    @property
    def redirect_uris(self) -> tuple[str, ...]:
        return (self.launch,)

    @property
    def jwks(self) -> str:
        return f"{self.base_url}/lti/jwks"

    @property
    def config(self) -> str:
        return f"{self.base_url}/lti/config"

    @property
    def register(self) -> str:
        return f"{self.base_url}/lti/register"

    def as_dict(self) -> dict[str, object]:
        return {
            "domain": self.domain,
            "initiate_login_uri": self.login,
            "target_link_uri": self.launch,
            "redirect_uris": list(self.redirect_uris),
            "deep_linking_uri": self.deep_link,
            "jwks_uri": self.jwks,
            "dynamic_registration_url": self.register,
            "config_url": self.config,
        }


def tool_urls(base_url: str) -> ToolUrls:
    return ToolUrls(base_url.rstrip("/"))


@dataclass(frozen=True)
class PlatformDetails:
    """What the tool must know of a platform to accept its launches and call its services."""

    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    name: str = ""
    auth_audience: str | None = None
    product_family: str = ""


def _is_web_url(value: str) -> bool:
    parts = urlparse(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def validate_details(details: PlatformDetails, deployment_ids: Iterable[str] = ()) -> None:
    """Refuse, naming every bad field at once, what would make launches fail later in obscure ways."""
    problems: dict[str, str] = {}
    if not _is_web_url(details.issuer):
        problems["issuer"] = "must be the platform's http(s) URL, exactly as it appears in its tokens' iss"
    if not details.client_id.strip():
        problems["client_id"] = "is required"
    elif len(details.client_id) > 255:
        problems["client_id"] = "is longer than 255 characters"
    for field in ("auth_login_url", "auth_token_url", "key_set_url"):
        value = getattr(details, field)
        if not _is_web_url(value):
            problems[field] = "must be an absolute http(s) URL"
        elif len(value) > 1000:
            problems[field] = "is longer than 1000 characters"
    if details.auth_audience and not details.auth_audience.strip():
        problems["auth_audience"] = "must not be blank"
    bad = [d for d in deployment_ids if not d.strip() or len(d) > 255]
    if bad:
        problems["deployment_id"] = "deployment ids must be 1 to 255 characters"
    if problems:
        raise ValidationFailed("The platform details are incomplete or invalid.", details=problems)


def find_registration(session: Session, issuer: str, client_id: str) -> Registration | None:
    return session.scalar(
        select(Registration).where(Registration.issuer == issuer, Registration.client_id == client_id)
    )


def upsert_registration(
    session: Session,
    details: PlatformDetails,
    *,
    deployment_ids: Iterable[str] = (),
    source: str = MANUAL,
    is_active: bool | None = None,
) -> tuple[Registration, bool]:
    """Create the registration, or update the one with the same issuer and client id; add any deployment
    not yet known (never removes one: a platform keeps launching old deployments). ``True`` if created."""
    deployments = [d.strip() for d in deployment_ids]
    validate_details(details, deployments)
    if source not in SOURCES:
        raise ValidationFailed(
            "Unknown registration source.", details={"source": f"one of {', '.join(SOURCES)}"}
        )
    registration = find_registration(session, details.issuer, details.client_id)
    created = registration is None
    if registration is None:
        registration = Registration(issuer=details.issuer, client_id=details.client_id)
        session.add(registration)
    elif registration.key_set_url != details.key_set_url:
        # Keys read from the old URL must not keep verifying launches.
        registration.platform_jwks = None
    registration.auth_login_url = details.auth_login_url
    registration.auth_token_url = details.auth_token_url
    registration.key_set_url = details.key_set_url
    registration.auth_audience = details.auth_audience or None
    registration.name = details.name or registration.name or ""
    registration.product_family = details.product_family or registration.product_family or ""
    registration.source = source
    if is_active is not None:
        registration.is_active = is_active
    session.flush()
    for deployment_id in deployments:
        add_deployment(session, registration, deployment_id)
    return registration, created


def add_deployment(
    session: Session, registration: Registration, deployment_id: str, name: str = ""
) -> Deployment:
    """The deployment, created if new (idempotent)."""
    deployment_id = deployment_id.strip()
    if not deployment_id or len(deployment_id) > 255:
        raise ValidationFailed("Invalid deployment id.", details={"deployment_id": "1 to 255 characters"})
    for existing in registration.deployments:
        if existing.deployment_id == deployment_id:
            return existing
    deployment = Deployment(deployment_id=deployment_id, name=name)
    registration.deployments.append(deployment)
    session.flush()
    return deployment


def remove_deployment(session: Session, registration: Registration, deployment_id: str) -> None:
    for existing in registration.deployments:
        if existing.deployment_id == deployment_id:
            registration.deployments.remove(existing)
            session.flush()
            return
    raise NotFound(f"Platform {registration.id} has no deployment {deployment_id!r}.")


def list_registrations(session: Session) -> list[Registration]:
    """Every registration with its deployments, in two queries whatever their number."""
    return list(
        session.scalars(
            select(Registration)
            .options(selectinload(Registration.deployments))
            .order_by(Registration.issuer, Registration.client_id)
        )
    )


def get_registration(session: Session, ref: str, client_id: str | None = None) -> Registration:
    """A registration named by id, or by issuer (with the client id when the issuer has several)."""
    query = select(Registration).options(selectinload(Registration.deployments))
    if client_id is None and ref.isdigit():
        found = session.scalar(query.where(Registration.id == int(ref)))
        if found is None:
            raise NotFound(f"No platform with id {ref}.")
        return found
    # Issuers are compared exactly (OIDC), but a trailing slash typed on the command line is forgiven.
    query = query.where(Registration.issuer.in_({ref, ref.rstrip("/")}))
    if client_id is not None:
        query = query.where(Registration.client_id == client_id)
    matches = list(session.scalars(query))
    if not matches:
        with_client = f" and client id {client_id!r}" if client_id else ""
        raise NotFound(f"No platform registered with issuer {ref!r}{with_client}.")
    if len(matches) > 1:
        ids = ", ".join(f"{m.id} ({m.client_id})" for m in matches)
        raise ValidationFailed(
            f"Several platforms share issuer {ref!r}: name one by id ({ids}) or by client id."
        )
    return matches[0]


def set_active(session: Session, registration: Registration, active: bool) -> None:
    """An inactive platform keeps its data, but its launches are refused and it may not frame Tandem."""
    registration.is_active = active
    session.flush()


def remove_registration(session: Session, registration: Registration) -> None:
    """Delete a platform and, by cascade, its deployments, courses, people and everything under them."""
    session.delete(registration)
    session.flush()


# ------------------------------------------------------------------------------------------ admin page


def demo_issuer(base_url: str) -> str:
    """The built-in demo LMS's issuer: the tool's own address plus ``/demo``."""
    return f"{base_url.rstrip('/')}/demo"


def is_operator(registration: Registration, settings: Settings) -> bool:
    """Admins of an operator platform run the tool itself: its keys are shared by every platform, so only
    they may rotate them from the page. Operators are named in TANDEM_OPERATOR_PLATFORMS as
    ``client_id@issuer`` (the issuer alone is not enough: every Canvas customer shares one); outside
    production the demo LMS's admin is one too, so the demo shows the whole page."""
    if (
        settings.demo_allowed
        and registration.source == DEMO
        and registration.issuer == demo_issuer(settings.base_url)
    ):
        return True
    return f"{registration.client_id}@{registration.issuer}" in settings.operator_platforms


@dataclass(frozen=True)
class AdminOverview:
    registrations: list[Registration]
    keys: list[KeyInfo]
    urls: ToolUrls
    is_operator: bool


def _admin_registration(session: Session, actor: Actor) -> Registration:
    if not actor.is_admin:
        raise PermissionDenied("Only LMS administrators can open Tandem's administration page.")
    registration = session.get(Registration, actor.registration_id)
    if registration is None:
        raise NotFound("This platform is no longer registered with Tandem.")
    return registration


def admin_overview(session: Session, actor: Actor, settings: Settings) -> AdminOverview:
    """What the admin page shows: the actor's own platform (every platform for an operator), the tool's
    keys read-only (public data only) and the tool's URLs."""
    own = _admin_registration(session, actor)
    operator = is_operator(own, settings)
    if operator:
        registrations = list_registrations(session)
    else:
        registrations = list(
            session.scalars(
                select(Registration)
                .options(selectinload(Registration.deployments))
                .where(Registration.id == own.id)
            )
        )
    return AdminOverview(registrations, list_keys(session), tool_urls(settings.base_url), operator)


def require_operator(session: Session, actor: Actor, settings: Settings, refusal: str) -> Registration:
    """The actor's platform when they are an admin of an operator platform (see :func:`is_operator`);
    otherwise :class:`PermissionDenied` with ``refusal``."""
    own = _admin_registration(session, actor)
    if not is_operator(own, settings):
        raise PermissionDenied(refusal)
    return own


def rotate_key_for(session: Session, actor: Actor, settings: Settings, box: SecretBox) -> KeyInfo:
    """Rotate the tool's signing key on behalf of an operator's admin (see :func:`is_operator`)."""
    require_operator(
        session, actor, settings,
        "Tandem's signing keys are shared by every platform: ask the people who run Tandem to rotate "
        "them (tandem keys rotate).",
    )
    key = rotate(session, box)
    return next(info for info in list_keys(session) if info.kid == key.kid)
