"""``tandem keys list|ensure|rotate|retire``: the tool's RSA signing keys (see ``lti_app.services.keys``)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from lti_app.crypto import SecretBox
from lti_app.extensions import db
from lti_app.services import keys as service

keys = AppGroup("keys", help="The tool's signing keys: published at /lti/jwks, private halves sealed.")


def _box() -> SecretBox:
    return SecretBox(current_app.extensions["tandem.settings"].secret_key)


@keys.command("list")
def list_() -> None:
    """Every key, newest first."""
    found = service.list_keys(db.session)
    if not found:
        click.echo("No key yet: 'tandem keys ensure' creates one.")
        return
    click.echo(f"{'kid':<45} {'created (UTC)':<17} {'status':<9} published until")
    for key in found:
        until = key.unpublish_at.strftime("%Y-%m-%d %H:%M") if key.unpublish_at else (
            "-" if key.status == service.ACTIVE else "no longer published")
        flag = " (signs)" if key.signs else ""
        click.echo(f"{key.kid:<45} {key.created_at:%Y-%m-%d %H:%M} {key.status:<9} {until}{flag}")


@keys.command("ensure")
def ensure() -> None:
    """Create the signing key if the tool has none (safe to run on every start)."""
    key, created = service.ensure_key(db.session, _box())
    db.session.commit()
    click.echo(("Created signing key " if created else "Signing key present: ") + key.kid)


@keys.command("rotate")
def rotate() -> None:
    """Sign with a new key from now on; the previous one stays published for the grace period."""
    key = service.rotate(db.session, _box())
    db.session.commit()
    days = service.RETIREMENT_GRACE.days
    click.echo(f"New signing key {key.kid}. Previous keys stay published for {days} days, then run "
               "'tandem keys retire' (they drop out of the JWKS on time either way).")


@keys.command("retire")
@click.option("--now", "at_once", is_flag=True,
              help="Skip the grace period: every key that no longer signs is unpublished now (a leaked key).")
def retire(at_once: bool) -> None:
    """Unpublish keys past their grace period and destroy their private halves."""
    grace = timedelta(0) if at_once else service.RETIREMENT_GRACE
    retired = service.retire_expired(db.session, grace=grace)
    db.session.commit()
    if not retired:
        click.echo("No key is past its grace period.")
    for key in retired:
        click.echo(f"Retired {key.kid}")


commands = [keys]
