"""The completion sync worker: drains the outbox into the LMS gradebook over AGS.

One batch is: claim due jobs under a lease (commit) → find or create each programme's line item → post the
scores concurrently → settle every job by compare-and-set (commit). Database work stays on the calling
thread; only HTTP runs in the pool. Dying anywhere in between loses nothing: claimed jobs come back when the
lease runs out and are sent again with the same timestamp, which the LMS either records or recognises.

Failures are sorted, not guessed at: 429, 5xx, timeouts and unreachable platforms are retried with
exponential backoff and jitter (honouring ``Retry-After``) up to ``max_attempts``; a 409 on a score means
the LMS already holds it or a newer one; a 404 means the line item is gone, so it is found or created again;
other refusals (400, 401, 403) fail at once with the platform's reason, for a trainer or admin to act on.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms_clients import scopes as lti_scopes
from lms_clients.ags import AssignmentGradesClient, LineItem, Score
from lms_clients.errors import LMSRequestError
from lms_clients.http import LMSHttp
from lms_clients.token import DEFAULT_TOKEN_CACHE, ServiceRegistration, SigningKey, TokenCache, TokenClient
from lti_app.crypto import SecretBox
from lti_app.models.base import utcnow
from lti_app.models.completion import SyncJob
from lti_app.models.course import Course, Placement
from lti_app.models.person import Person
from lti_app.models.programme import Programme
from lti_app.models.registration import Registration
from lti_app.services.completion import outbox, tracker
from lti_app.services.completion.placements import CUSTOM_PROGRAMME, resource_id
from lti_app.services.keys import signing_key

log = logging.getLogger("tandem.sync")

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# Scopes the worker uses; one token for all of them per platform (the course's grant decides which).
WORKER_SCOPES = (lti_scopes.AGS_LINEITEM, lti_scopes.AGS_LINEITEM_READONLY, lti_scopes.AGS_SCORE)

SENT, ALREADY, RETRY, FAIL, GONE, RELEASE = "sent", "already", "retry", "fail", "gone", "release"


@dataclass(frozen=True)
class WorkerConfig:
    batch_size: int = 200
    concurrency: int = 16
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 12
    backoff_base: float = 10.0
    backoff_max: float = 3600.0
    connect_timeout: float = 5.0
    read_timeout: float = 20.0

    @property
    def request_budget(self) -> timedelta:
        """The longest one score POST may take (with its token request): a job is only started when its
        lease outlasts this, so a slow LMS never makes two workers hold one job."""
        return timedelta(seconds=2 * (self.connect_timeout + self.read_timeout))


@dataclass
class RunReport:
    batches: int = 0
    claimed: int = 0
    sent: int = 0
    already: int = 0
    retried: int = 0
    failed: int = 0
    released: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return self.sent + self.already

    def add(self, other: RunReport) -> None:
        for name in ("batches", "claimed", "sent", "already", "retried", "failed", "released"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)


class NotSyncable(Exception):  # noqa: N818 - a reason, shown to trainers
    """The programme cannot be synced until someone changes something in the LMS or Tandem."""


@dataclass(frozen=True)
class Delivery:
    """A claimed job as plain data: worker threads never touch the ORM session."""

    job_id: int
    programme_id: int
    person_id: int
    attempts: int
    claimed_until: datetime
    state_at: datetime
    activity_progress: str
    grading_progress: str
    score_given: float | None
    score_maximum: float


@dataclass(frozen=True)
class Target:
    lineitem_url: str
    grades: AssignmentGradesClient


@dataclass(frozen=True)
class Result:
    delivery: Delivery
    kind: str
    error: str = ""
    http_status: int | None = None
    retry_after: float | None = None
    lineitem_url: str | None = None


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SyncWorker:
    """Drains the outbox with one database session (this thread) and a pool of HTTP threads."""

    def __init__(
        self,
        session: Session,
        secret_key: str,
        *,
        config: WorkerConfig | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        jitter: Callable[[float], float] | None = None,
        token_cache: TokenCache | None = None,
    ) -> None:
        self.session = session
        self.config = config or WorkerConfig()
        self.worker_id = worker_id or default_worker_id()
        self._box = SecretBox(secret_key)
        self._clock = clock
        # Delays are drawn between half and all of the exponential ceiling ("equal jitter"): spread out,
        # yet never an immediate retry.
        self._jitter = jitter or (lambda ceiling: random.uniform(ceiling / 2, ceiling))
        self._token_cache = token_cache if token_cache is not None else DEFAULT_TOKEN_CACHE
        self._http = LMSHttp(
            connect_timeout=self.config.connect_timeout,
            read_timeout=self.config.read_timeout,
            max_attempts=1,  # retries are the outbox's: durable, spaced, and they survive a restart
            pool_maxsize=max(self.config.concurrency, 4),
        )
        self._pool = ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="tandem-sync")
        self._clients: dict[tuple[int, tuple[str, ...]], AssignmentGradesClient] = {}
        self._key: SigningKey | None = None

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._http.close()

    def __enter__(self) -> SyncWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------ loops

    def run_once(self, *, max_batches: int | None = None) -> RunReport:
        """Send every job due now, batch after batch; jobs scheduled for later are left for later."""
        report = RunReport()
        while max_batches is None or report.batches < max_batches:
            batch = self.run_batch()
            if not batch.claimed:
                break
            report.add(batch)
        return report

    def run_forever(
        self,
        stop: threading.Event,
        *,
        poll_seconds: float = 5.0,
        sweep_every: timedelta = timedelta(minutes=15),
    ) -> None:
        """Until ``stop`` is set: sweep now and then, drain, and wait a little when there was nothing."""
        last_sweep: datetime | None = None
        while not stop.is_set():
            try:
                now = self._clock()
                if last_sweep is None or now - last_sweep >= sweep_every:
                    self.sweep()
                    last_sweep = now
                claimed = self.run_batch().claimed
            except Exception:  # noqa: BLE001 - a worker outlives a database or LMS hiccup
                self.session.rollback()
                log.exception("sync batch failed; trying again shortly")
                claimed = 0
            if not claimed:
                stop.wait(poll_seconds)

    def sweep(self) -> int:
        """Re-evaluate completions time may have changed (see ``tracker.sweep``); commits."""
        count = tracker.sweep(self.session, now=self._clock())
        self.session.commit()
        if count:
            log.info("sync sweep re-evaluated %d completion(s)", count)
        return count

    # ------------------------------------------------------------------------------------------ batch

    def run_batch(self) -> RunReport:
        report = RunReport(batches=1)
        now = self._clock()
        token, jobs = outbox.claim(
            self.session, self.worker_id, now, limit=self.config.batch_size, lease=self.config.lease
        )
        deliveries = [_delivery(job) for job in jobs]
        self.session.commit()
        report.claimed = len(deliveries)
        if not deliveries:
            return report
        self._key = signing_key(self.session, self._box)
        self.session.commit()
        targets = self._targets({d.programme_id for d in deliveries})
        rows = self.session.execute(
            select(Person.id, Person.sub).where(Person.id.in_({d.person_id for d in deliveries}))
        )
        subs = {person_id: sub for person_id, sub in rows}
        self.session.commit()
        results: list[Result] = []
        sends: list[tuple[Delivery, Target, str]] = []
        for delivery in deliveries:
            target = targets[delivery.programme_id]
            if isinstance(target, Result):
                results.append(
                    Result(delivery, target.kind, target.error, target.http_status, target.retry_after)
                )
            else:
                sends.append((delivery, target, subs.get(delivery.person_id, "")))
        results.extend(self._pool.map(lambda args: self._send(*args), sends))
        self._settle(token, results, report)
        self.session.commit()
        log.info(
            "sync batch: claimed=%d sent=%d already=%d retried=%d failed=%d released=%d",
            report.claimed, report.sent, report.already, report.retried, report.failed, report.released,
        )
        return report

    def _send(self, delivery: Delivery, target: Target, sub: str) -> Result:
        if self._clock() + self.config.request_budget > delivery.claimed_until:
            return Result(delivery, RELEASE)
        try:
            score = Score(
                user_id=sub,
                score_given=delivery.score_given,
                score_maximum=delivery.score_maximum,
                activity_progress=delivery.activity_progress,
                grading_progress=delivery.grading_progress,
                timestamp=delivery.state_at,
            )
            target.grades.post_score(target.lineitem_url, score)
        except LMSRequestError as exc:
            if exc.status == 409:
                # Moodle refuses a score whose timestamp is not newer than the one it holds: this very
                # score (a replay after a crash) or a newer one. Either way the LMS is up to date.
                return Result(delivery, ALREADY, lineitem_url=target.lineitem_url)
            if exc.status == 404:
                return Result(delivery, GONE, str(exc), 404, lineitem_url=target.lineitem_url)
            return _classified(delivery, exc)
        except ValueError as exc:  # a score AGS would refuse (e.g. a person without an LMS user id)
            return Result(delivery, FAIL, f"Tandem could not build this score: {exc}")
        return Result(delivery, SENT, lineitem_url=target.lineitem_url)

    # ---------------------------------------------------------------------------------- settlement

    def _settle(self, token: str, results: Iterable[Result], report: RunReport) -> None:
        now = self._clock()
        delivered: dict[tuple[str | None, str], list[int]] = defaultdict(list)
        released: list[int] = []
        for result in results:
            job_id = result.delivery.job_id
            if result.kind in (SENT, ALREADY):
                note = "" if result.kind == SENT else "The LMS already held this score or a newer one."
                delivered[(result.lineitem_url, note)].append(job_id)
                if result.kind == SENT:
                    report.sent += 1
                else:
                    report.already += 1
            elif result.kind == RELEASE:
                released.append(job_id)
            elif result.kind == GONE:
                # The line item was deleted in the LMS: forget it, find or create it again right away.
                self.session.execute(
                    update(Programme)
                    .where(
                        Programme.id == result.delivery.programme_id,
                        Programme.lineitem_url == result.lineitem_url,
                    )
                    .values(lineitem_url=None)
                    .execution_options(synchronize_session=False)
                )
                self._retry_or_fail(token, result, now, report, at=now)
            elif result.kind == RETRY:
                self._retry_or_fail(token, result, now, report)
            else:
                outbox.mark_failed(self.session, job_id, token, now, error=result.error,
                                   http_status=result.http_status)
                report.failed += 1
                report.errors.append(result.error)
                log.warning("sync job %d (programme %d) failed: %s", job_id, result.delivery.programme_id,
                            result.error)
        for (lineitem_url, note), ids in delivered.items():
            outbox.mark_sent(self.session, ids, token, now, lineitem_url=lineitem_url, note=note)
        report.released += outbox.release(self.session, released, token, now)

    def _retry_or_fail(
        self, token: str, result: Result, now: datetime, report: RunReport, *, at: datetime | None = None
    ) -> None:
        delivery = result.delivery
        if delivery.attempts >= self.config.max_attempts:
            error = f"Gave up after {delivery.attempts} attempts: {result.error}"
            outbox.mark_failed(self.session, delivery.job_id, token, now, error=error,
                               http_status=result.http_status)
            report.failed += 1
            report.errors.append(error)
            log.warning("sync job %d (programme %d) failed after %d attempts (HTTP %s)", delivery.job_id,
                        delivery.programme_id, delivery.attempts, result.http_status)
            return
        when = at or now + self.backoff(delivery.attempts, result.retry_after)
        outbox.mark_retry(self.session, delivery.job_id, token, now, at=when, error=result.error,
                          http_status=result.http_status)
        report.retried += 1

    def backoff(self, attempt: int, retry_after: float | None = None) -> timedelta:
        """Exponential in the attempt number, jittered, capped; never sooner than the LMS's Retry-After."""
        ceiling = min(self.config.backoff_max, self.config.backoff_base * (2 ** max(attempt - 1, 0)))
        delay = self._jitter(ceiling)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return timedelta(seconds=delay)

    # ----------------------------------------------------------------------------------- line items

    def _targets(self, programme_ids: Iterable[int]) -> dict[int, Target | Result]:
        """Each programme's line item and client, or the reason its jobs cannot be sent now."""
        found: dict[int, Target | Result] = {}
        dummy = Delivery(0, 0, 0, 0, self._clock(), self._clock(), "", "", None, 1.0)
        for programme_id in sorted(programme_ids):
            try:
                found[programme_id] = self._target(programme_id)
            except NotSyncable as exc:
                self.session.rollback()
                found[programme_id] = Result(dummy, FAIL, str(exc))
            except LMSRequestError as exc:
                self.session.rollback()
                found[programme_id] = _classified(dummy, exc)
        return found

    def _target(self, programme_id: int) -> Target:
        programme = self.session.get(Programme, programme_id)
        if programme is None:
            raise NotSyncable("The programme no longer exists.")
        course = self.session.get(Course, programme.course_id)
        assert course is not None
        registration = self.session.get(Registration, course.registration_id)
        assert registration is not None
        granted = set(course.ags_scopes or ())
        if lti_scopes.AGS_SCORE not in granted:
            raise NotSyncable(
                "The LMS has not allowed Tandem to send grades in this course (no AGS score scope in the "
                "last launch). In Moodle, set the tool's \u201cIMS LTI Assignment and Grade Services\u201d "
                "to use this service for grade sync, launch Tandem again, then resend."
            )
        grades = self._grades_for(registration, tuple(s for s in WORKER_SCOPES if s in granted))
        url = programme.lineitem_url or self._find_or_create(programme, course, grades, granted)
        return Target(url, grades)

    def _find_or_create(
        self, programme: Programme, course: Course, grades: AssignmentGradesClient, granted: set[str]
    ) -> str:
        placement = _placement_of(self.session, programme)
        if placement is not None and placement.lineitem_url:
            programme.lineitem_url = placement.lineitem_url
            self.session.commit()
            return placement.lineitem_url
        if not course.lineitems_url:
            raise NotSyncable("The LMS has not told Tandem where this course's gradebook is (no line items "
                              "URL yet): launch Tandem from the course once, then resend.")
        if self.session.get_bind().dialect.name == "postgresql":
            # One worker creates the line item; another waits here and then finds it set.
            self.session.execute(select(Programme.id).where(Programme.id == programme.id).with_for_update())
            self.session.refresh(programme)
            if programme.lineitem_url:
                url = programme.lineitem_url
                self.session.commit()
                return url
        link_id = placement.resource_link_id if placement is not None else None
        wanted = resource_id(programme)
        items = grades.list_line_items(
            course.lineitems_url, resource_link_id=link_id, tag=programme.lineitem_tag,
            resource_id=None if link_id else wanted,
        )
        items.sort(key=lambda item: item.resource_id != wanted)
        if items and items[0].id:
            url = items[0].id
        elif lti_scopes.AGS_LINEITEM in granted:
            created = grades.create_line_item(
                course.lineitems_url,
                LineItem(
                    label=f"{programme.title} (mentoring completion)"[:255],
                    score_maximum=programme.score_maximum,
                    resource_id=wanted,
                    tag=programme.lineitem_tag,
                    resource_link_id=link_id,
                ),
            )
            if not created.id:
                raise NotSyncable("The LMS created the gradebook column but did not say where it is.")
            url = created.id
            log.info("created the line item of programme %d", programme.id)
        else:
            raise NotSyncable("The LMS has no gradebook column for this programme and does not let Tandem "
                              "create one (no line item scope). Add Tandem again with deep linking, or "
                              "allow the tool to manage line items.")
        programme.lineitem_url = url
        self.session.commit()
        return url

    def _grades_for(self, registration: Registration, scopes: tuple[str, ...]) -> AssignmentGradesClient:
        key = (registration.id, scopes)
        client = self._clients.get(key)
        if client is None:
            service = ServiceRegistration(
                issuer=registration.issuer,
                client_id=registration.client_id,
                token_url=registration.auth_token_url,
                audience=registration.auth_audience,
            )
            tokens = TokenClient(service, self._signing_key, self._http, cache=self._token_cache)
            client = AssignmentGradesClient(self._http, tokens, shared_scopes=scopes)
            self._clients[key] = client
        return client

    def _signing_key(self) -> SigningKey:
        # Loaded on this thread at the start of each batch: worker threads never open the database.
        assert self._key is not None, "signing key not loaded"
        return self._key


# --------------------------------------------------------------------------------------------- helpers


def _delivery(job: SyncJob) -> Delivery:
    assert job.claimed_until is not None
    return Delivery(
        job_id=job.id,
        programme_id=job.programme_id,
        person_id=job.person_id,
        attempts=job.attempts,
        claimed_until=job.claimed_until,
        state_at=job.state_at,
        activity_progress=job.activity_progress,
        grading_progress=job.grading_progress,
        score_given=job.score_given,
        score_maximum=job.score_maximum,
    )


def _classified(delivery: Delivery, exc: LMSRequestError) -> Result:
    transient = exc.status is None or exc.status in RETRY_STATUSES
    return Result(delivery, RETRY if transient else FAIL, str(exc), exc.status, exc.retry_after)


def _placement_of(session: Session, programme: Programme) -> Placement | None:
    """The resource link the programme lives in: bound, or named by a link's custom parameter."""
    if programme.placement_id is not None:
        return session.get(Placement, programme.placement_id)
    for placement in session.scalars(select(Placement).where(Placement.course_id == programme.course_id)):
        custom = placement.custom or {}
        if str(custom.get(CUSTOM_PROGRAMME, "")).strip() == str(programme.id):
            return placement
    return None
