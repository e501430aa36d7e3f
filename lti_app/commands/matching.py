"""``tandem matching``: run and publish admin-led matching from the command line.

Publishing creates every relationship through the relationship service, one by one with its checks and
notifications, in a single transaction; a proposal of thousands of pairs can take longer than a web
request may, so an administrator can publish it here instead (same rules, same all-or-nothing). The command
acts as a trainer of the course (by default whoever ran the matching), checked like any page or API call.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from lti_app.errors import TandemError
from lti_app.extensions import db
from lti_app.models.matching import MatchingRun
from lti_app.models.person import ADMIN, Person
from lti_app.models.programme import Programme
from lti_app.services import matching
from lti_app.services.access import Actor


def _actor(person_id: int | None) -> Actor:
    person = db.session.get(Person, person_id) if person_id else None
    if person is None:
        raise click.ClickException("Name the trainer to act as with --as PERSON_ID.")
    # No course in the actor: the roles come from the person's enrolment, as for a trainer of another course.
    roles = frozenset({ADMIN}) if person.is_platform_admin else frozenset()
    return Actor(person.id, person.registration_id, None, roles)


@click.group("matching")
def group() -> None:
    """Admin-led matching: run a programme's matching, publish a proposal."""


@group.command("run")
@click.argument("programme_id", type=int)
@click.option("--as", "person_id", type=int, required=True, help="Person id of a trainer of the course.")
@click.option("--min-score", type=float, default=0.0, show_default=True)
@click.option("--solver", type=click.Choice(matching.SOLVERS), default="auto", show_default=True)
@click.option("--scope", type=click.Choice(matching.SCOPES), default="unmatched", show_default=True)
@with_appcontext
def run(programme_id: int, person_id: int, min_score: float, solver: str, scope: str) -> None:
    """Match the programme's pool and store the proposal for review."""
    if db.session.get(Programme, programme_id) is None:
        raise click.ClickException("No such programme.")
    params = matching.RunParams(min_score=min_score, solver=solver, scope=scope)  # type: ignore[arg-type]
    try:
        found = matching.run_matching(db.session(), _actor(person_id), programme_id, params)
    except TandemError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    proof = "proven optimal" if found.proven_optimal else "optimal for its candidates"
    click.echo(
        f"run {found.id}: {found.matched_count} pairs, {found.unmatched_count} unmatched, total score "
        f"{found.total_score:.1f}, solver {found.solver} ({proof}), {found.timings.get('total_s', 0):.2f} s"
    )


@group.command("publish")
@click.argument("run_id", type=int)
@click.option(
    "--as", "person_id", type=int, help="Person id of a trainer of the course (default: who ran it)."
)
@with_appcontext
def publish(run_id: int, person_id: int | None) -> None:
    """Publish a proposal: all its relationships, or none."""
    run_row = db.session.get(MatchingRun, run_id)
    if run_row is None:
        raise click.ClickException("No such matching run.")
    try:
        outcome = matching.publish(
            db.session(), _actor(person_id or run_row.created_by_id), run_row.programme_id, run_id
        )
    except TandemError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(
        f"run {run_id} published: {len(outcome.created)} relationships created ({outcome.started_as}), "
        f"{outcome.kept} kept, {outcome.retracted} withdrawn"
    )


commands = [group]
