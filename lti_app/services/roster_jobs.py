"""Roster sync jobs (``RosterSync`` rows): asking for a sync, claiming it, recording its progress.

A trainer's click only queues a job; the sync itself runs elsewhere (a background thread or the worker's
``tandem roster sync --pending``, see ``lti_app.tasks.roster``), because a large roster takes longer than a
web request should. One queued or running job per course at most: asking again while one is under way
returns it, so a double click or two trainers at once start one sync. A job whose runner died (no
progress for ``STALE_AFTER``) is marked failed and no longer blocks the course.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti_app.errors import Conflict, NotFound, PermissionDenied
from lti_app.models.base import utcnow
from lti_app.models.course import Course
from lti_app.models.person import Enrolment
from lti_app.models.registration import Registration
from lti_app.models.roster import (
    ACTIVE_STATUSES,
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    TRAINER_TRIGGER,
    RosterSync,
)
from lti_app.services.access import Actor, require_trainer
from lti_app.services.roster import INACTIVE_PLATFORM, NO_ROSTER_SERVICE, RosterSummary, enrolment_count

STALE_AFTER = timedelta(minutes=15)
INTERRUPTED = "The sync stopped without finishing (the process running it ended). Start it again."
NEVER_STARTED = (
    "The sync did not start within 15 minutes: the worker that runs roster syncs may be stopped. "
    "Ask your administrator, or try again."
)
HISTORY = 5


def request_sync(
    session: Session, actor: Actor, course_id: int, *, now: datetime | None = None
) -> RosterSync:
    """A trainer asks for their course's roster to be synced: the job under way, or a new queued one."""
    course = require_trainer(session, actor, course_id)
    return queue_sync(session, course, trigger=TRAINER_TRIGGER, requested_by_id=actor.person_id, now=now)


def queue_sync(
    session: Session,
    course: Course,
    *,
    trigger: str,
    requested_by_id: int | None = None,
    now: datetime | None = None,
) -> RosterSync:
    """The course's queued or running job, or a new queued one (no authorisation: the CLI and workers)."""
    moment = now or utcnow()
    if not course.memberships_url:
        raise Conflict(NO_ROSTER_SERVICE, code="no_roster_service")
    registration = session.get(Registration, course.registration_id)
    if registration is None or not registration.is_active:
        raise Conflict(INACTIVE_PLATFORM, code="inactive")
    current = active_sync(session, course.id, now=moment)
    if current is not None:
        return current
    job = RosterSync(
        course_id=course.id, requested_by_id=requested_by_id, trigger=trigger, status=QUEUED,
        total=enrolment_count(session, course.id), created_at=moment, updated_at=moment,
    )
    try:
        with session.begin_nested():  # the partial unique index settles a race between two requests
            session.add(job)
    except IntegrityError:
        winner = active_sync(session, course.id, now=moment)
        if winner is None:
            raise
        return winner
    return job


def active_sync(session: Session, course_id: int, *, now: datetime | None = None) -> RosterSync | None:
    """The course's queued or running job, after failing one that stopped making progress."""
    job = session.scalars(
        select(RosterSync).where(RosterSync.course_id == course_id, RosterSync.status.in_(ACTIVE_STATUSES))
    ).first()
    moment = now or utcnow()
    if job is not None and (_is_stale(job, moment) or _never_started(job, moment)):
        fail(job, INTERRUPTED if job.status == RUNNING else NEVER_STARTED, now=moment)
        session.flush()
        return None
    return job


def _is_stale(job: RosterSync, now: datetime) -> bool:
    return job.status == RUNNING and job.updated_at < now - STALE_AFTER


def _never_started(job: RosterSync, now: datetime) -> bool:
    """Queued for long: its thread died before claiming it, or no worker runs. Failing it (only when a
    trainer looks) frees the button; a worker catching up later finds nothing left to claim."""
    return job.status == QUEUED and job.created_at < now - STALE_AFTER


