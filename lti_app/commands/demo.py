"""``tandem demo``: set up the built-in demo LMS (development only) and say where to open it."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from lti_app.demo_lms import store
from lti_app.extensions import db


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Register the demo LMS and seed its course and people (idempotent). Refused in production."""
    settings = current_app.extensions["tandem.settings"]
    if not settings.demo_allowed:
        raise click.ClickException(
            "The demo LMS is disabled here (TANDEM_ENV=production or TANDEM_DEMO=0): it signs launches for "
            "anyone who opens it."
        )
    setup = store.ensure_demo(db.session, settings)
    db.session.commit()
    current_app.extensions["tandem.platform_origins"].refresh()
    people = ", ".join(f"{p.given_name} ({p.label})" for p in setup.platform.people)
    click.echo(("Set up" if setup.created else "Ready:") + f" the demo LMS ({setup.platform.issuer}), "
               f"registered with Tandem as platform {setup.registration.id}.")
    click.echo(f"Course: {setup.platform.courses[0].title}. People: {people}.")
    click.echo(f"\nOpen {setup.platform.issuer}/ and launch Tandem as any of them.")


commands = [demo]
