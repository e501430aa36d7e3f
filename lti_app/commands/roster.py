"""``tandem roster sync``: roster sync from the command line and the worker, and
``tandem platform moodle-ws``: a platform's Moodle web service settings.

``roster sync --course ID`` and ``--all`` record a job per course (so trainers see it on their roster
page) and run it here with a progress bar; ``--pending`` runs the jobs trainers queued when the site runs
with ``TANDEM_ROSTER_SYNC=worker`` (from cron, or with ``--watch SECONDS`` as a long-running worker).
"""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from lms_clients import LMSHttp, LMSRequestError
from lti_app.commands.platform import platform
from lti_app.crypto import SecretBox
from lti_app.errors import TandemError
from lti_app.extensions import db
from lti_app.models.course import Course
from lti_app.models.registration import Registration
from lti_app.models.roster import CLI_TRIGGER, DONE, RosterSync
from lti_app.services import moodle_profiles, roster_jobs
from lti_app.services.registrations import get_registration
from lti_app.services.roster import RosterSummary
from lti_app.tasks.roster import HTTP_KEY, default_http, run_sync

roster = AppGroup("roster", help="Sync course rosters from the LMS (Names and Role Provisioning Services).")


def _box() -> SecretBox:
    return SecretBox(current_app.extensions["tandem.settings"].secret_key)


def _summary(job: RosterSync) -> str:
    if job.status != DONE:
        return f"failed: {job.error}"
    text = (
        f"{job.processed} read, {job.added} added, {job.updated} updated, {job.deactivated} deactivated, "
        f"{job.unchanged} unchanged"
    )
    if job.skipped:
        text += f", {job.skipped} skipped"
    if job.enriched:
        text += f", {job.enriched} profiles completed from Moodle"
    return text + (f"\n  note: {job.notice}" if job.notice else "")


def _run(sync_id: int, label: str, quiet: bool) -> bool:
    """Run one queued job with a progress bar; True when it succeeded (or another runner had it)."""
    session = db.session()
    job = session.get(RosterSync, sync_id)
    expected = max(job.total or 0, 1) if job else 1
    http_factory = current_app.extensions.get(HTTP_KEY, default_http)
    with click.progressbar(length=expected, label=label, show_pos=True, hidden=quiet) as bar:
        done_so_far = 0

        def progress(summary: RosterSummary) -> None:
            nonlocal done_so_far
            if summary.processed > (bar.length or 0):  # the estimate was short: stretch the bar
                bar.length = summary.processed
            bar.update(summary.processed - done_so_far)
            done_so_far = summary.processed

        finished = run_sync(session, sync_id, _box(), http_factory=http_factory, on_progress=progress)
    if finished is None:
        click.echo(f"{label}: already being synced by another runner.")
        return True
    click.echo(f"{label}: {_summary(finished)}")
    return finished.status == DONE


def _queue(course: Course) -> int | None:
    try:
        job = roster_jobs.queue_sync(db.session, course, trigger=CLI_TRIGGER)
    except TandemError as exc:
        db.session.rollback()
        click.echo(f"Course {course.id} ({course.title or course.context_id}): skipped: {exc.message}")
        return None
    db.session.commit()
    return job.id


@roster.command("sync")
@click.option("--course", "course_id", type=int, help="Tandem's id of the course to sync.")
@click.option("--all", "all_courses", is_flag=True, help="Every course whose LMS offers its roster.")
@click.option("--pending", is_flag=True, help="Run the syncs trainers queued (the worker's job).")
@click.option("--watch", type=float, default=None, metavar="SECONDS",
              help="With --pending: keep running, looking for queued syncs every SECONDS.")