def get_sync(session: Session, actor: Actor, sync_id: int) -> RosterSync:
    """A job, for trainers of its course (anyone else is told it does not exist)."""
    job = session.get(RosterSync, sync_id)
    if job is None:
        raise NotFound("No such roster sync.")
    try:
        require_trainer(session, actor, job.course_id)
    except (NotFound, PermissionDenied) as exc:
        raise NotFound("No such roster sync.") from exc
    return job


@dataclass(frozen=True)
class RosterOverview:
    """What the trainer's roster page shows."""

    course: Course
    current: RosterSync | None  # queued or running
    history: list[RosterSync]  # latest first, finished ones
    active_enrolments: int
    inactive_enrolments: int
    enrichment: bool

    @property
    def can_sync(self) -> bool:
        return bool(self.course.memberships_url)


def overview(session: Session, actor: Actor, course_id: int) -> RosterOverview:
    course = require_trainer(session, actor, course_id)
    current = active_sync(session, course_id)
    history = list(
        session.scalars(
            select(RosterSync)
            .where(RosterSync.course_id == course_id, RosterSync.status.in_((DONE, FAILED)))
            .order_by(RosterSync.id.desc())
            .limit(HISTORY)
        )
    )
    by_status = (
        select(Enrolment.status, func.count(Enrolment.id))
        .where(Enrolment.course_id == course_id)
        .group_by(Enrolment.status)
    )
    counts: dict[str, int] = {status: number for status, number in session.execute(by_status)}
    registration = session.get(Registration, course.registration_id)
    enrichment = bool(registration and registration.moodle_ws_token_sealed and registration.moodle_field_map)
    return RosterOverview(
        course, current, history, counts.get("active", 0), counts.get("inactive", 0), enrichment
    )


# ------------------------------------------------------------------------------------------- running a job


def claim(session: Session, sync_id: int, *, now: datetime | None = None) -> bool:
    """Move a queued job to running; False if another runner took it first (one UPDATE decides)."""
    moment = now or utcnow()
    result = session.execute(
        update(RosterSync)
        .where(RosterSync.id == sync_id, RosterSync.status == QUEUED)
        .values(status=RUNNING, started_at=moment, updated_at=moment)
        .execution_options(synchronize_session=False)
    )
    claimed = bool(result.rowcount)  # type: ignore[attr-defined]
    if claimed:
        job = session.get(RosterSync, sync_id)
        if job is not None:
            session.refresh(job)
    return claimed


def pending_sync_ids(session: Session, *, now: datetime | None = None) -> list[int]:
    """Queued jobs, oldest first (stale running ones are failed on the way, so their course frees up)."""
    moment = now or utcnow()
    for job in session.scalars(select(RosterSync).where(RosterSync.status == RUNNING)):
        if _is_stale(job, moment):
            fail(job, INTERRUPTED, now=moment)
    session.flush()
    queued = select(RosterSync.id).where(RosterSync.status == QUEUED).order_by(RosterSync.id)
    return list(session.scalars(queued))


def _counts(summary: RosterSummary) -> dict[str, object]:
    return {
        "processed": summary.processed, "added": summary.added, "updated": summary.updated,
        "deactivated": summary.deactivated, "unchanged": summary.unchanged, "skipped": summary.skipped,
        "enriched": summary.enriched, "notice": summary.notice,
    }


def record_progress(
    session: Session, sync_id: int, summary: RosterSummary, *, now: datetime | None = None
) -> None:
    """Save the counts so far; ``updated_at`` is the heartbeat that tells a live job from a dead one.
    One UPDATE, no reload of the job: it runs after every batch."""
    session.execute(
        update(RosterSync)
        .where(RosterSync.id == sync_id)
        .values(updated_at=now or utcnow(), **_counts(summary))
        .execution_options(synchronize_session=False)
    )


def finish(job: RosterSync, summary: RosterSummary, *, now: datetime | None = None) -> None:
    moment = now or utcnow()
    for name, value in _counts(summary).items():
        setattr(job, name, value)
    job.updated_at = moment
    job.total = summary.processed
    job.status = DONE
    job.finished_at = moment


def fail(job: RosterSync, message: str, *, now: datetime | None = None) -> None:
    moment = now or utcnow()
    job.status = FAILED
    job.error = message[:2000]
    job.finished_at = moment
    job.updated_at = moment
