"""The grade sync outbox: jobs queued in the caller's transaction, claimed under a lease, settled by
compare-and-set.

Guarantees, and how:

* **Nothing lost.** A job is written with the completion change that caused it (same transaction). It stays
  until the worker records an answer from the LMS; a worker that dies leaves a ``sending`` job whose lease
  runs out, and the next worker sends it again.
* **Nothing counted twice.** A job carries its score's AGS ``timestamp``, fixed when queued, so a replay is
  the same score (AGS keeps the latest timestamp; Moodle answers 409 to a repeat, which counts as recorded).
  Claims are exclusive: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the claiming ``UPDATE`` re-checks
  that the job is still due, and SQLite runs one writer at a time, so it is a compare-and-set. Settling
  checks ``claimed_by``, so a worker whose lease ran out cannot overwrite a newer claim.
* **Latest state wins.** One live (pending or failed) job per programme and person (partial unique index):
  a newer state supersedes the unsent one. A job is not claimed while an older one of the same person is in
  flight, and a stale job found at claim time is superseded instead of sent; timestamps strictly increase
  per person, so even an LMS that received them out of order keeps the newest.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from lti_app.models.completion import LIVE_STATUSES, Completion, SyncJob, SyncStatus
from lti_app.models.programme import Programme

PENDING = SyncStatus.PENDING.value
SENDING = SyncStatus.SENDING.value
SENT = SyncStatus.SENT.value
FAILED = SyncStatus.FAILED.value
SUPERSEDED = SyncStatus.SUPERSEDED.value

# AGS timestamps must strictly increase per person and line item (Moodle refuses an equal one).
TICK = timedelta(milliseconds=1)
ERROR_LIMIT = 2000
CLAIM_TRIES = 5


def next_timestamp(completion: Completion, now: datetime) -> datetime:
    """``now``, or just after the completion's last timestamp if the clock is behind it (several app
    servers, or two changes within one clock tick)."""
    floor = completion.changed_at + TICK if completion.changed_at else now
    return max(now, floor)


def enqueue(
    session: Session, completion: Completion, score_maximum: float, now: datetime, *, reason: str = "change"
) -> SyncJob:
    """Queue the completion's current score; any unsent job for the same person is superseded. Call with
    the completion row locked (``tracker`` does), so two transactions never queue for one person at once."""
    session.execute(
        update(SyncJob)
        .where(
            SyncJob.programme_id == completion.programme_id,
            SyncJob.person_id == completion.person_id,
            SyncJob.status.in_(LIVE_STATUSES),
        )
        .values(status=SUPERSEDED, updated_at=now)
    )
    job = SyncJob(
        programme_id=completion.programme_id,
        person_id=completion.person_id,
        completion_id=completion.id,
        status=PENDING,
        reason=reason,
        state_version=completion.version,
        state_at=completion.changed_at,
        activity_progress=completion.activity_progress,
        grading_progress=completion.grading_progress,
        score_given=completion.score_given,
        score_maximum=score_maximum,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    session.flush()
    return job


# ------------------------------------------------------------------------------------------------ claims


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(SyncJob.status == PENDING, SyncJob.next_attempt_at <= now),
        and_(SyncJob.status == SENDING, SyncJob.claimed_until < now),
    )


def claim(
    session: Session, worker: str, now: datetime, *, limit: int, lease: timedelta
) -> tuple[str, list[SyncJob]]:
    """Claim up to ``limit`` due jobs for ``lease``; returns the claim token and the jobs to send (stale
    jobs found on the way are superseded, not returned). The caller commits."""
    token = f"{worker[:40]}:{uuid.uuid4().hex[:16]}"
    sibling = aliased(SyncJob)
    in_flight = exists().where(
        sibling.programme_id == SyncJob.programme_id,
        sibling.person_id == SyncJob.person_id,
        sibling.id != SyncJob.id,
        sibling.status == SENDING,
        sibling.claimed_until >= now,
    )
    query = (
        select(SyncJob.id)
        .where(_due(now), ~in_flight)
        .order_by(SyncJob.next_attempt_at, SyncJob.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Rows another worker is claiming right now are skipped, not waited for.
        query = query.with_for_update(skip_locked=True, of=SyncJob)
    for _ in range(CLAIM_TRIES):
        ids = list(session.scalars(query))
        if not ids:
            return token, []
        # The WHERE re-checks that each job is still due: on SQLite, whose writers queue, this is the
        # compare-and-set that keeps two workers from claiming one job.
        result = session.execute(
            update(SyncJob)
            .where(SyncJob.id.in_(ids), _due(now))
            .values(
                status=SENDING,
                claimed_by=token,
                claimed_until=now + lease,
                attempts=SyncJob.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            break
        # Another worker took these first: look again rather than report an empty outbox.
    newer = aliased(SyncJob)
    stale = exists().where(
        newer.programme_id == SyncJob.programme_id,
        newer.person_id == SyncJob.person_id,
        newer.state_version > SyncJob.state_version,
        newer.status != SUPERSEDED,
    )
    session.execute(
        update(SyncJob)
        .where(SyncJob.claimed_by == token, SyncJob.status == SENDING, stale)
        .values(status=SUPERSEDED, claimed_by=None, claimed_until=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    jobs = list(
        session.scalars(
            select(SyncJob)
            .where(SyncJob.claimed_by == token, SyncJob.status == SENDING)
            .order_by(SyncJob.programme_id, SyncJob.id)
            .execution_options(populate_existing=True)
        )
    )
    return token, jobs


# ------------------------------------------------------------------------------------------- settlement


def _mine(job_ids: Iterable[int], token: str) -> ColumnElement[bool]:
    return and_(SyncJob.id.in_(list(job_ids)), SyncJob.claimed_by == token, SyncJob.status == SENDING)


def mark_sent(
    session: Session, job_ids: Sequence[int], token: str, now: datetime, *, lineitem_url: str | None,
    note: str = "",
) -> int:
    """The LMS recorded these scores (or already held them: a replay). Returns how many were still ours."""
    if not job_ids:
        return 0
    result = session.execute(
        update(SyncJob)
        .where(_mine(job_ids, token))
        .values(
            status=SENT, sent_at=now, claimed_until=None, last_error=note[:ERROR_LIMIT],
            last_http_status=None, lineitem_url=lineitem_url, updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def mark_retry(
    session: Session, job_id: int, token: str, now: datetime, *, at: datetime, error: str,
    http_status: int | None,
) -> int:
    result = session.execute(
        update(SyncJob)
        .where(_mine([job_id], token))
        .values(
            status=PENDING, next_attempt_at=at, claimed_by=None, claimed_until=None,
            last_error=error[:ERROR_LIMIT], last_http_status=http_status, updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


_other = aliased(SyncJob)


def mark_failed(
    session: Session, job_id: int, token: str, now: datetime, *, error: str, http_status: int | None
) -> int:
    """Give up until someone retries it. A newer state queued meanwhile stays the live job, so this one is
    superseded instead (the partial unique index allows one live job per person)."""
    newer_live = exists().where(
        _other.programme_id == SyncJob.programme_id,
        _other.person_id == SyncJob.person_id,
        _other.id != SyncJob.id,
        _other.status.in_(LIVE_STATUSES),
    )
    status = FAILED
    if session.scalar(select(newer_live).where(SyncJob.id == job_id)):
        status = SUPERSEDED
    result = session.execute(
        update(SyncJob)
        .where(_mine([job_id], token))
        .values(
            status=status, claimed_by=None, claimed_until=None, last_error=error[:ERROR_LIMIT],
            last_http_status=http_status, updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def release(session: Session, job_ids: Sequence[int], token: str, now: datetime) -> int:
    """Hand back jobs this worker claimed but did not send (its lease was too short to start them)."""
    if not job_ids:
        return 0
    result = session.execute(
        update(SyncJob)
        .where(_mine(job_ids, token))
        .values(
            status=PENDING, claimed_by=None, claimed_until=None, next_attempt_at=now,
            attempts=SyncJob.attempts - 1, updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ------------------------------------------------------------------------------------ retries and resends


def retry_failed(
    session: Session, now: datetime, *, programme_id: int | None = None, job_id: int | None = None
) -> int:
    """Failed jobs become due again, with a fresh attempt budget."""
    query = update(SyncJob).where(SyncJob.status == FAILED)
    if programme_id is not None:
        query = query.where(SyncJob.programme_id == programme_id)
    if job_id is not None:
        query = query.where(SyncJob.id == job_id)
    result = session.execute(
        query.values(status=PENDING, attempts=0, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def resend_programme(session: Session, programme: Programme, now: datetime) -> int:
    """Queue every reported completion of the programme again, with a fresh timestamp, so the gradebook is
    rewritten with Tandem's current state (after a gradebook reset, or a line item deleted in the LMS)."""
    completions = list(
        session.scalars(
            select(Completion)
            .where(Completion.programme_id == programme.id, Completion.reported.is_(True))
            .order_by(Completion.person_id)
            .with_for_update()
        )
    )
    for completion in completions:
        completion.changed_at = next_timestamp(completion, now)
        enqueue(session, completion, programme.score_maximum, now, reason="resend")
    return len(completions)


