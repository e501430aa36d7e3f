"""``tandem demo``: set up the built-in demo LMS (development only), seed Tandem's side of its course so the
first launch shows mentoring under way, and say what to try."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from lti_app.demo_lms import seed, store
from lti_app.errors import TandemError
from lti_app.extensions import db

WHAT_TO_TRY = (
    "Launch as Lena (Learner): Find a mentor, and ask Marco (first in the list) to be your mentor.",
    "Launch as Marco (Mentor): answer Lena's request (Priya's is waiting too); open Jonas's journal and goal.",
    "Launch as Tara (Trainer): Programmes, then the overview (who mentors whom), Matching and Completion.",
    "Launch as Ada (Admin): Admin in the menu (platforms, deployments, signing keys) and Who mentors whom.",
)


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Register the demo LMS, seed its course and people, and seed Tandem's side of the course: profiles, a
    programme with its completion rule, a relationship under way and a request waiting (idempotent).
    Refused in production."""
    settings = current_app.extensions["tandem.settings"]
    if not settings.demo_allowed:
        raise click.ClickException(
            "The demo LMS is disabled here (TANDEM_ENV=production or TANDEM_DEMO=0): it signs launches for "
            "anyone who opens it."
        )
    session = db.session()
    try:
        setup = store.ensure_demo(session, settings)
        seeded = seed.seed_mentoring(session, setup, settings)
    except TandemError as exc:
        session.rollback()
        raise click.ClickException(f"The demo could not be seeded, nothing was saved: {exc.message}") from exc
    # Read before the commit expires them.
    programme, issuer, platform_id = seeded.programme.title, setup.platform.issuer, setup.registration.id
    course = setup.platform.courses[0].title
    people = ", ".join(f"{p.given_name} ({p.label})" for p in setup.platform.people)
    session.commit()
    current_app.extensions["tandem.platform_origins"].refresh()
    click.echo(("Set up" if setup.created else "Ready:") + f" the demo LMS ({issuer}), "
               f"registered with Tandem as platform {platform_id}.")
    click.echo(f"Course: {course}. People: {people}.")
    if seeded.story_written:
        click.echo(f"Tandem: programme \u201c{programme}\u201d set up with its completion rule; Marco mentors "
                   "Jonas (two meetings, a goal under way) and has a request from Priya waiting.")
    else:
        click.echo(f"Tandem: the demo activity already shows \u201c{programme}\u201d; left as it is.")
    if seeded.launched or seeded.profiles_filled:
        click.echo(f"({seeded.launched} people added to the course, {seeded.profiles_filled} profiles filled.)")
    click.echo(f"\nOpen {issuer}/ and launch Tandem as any of them. What to try:")
    for number, step in enumerate(WHAT_TO_TRY, start=1):
        click.echo(f"  {number}. {step}")


commands = [demo]
