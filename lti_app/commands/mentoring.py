"""``tandem mentoring expire|reindex``: mentoring housekeeping for cron or the worker."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from lti_app.extensions import db
from lti_app.models.search_index import reindex_all
from lti_app.services.relationships import expire_due

mentoring = AppGroup("mentoring", help="Mentoring housekeeping: request expiry, the search index.")


@mentoring.command("expire")
@click.option("--batch", default=500, show_default=True, help="Relationships per transaction.")
def expire(batch: int) -> None:
    """Expire unanswered requests and complete time-boxed (flash) relationships whose time is up; the people
    concerned are notified. Safe to run as often as you like (e.g. hourly)."""
    expired = completed = 0
    while True:
        found = expire_due(db.session, batch=batch)
        db.session.commit()
        expired, completed = expired + found[0], completed + found[1]
        if found[0] < batch and found[1] < batch:
            break
    click.echo(f"expired {expired} requests, completed {completed} flash relationships")


@mentoring.command("reindex")
def reindex() -> None:
    """Rebuild the profile search index (after a restore, or a migration that created it empty)."""
    count = reindex_all(db.session.connection())
    db.session.commit()
    click.echo(f"indexed {count} people")


commands = [mentoring]