# ---------------------------------------------------------------------------------------------- status


@dataclass(frozen=True)
class SyncState:
    """A person's sync status on a programme, from their latest job: ``not_needed`` (nothing to report),
    ``pending`` (queued or being sent), ``sent`` (at ``at``), ``failed`` (with ``error``)."""

    status: str
    at: datetime | None = None
    error: str = ""
    attempts: int = 0
    job_id: int | None = None


NOT_NEEDED = SyncState("not_needed")


def latest_jobs(
    session: Session, programme_id: int, person_ids: Sequence[int] | None = None
) -> dict[int, SyncJob]:
    """Each person's most recent job that is not superseded, in one query."""
    newest = (
        select(SyncJob.person_id, func.max(SyncJob.id).label("job_id"))
        .where(SyncJob.programme_id == programme_id, SyncJob.status != SUPERSEDED)
        .group_by(SyncJob.person_id)
    )
    if person_ids is not None:
        newest = newest.where(SyncJob.person_id.in_(list(person_ids)))
    sub = newest.subquery()
    rows = session.scalars(select(SyncJob).join(sub, SyncJob.id == sub.c.job_id))
    return {job.person_id: job for job in rows}


def state_of(job: SyncJob | None) -> SyncState:
    if job is None:
        return NOT_NEEDED
    if job.status == SENT:
        return SyncState("sent", job.sent_at, attempts=job.attempts, job_id=job.id)
    if job.status == FAILED:
        return SyncState("failed", job.updated_at, job.last_error, job.attempts, job.id)
    return SyncState("pending", job.next_attempt_at, job.last_error, job.attempts, job.id)


def counts(session: Session, programme_id: int | None = None) -> dict[str, int]:
    query = select(SyncJob.status, func.count(SyncJob.id)).group_by(SyncJob.status)
    if programme_id is not None:
        query = query.where(SyncJob.programme_id == programme_id)
    found = {status: 0 for status in (PENDING, SENDING, SENT, FAILED, SUPERSEDED)}
    found.update({status: int(n) for status, n in session.execute(query)})
    return found
