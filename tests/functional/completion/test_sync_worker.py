"""The sync worker against the test platform's real AGS endpoints: delivery, the line item found or created,
one token per platform and scope, and the outbox under faults (503s, 429 with Retry-After, timeouts, an
outage, a worker killed between send and mark, two workers at once)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms_clients import scopes as lti_scopes
from lms_clients.token import TokenCache
from lti_app.models.base import utcnow
from lti_app.models.completion import Completion, SyncJob
from lti_app.models.course import Placement
from lti_app.services.completion import outbox, tracker
from lti_app.tasks.sync_worker import SyncWorker, WorkerConfig
from tests.factories.completion import Gradebook, connect, enrol, meetings, pair_up, programme_with_rule, rule
from tests.platform.faults import Fault

MET_WHEN_COMPLETED = rule({"kind": "relationship_completed"})


class Clock:
    """The worker's clock, moved by the test: backoff is checked without waiting for it."""

    def __init__(self) -> None:
        self._now: datetime | None = None

    @property
    def now(self) -> datetime:
        # Frozen at first use, so jobs queued by the test before that are already due.
        if self._now is None:
            self._now = utcnow()
        return self._now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self._now = self.now + timedelta(**delta)

    def to(self, moment: datetime) -> None:
        self._now = max(self.now, moment) + timedelta(milliseconds=1)


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs, no except clause catches it."""


@pytest.fixture()
def book(app, db_session, lti_platform) -> Gradebook:  # type: ignore[no-untyped-def]
    found = connect(lti_platform)
    db_session.commit()
    return found


@pytest.fixture()
def clock() -> Clock:
    return Clock()


def worker(app, clock: Clock, session=None, **config: object) -> SyncWorker:  # type: ignore[no-untyped-def]
    from lti_app.extensions import db

    options: dict[str, object] = {"concurrency": 4, "batch_size": 50, "read_timeout": 5.0}
    options.update(config)
    return SyncWorker(
        session or db.session(),
        app.extensions["tandem.settings"].secret_key,
        config=WorkerConfig(**options),  # type: ignore[arg-type]
        clock=clock,
        jitter=lambda ceiling: ceiling,  # deterministic backoff: the ceiling itself
        token_cache=TokenCache(),
        worker_id=f"test-{id(clock)}",
    )


def completed_learners(book: Gradebook, db_session, count: int, programme=None):  # type: ignore[no-untyped-def]
    """``count`` learners whose relationship is completed: each has one pending job."""
    programme = programme or programme_with_rule(MET_WHEN_COMPLETED, course=book.course, title="Leaders")
    mentor = enrol(book.course)
    people = [book.learner() for _ in range(count)]
    for person in people:
        pair_up(programme, mentor, person, status="completed")
    tracker.refresh_programme(db_session, programme.id)
    db_session.commit()
    return programme, people


def jobs(db_session, person=None) -> list[SyncJob]:  # type: ignore[no-untyped-def]
    db_session.expire_all()
    query = select(SyncJob).order_by(SyncJob.id)
    if person is not None:
        query = query.where(SyncJob.person_id == person.id)
    return list(db_session.scalars(query))


def run_until_settled(w: SyncWorker, clock: Clock, db_session, *, rounds: int = 20) -> int:  # type: ignore[no-untyped-def]
    """Run, then move the clock to the next due job, until nothing is pending; returns the runs made."""
    for attempt in range(1, rounds + 1):
        w.run_once()
        db_session.expire_all()
        due = db_session.scalar(select(SyncJob.next_attempt_at).where(SyncJob.status == "pending").limit(1))
        if due is None:
            return attempt
        clock.to(due)
    raise AssertionError("jobs still pending")


# ------------------------------------------------------------------------------------------- delivery


def test_scores_reach_the_gradebook_with_one_token(app, db_session, book, clock) -> None:
    programme, people = completed_learners(book, db_session, 3)
    with worker(app, clock) as w:
        report = w.run_once()
        assert (report.claimed, report.sent, report.failed) == (3, 3, 0)
        assert w.run_once().claimed == 0
    platform = book.platform
    assert platform.count("token") == 1, "one token request per platform and scope set"
    # No line item yet: the worker looked for it (resource link + tag), found none, created it.
    assert platform.count("lineitems", method="GET") == 1
    assert platform.count("lineitems", method="POST") == 1
    db_session.refresh(programme)
    item = next(i for i in platform.line_items.values() if i.tag == "tandem-completion")
    assert item.resource_id == f"tandem-programme-{programme.id}" and item.score_maximum == 100
    assert programme.lineitem_url == platform.lineitem_url(item, book.config)
    for person in people:
        score = platform.final_score(book.user(person), item.id)
        assert score is not None
        assert (score.score_given, score.score_maximum) == (100.0, 100.0)
        assert (score.activity_progress, score.grading_progress) == ("Completed", "FullyGraded")
        completion = db_session.scalars(select(Completion).where(Completion.person_id == person.id)).one()
        assert score.score.at == completion.changed_at
    assert {j.status for j in jobs(db_session)} == {"sent"}
    assert all(j.lineitem_url == programme.lineitem_url and j.sent_at for j in jobs(db_session))


def test_the_deep_linked_line_item_is_found_by_resource_link_and_tag(app, db_session, book, clock) -> None:
    platform = book.platform
    link = platform.add_resource_link(book.lms_course, "Mentoring", line_item=False)
    item = platform.add_line_item(
        book.lms_course, "Mentoring", 100, resource_link_id=link.id, tag="tandem-completion"
    )
    platform.add_line_item(
        book.lms_course, "Other column", 10, resource_link_id=link.id, tag="something-else"
    )
    placement = Placement(course_id=book.course.id, resource_link_id=link.id, title="Mentoring")
    db_session.add(placement)
    db_session.flush()
    programme = programme_with_rule(MET_WHEN_COMPLETED, course=book.course, placement_id=placement.id)
    _, [person] = completed_learners(book, db_session, 1, programme)
    with worker(app, clock) as w:
        assert w.run_once().sent == 1
    assert platform.count("lineitems", method="POST") == 0
    assert platform.final_score(book.user(person), item.id) is not None


def test_progress_is_reported_while_not_met_when_the_rule_says_so(app, db_session, book, clock) -> None:
    programme = programme_with_rule(
        rule({"kind": "meetings", "count": 2}, report_progress=True, score_mode="share"), course=book.course
    )
    mentor, person = enrol(book.course), book.learner()
    rel = pair_up(programme, mentor, person)
    tracker.refresh_programme(db_session, programme.id)
    db_session.commit()
    with worker(app, clock) as w:
        w.run_once()
        meetings(rel, mentor, 2)
        tracker.refresh_people(db_session, programme.id, [person.id])
        db_session.commit()
        clock.advance(minutes=1)
        w.run_once()
    first, last = book.platform.scores_for(book.user(person))
    assert (first.activity_progress, first.grading_progress) == ("InProgress", "Pending")
    assert first.score_given is None, "not FullyGraded: the gradebook keeps no value yet"
    assert (last.activity_progress, last.grading_progress, last.score_given) == (
        "Completed",
        "FullyGraded",
        100.0,
    )


# --------------------------------------------------------------------------------------------- faults


def test_503_three_times_then_success(app, db_session, book, clock) -> None:
    _, [person] = completed_learners(book, db_session, 1)
    book.platform.faults.add("scores", [503, 503, 503])
    with worker(app, clock, backoff_base=10.0) as w:
        delays = []
        for _ in range(3):
            start = clock.now
            report = w.run_once()
            assert report.retried == 1
            [job] = jobs(db_session, person)
            assert job.status == "pending" and "503" in job.last_error and job.last_http_status == 503
            delays.append((job.next_attempt_at - start).total_seconds())
            assert w.run_once().claimed == 0, "not due before its backoff"
            clock.to(job.next_attempt_at)
        assert w.run_once().sent == 1
    assert delays == [10.0, 20.0, 40.0], "exponential backoff"
    [job] = jobs(db_session, person)
    assert (job.status, job.attempts, job.last_error) == ("sent", 4, "")
    assert book.platform.count("scores") == 4
    assert len(book.platform.scores_for(book.user(person))) == 1


def test_429_honours_retry_after(app, db_session, book, clock) -> None:
    _, [person] = completed_learners(book, db_session, 1)
    book.platform.faults.add("scores", Fault.rate_limited(retry_after=120))
    with worker(app, clock, backoff_base=10.0) as w:
        before = clock.now
        assert w.run_once().retried == 1
        [job] = jobs(db_session, person)
        assert job.next_attempt_at - before >= timedelta(seconds=120), (
            "Retry-After wins over the 10 s backoff"
        )
        clock.advance(seconds=60)
        assert w.run_once().claimed == 0
        clock.to(job.next_attempt_at)
        assert w.run_once().sent == 1
    assert len(book.platform.scores_for(book.user(person))) == 1


def test_a_timeout_is_retried_and_the_score_counts_once(app, db_session, book, clock) -> None:
    _, [person] = completed_learners(book, db_session, 1)
    book.platform.faults.add("scores", Fault.slow(1.5))
    with worker(app, clock, read_timeout=0.3) as w:
        report = w.run_once()
        assert report.retried == 1
        [job] = jobs(db_session, person)
        assert "did not answer in time" in job.last_error
        clock.to(job.next_attempt_at)
        assert w.run_once().delivered == 1
    # The slow request was still answered by the LMS after the tool gave up on it: wait for it to land.
    deadline = time.monotonic() + 10
    while book.platform.count("scores") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert book.platform.count("scores") == 2
    assert len(book.platform.scores_for(book.user(person))) == 1, "the second copy is refused as a repeat"
    assert jobs(db_session, person)[0].status == "sent"


def test_lms_down_for_the_whole_run_then_back(app, db_session, book, clock) -> None:
    programme, people = completed_learners(book, db_session, 5)
    book.platform.stop()
    with worker(app, clock, max_attempts=3) as w:
        report = w.run_once()
        assert (report.claimed, report.retried, report.sent) == (5, 5, 0)
        assert all("could not be reached" in j.last_error for j in jobs(db_session))
        book.platform.start()
        runs = run_until_settled(w, clock, db_session)
    assert runs == 2, "nothing is sent before the backoff; everything on the first run after it"
    assert {j.status for j in jobs(db_session)} == {"sent"}
    assert len(book.platform.final_scores()) == 5
    assert programme.id


def test_gives_up_after_the_limit_then_a_retry_delivers(app, db_session, book, clock) -> None:
    programme, [person] = completed_learners(book, db_session, 1)
    book.platform.faults.down(endpoints=["scores"])
    with worker(app, clock, max_attempts=3) as w:
        run_until_settled(w, clock, db_session)
        [job] = jobs(db_session, person)
        assert (job.status, job.attempts) == ("failed", 3)
        assert job.last_error.startswith("Gave up after 3 attempts") and job.last_http_status == 503
        book.platform.faults.up()
        assert outbox.retry_failed(db_session, clock(), programme_id=programme.id) == 1
        db_session.commit()
        assert w.run_once().sent == 1
    assert jobs(db_session, person)[0].status == "sent"


def test_a_refused_score_fails_at_once_with_the_reason(app, db_session, book, clock) -> None:
    _, [person] = completed_learners(book, db_session, 1)
    book.platform.unenrol(book.user(person), book.lms_course)
    with worker(app, clock) as w:
        report = w.run_once()
    assert report.failed == 1
    [job] = jobs(db_session, person)
    assert (job.status, job.attempts, job.last_http_status) == ("failed", 1, 400)
    assert "HTTP 400" in job.last_error


def test_a_deleted_line_item_is_found_or_created_again(app, db_session, book, clock) -> None:
    programme, [first] = completed_learners(book, db_session, 1)
    with worker(app, clock) as w:
        w.run_once()
        db_session.refresh(programme)
        old_url = programme.lineitem_url
        book.platform.delete_line_item(next(iter(book.platform.line_items.values())))
        _, [second] = completed_learners(book, db_session, 1, programme)
        clock.advance(minutes=1)
        w.run_once()  # 404: the line item is forgotten, the job due again at once
        w.run_once()
    db_session.refresh(programme)
    assert programme.lineitem_url and programme.lineitem_url != old_url
    assert book.platform.count("lineitems", method="POST") == 2
    assert jobs(db_session, second)[0].status == "sent"
    assert first.id


def test_without_the_score_scope_jobs_fail_with_an_explanation(app, db_session, lti_platform, clock) -> None:
    book = connect(lti_platform, scopes=(lti_scopes.AGS_LINEITEM_READONLY,))
    db_session.commit()
    _, [person] = completed_learners(book, db_session, 1)
    with worker(app, clock) as w:
        assert w.run_once().failed == 1
    [job] = jobs(db_session, person)
    assert job.status == "failed" and "not allowed Tandem to send grades" in job.last_error
    assert lti_platform.count() == 0


def test_token_endpoint_trouble_is_retried(app, db_session, book, clock) -> None:
    _, [person] = completed_learners(book, db_session, 1)
    book.platform.faults.add("token", [503])
    with worker(app, clock) as w:
        assert w.run_once().retried == 1
        clock.to(jobs(db_session, person)[0].next_attempt_at)
        assert w.run_once().sent == 1


# ----------------------------------------------------------------------------------- crash and concurrency


def test_worker_killed_between_send_and_mark_then_restarted(
    app, db_session, book, clock, monkeypatch
) -> None:
    programme, people = completed_learners(book, db_session, 3)
    platform = book.platform

    def die(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise Crash()

    with monkeypatch.context() as patch, worker(app, clock) as doomed:
        patch.setattr(SyncWorker, "_settle", die)
        with pytest.raises(Crash):
            doomed.run_once()
    db_session.rollback()
    assert len(platform.received_scores) == 3, "the LMS recorded them"
    assert {j.status for j in jobs(db_session)} == {"sending"}, "the worker never marked them"

    # Meanwhile one person's completion changes again (withdrawn): a newer state is queued.
    changed = people[0]
    programme.completion_rule = rule({"kind": "meetings", "count": 5})
    tracker.refresh_people(db_session, programme.id, [p.id for p in people])
    db_session.commit()

    with worker(app, clock) as restarted:
        assert restarted.run_once().claimed == 0, "the lease still holds"
        clock.advance(minutes=6)
        restarted.run_once()
    finals = platform.final_scores()
    assert len(finals) == 3
    for person in people:
        job = jobs(db_session, person)[-1]
        assert job.status == "sent"
        final = platform.final_score(book.user(person))
        completion = db_session.scalars(select(Completion).where(Completion.person_id == person.id)).one()
        assert final.score.at == completion.changed_at, "the LMS holds the latest state"
        assert final.activity_progress == completion.activity_progress == "InProgress"
    assert changed.id
    # Every accepted score is a distinct state: the replays were refused as repeats, never counted twice.
    keys = [(s.user_id, s.timestamp) for s in platform.received_scores]
    assert len(keys) == len(set(keys)) == 6


def test_two_workers_never_send_the_same_job(app, db_session, book, clock) -> None:
    """Real threads, each with its own database connection, draining one outbox."""
    _, people = completed_learners(book, db_session, 40)
    from lti_app.extensions import db

    engine = db.engine
    errors: list[BaseException] = []
    claimed: list[int] = []
    start = threading.Barrier(2, timeout=30)

    def drain() -> None:
        try:
            with Session(engine) as session, worker(app, Clock(), session, batch_size=3) as w:
                start.wait()
                claimed.append(w.run_once().claimed)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert sum(claimed) == 40 and min(claimed) > 0, claimed
    assert book.platform.count("scores") == 40, "each job sent exactly once"
    assert len(book.platform.final_scores()) == 40
    assert {j.status for j in jobs(db_session)} == {"sent"}
    assert len(people) == 40