@click.option("--quiet", is_flag=True, help="No progress bar (for cron).")
def sync(course_id: int | None, all_courses: bool, pending: bool, watch: float | None, quiet: bool) -> None:
    """Sync course rosters from the LMS: people, roles, and who left."""
    if sum((course_id is not None, all_courses, pending)) != 1:
        raise click.UsageError("Give exactly one of --course ID, --all or --pending.")
    if watch is not None and not pending:
        raise click.UsageError("--watch goes with --pending.")
    if pending:
        ok = _run_pending(quiet)
        while watch is not None:
            time.sleep(max(watch, 1.0))
            ok = _run_pending(quiet) and ok
        if not ok:
            raise SystemExit(1)
        return
    if course_id is not None:
        course = db.session.get(Course, course_id)
        if course is None:
            raise click.ClickException(f"No course {course_id}.")
        courses = [course]
    else:
        courses = list(
            db.session.scalars(
                select(Course)
                .join(Registration, Registration.id == Course.registration_id)
                .where(Course.memberships_url.is_not(None), Registration.is_active.is_(True))
                .order_by(Course.id)
            )
        )
        if not courses:
            click.echo("No course offers its roster yet: a course appears here after a launch from it.")
            return
    failures = 0
    for course in courses:
        label = f"Course {course.id} ({course.title or course.context_id})"
        sync_id = _queue(course)
        if sync_id is None:
            failures += course_id is not None
            continue
        failures += not _run(sync_id, label, quiet)
    if failures:
        raise SystemExit(1)


def _run_pending(quiet: bool) -> bool:
    ids = roster_jobs.pending_sync_ids(db.session)
    db.session.commit()
    ok = True
    for sync_id in ids:
        ok = _run(sync_id, f"Roster sync {sync_id}", quiet) and ok
    return ok


# ----------------------------------------------------------------------------- tandem platform moodle-ws


def _fail(exc: TandemError) -> click.ClickException:
    db.session.rollback()
    message = exc.message
    if isinstance(exc.details, dict):
        message += "".join(f"\n  {key}: {value}" for key, value in exc.details.items())
    return click.ClickException(message)


@platform.command("moodle-ws")
@click.argument("ref")
@click.option("--client-id", default=None, help="Needed when several platforms share the issuer.")
@click.option("--url", default=None, help="The Moodle site URL, e.g. https://moodle.example.edu")
@click.option("--token", default=None, help="The web service token (asked for, hidden, when left out).")
@click.option("--map", "mappings", multiple=True, metavar="MOODLE_FIELD=PROFILE_FIELD",
              help="Which Moodle profile field fills which Tandem profile field (repeatable), e.g. "
                   "department=department, interests=interests, skills=skills.")
@click.option("--no-check", is_flag=True, help="Store without asking Moodle first.")
@click.option("--clear", is_flag=True, help="Remove the settings (and the token).")
def moodle_ws(
    ref: str, client_id: str | None, url: str | None, token: str | None, mappings: tuple[str, ...],
    no_check: bool, clear: bool,
) -> None:
    """Connect a platform (by id or issuer) to Moodle web services for profile enrichment."""
    try:
        registration = get_registration(db.session, ref, client_id)
        if clear:
            moodle_profiles.clear(db.session, registration)
            db.session.commit()
            click.echo(f"Moodle web service settings removed from platform {registration.id}.")
            return
        if not url:
            raise click.UsageError("--url is required (or --clear).")
        if token is None and not registration.moodle_ws_token_sealed:
            token = click.prompt("Web service token", hide_input=True)
        current = moodle_profiles.current_settings(registration).field_map
        field_map = list(mappings) if mappings else current
        http = None if no_check else LMSHttp(connect_timeout=5.0, read_timeout=15.0, max_attempts=2)
        try:
            check = moodle_profiles.configure(
                db.session, registration, url=url, token=token, field_map=field_map, box=_box(), http=http
            )
        finally:
            if http is not None:
                http.close()
    except TandemError as exc:
        raise _fail(exc) from exc
    except LMSRequestError as exc:  # pragma: no cover - configure turns these into ValidationFailed
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Moodle web services set for platform {registration.id}: {registration.moodle_ws_url}")
    if check is not None:
        click.echo("  " + check.summary)
    stored = moodle_profiles.current_settings(registration).field_map
    if stored:
        click.echo("  profile fields: " + ", ".join(f"{m} -> {p}" for m, p in stored.items()))
    else:
        click.echo("  no profile fields mapped yet: add --map moodle_field=profile_field")


commands = [roster]
