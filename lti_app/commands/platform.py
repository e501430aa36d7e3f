"""``tandem platform add|list|show|remove|activate|deactivate|invite``: platforms registered by hand,
and invitations to register by URL.

Every change goes through ``lti_app.services.registrations``, as dynamic registration and the demo do, so
the three ways in validate and store a platform alike.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from lti_app.errors import TandemError
from lti_app.extensions import db
from lti_app.models.registration import Registration
from lti_app.services import registrations as service
from lti_app.services.registration_invitations import INVITATION_DAYS, issue_invitation

platform = AppGroup("platform", help="Register LMS platforms (issuer + client id) and their deployments.")


# The service names fields as the model does; say them as the options the operator typed.
_OPTIONS = {"auth_login_url": "--auth-url", "auth_token_url": "--token-url", "key_set_url": "--jwks-url",
            "auth_audience": "--audience"}


def _fail(exc: TandemError) -> click.ClickException:
    db.session.rollback()
    message = exc.message
    if isinstance(exc.details, dict):
        message += "".join(
            f"\n  {_OPTIONS.get(k, '--' + k.replace('_', '-'))}: {v}" for k, v in exc.details.items()
        )
    return click.ClickException(message)


def echo_tool_urls(base_url: str) -> None:
    """What an LMS admin pastes into the platform after a manual registration."""
    urls = service.tool_urls(base_url)
    click.echo("\nPaste these into the LMS's tool configuration:")
    rows = [
        ("Tool domain", urls.domain),
        ("Login initiation URL", urls.login),
        ("Target link / launch URL", urls.launch),
        ("Redirection URI(s)", " ".join(urls.redirect_uris)),
        ("Deep linking URL", urls.deep_link),
        ("Public keyset (JWKS) URL", urls.jwks),
        ("Dynamic registration URL", f"{urls.register} (with an invitation: tandem platform invite)"),
        ("Configuration JSON", urls.config),
    ]
    for label, value in rows:
        click.echo(f"  {label + ':':<27} {value}")


def _describe(registration: Registration) -> None:
    deployments = ", ".join(d.deployment_id for d in registration.deployments) or "(none)"
    click.echo(f"Platform {registration.id}: {registration.label}")
    for label, value in [
        ("issuer", registration.issuer),
        ("client id", registration.client_id),
        ("deployments", deployments),
        ("auth (login) URL", registration.auth_login_url),
        ("token URL", registration.auth_token_url),
        ("token audience", registration.auth_audience or "(the token URL)"),
        ("JWKS URL", registration.key_set_url),
        ("product", registration.product_family or "(unknown)"),
        ("source", registration.source),
        ("active", "yes" if registration.is_active else "no"),
    ]:
        click.echo(f"  {label + ':':<18} {value}")


@platform.command("add")
@click.option("--issuer", required=True, help="The platform's issuer (iss), e.g. https://moodle.example.edu")
@click.option("--client-id", required=True, help="The client id the platform gave Tandem.")
@click.option("--auth-url", required=True, help="The platform's OIDC authentication (login) endpoint.")
@click.option("--token-url", required=True, help="The platform's OAuth 2 access token endpoint.")
@click.option("--jwks-url", required=True, help="The platform's public keyset URL.")
@click.option("--deployment-id", "deployment_ids", multiple=True, help="A deployment id (repeatable).")
@click.option("--name", default="", help="A name admins recognise, e.g. 'Moodle (production)'.")
@click.option("--audience", default=None, help="Client assertion audience, when not the token URL "
              "(Brightspace, Blackboard).")
@click.option("--product", "product_family", default="", help="moodle, canvas, desire2learn, …")
def add(
    issuer: str, client_id: str, auth_url: str, token_url: str, jwks_url: str,
    deployment_ids: tuple[str, ...], name: str, audience: str | None, product_family: str,
) -> None:
    """Register a platform by hand (or update the one with the same issuer and client id)."""
    details = service.PlatformDetails(
        issuer=issuer.strip(), client_id=client_id.strip(), auth_login_url=auth_url.strip(),
        auth_token_url=token_url.strip(), key_set_url=jwks_url.strip(), name=name.strip(),
        auth_audience=audience, product_family=product_family.strip(),
    )
    try:
        registration, created = service.upsert_registration(
            db.session, details, deployment_ids=deployment_ids, source=service.MANUAL
        )
    except TandemError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    click.echo(("Registered" if created else "Updated") + f" platform {registration.id}.")
    _describe(registration)
    echo_tool_urls(current_app.extensions["tandem.settings"].base_url)


@platform.command("list")
def list_() -> None:
    """Every registered platform."""
    found = service.list_registrations(db.session)
    if not found:
        click.echo("No platform registered yet: use 'tandem platform add' or dynamic registration.")
        return
    click.echo(f"{'id':>4}  {'issuer':<40} {'client id':<24} {'deployments':<16} {'source':<8} active")
    for r in found:
        deployments = ",".join(d.deployment_id for d in r.deployments) or "-"
        click.echo(
            f"{r.id:>4}  {r.issuer:<40} {r.client_id:<24} {deployments:<16} {r.source:<8} "
            f"{'yes' if r.is_active else 'no'}"
        )


@platform.command("show")
@click.argument("ref")
@click.option("--client-id", default=None, help="Needed when several platforms share the issuer.")
def show(ref: str, client_id: str | None) -> None:
    """One platform, by id or issuer."""
    try:
        registration = service.get_registration(db.session, ref, client_id)
    except TandemError as exc:
        raise _fail(exc) from exc
    _describe(registration)
    echo_tool_urls(current_app.extensions["tandem.settings"].base_url)


@platform.command("remove")
@click.argument("ref")
@click.option("--client-id", default=None, help="Needed when several platforms share the issuer.")
@click.option("--deployment-id", default=None, help="Remove only this deployment.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def remove(ref: str, client_id: str | None, deployment_id: str | None, yes: bool) -> None:
    """Remove a platform (and all its courses, people and mentoring data), or one of its deployments."""
    try:
        registration = service.get_registration(db.session, ref, client_id)
        if deployment_id is not None:
            service.remove_deployment(db.session, registration, deployment_id)
            db.session.commit()
            click.echo(f"Removed deployment {deployment_id} from platform {registration.id}.")
            return
        if not yes:
            click.confirm(
                f"Remove platform {registration.id} ({registration.label}) with every course, person and "
                "mentoring record it holds?",
                abort=True,
            )
        registration_id = registration.id
        service.remove_registration(db.session, registration)
    except TandemError as exc:
        raise _fail(exc) from exc
    db.session.commit()
    current_app.extensions["tandem.platform_origins"].refresh()
    click.echo(f"Removed platform {registration_id}.")


def _set_active(ref: str, client_id: str | None, active: bool) -> None:
    try:
        registration = service.get_registration(db.session, ref, client_id)
    except TandemError as exc:
        raise _fail(exc) from exc
    service.set_active(db.session, registration, active)
    registration_id = registration.id
    db.session.commit()
    current_app.extensions["tandem.platform_origins"].refresh()
    click.echo(f"Platform {registration_id} is {'active' if active else 'inactive'}.")


@platform.command("deactivate")
@click.argument("ref")
@click.option("--client-id", default=None, help="Needed when several platforms share the issuer.")
def deactivate(ref: str, client_id: str | None) -> None:
    """Refuse a platform's launches and stop listing it among the sites that may frame Tandem (its data
    stays; 'activate' undoes it)."""
    _set_active(ref, client_id, False)


@platform.command("activate")
@click.argument("ref")
@click.option("--client-id", default=None, help="Needed when several platforms share the issuer.")
def activate(ref: str, client_id: str | None) -> None:
    """Accept a deactivated platform's launches again."""
    _set_active(ref, client_id, True)


@platform.command("invite")
@click.option("--issuer", default=None, help="Admit only this platform (its issuer, e.g. "
              "https://moodle.example.edu); any platform otherwise.")
def invite(issuer: str | None) -> None:
    """Print a registration URL (valid 7 days) for an LMS admin to paste into the LMS: in production,
    registration by URL takes one."""
    try:
        issued = issue_invitation(current_app.extensions["tandem.settings"], issuer)
    except TandemError as exc:
        raise _fail(exc) from exc
    click.echo("Paste this URL into the LMS's \"register a tool by URL\" field:\n")
    click.echo(f"  {issued.url}\n")
    admits = f"only the platform {issued.issuer}" if issued.issuer else "any platform"
    click.echo(
        f"It admits {admits} and expires in {INVITATION_DAYS} days "
        f"({issued.expires_at:%Y-%m-%d %H:%M} UTC). Hand it over like a password."
    )


commands = [platform]
