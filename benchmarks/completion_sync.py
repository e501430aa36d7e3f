"""Completion sync at scale: 10,000 queued completions delivered to a local LTI platform answering in 20 ms.

The platform (the AGS endpoints of an LTI platform, see ``LeanPlatform``) runs in a process of its own, so
the worker's figures are its own: scores per second, token requests the platform saw, and the worker's peak
resident memory. Jobs are queued as the completion tracker queues them (one completion and one pending
job per person), then one worker drains the outbox with concurrent requests.

    python benchmarks/completion_sync.py [--count 10000] [--latency 0.02] [--concurrency 32]
        [--batch-size 500] [--database-url postgresql+psycopg://...]

Target: all delivered in under 60 s, one token request per platform and scope set.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 60.0
TOOL_URL = "http://tool.test"


# ------------------------------------------------------------------------------------ the platform process


class LeanPlatform:
    """The AGS side of an LTI platform, and nothing else: token endpoint (client assertion verified with the
    tool's JWKS, single-use jti), line items (list, create), scores (bearer token with the score scope, the
    score media type, AGS score validation, enrolled users only, 409 for a timestamp not newer than the last,
    as Moodle does). Every answer takes ``latency`` seconds. Built from the demo LMS's protocol pieces; unlike
    the test platform it keeps its gradebook indexed, so at 10,000 scores it still answers in ``latency``."""

    def __init__(self, latency: float, users: set[str]) -> None:
        from lti_app.demo_lms.tool_messages import AccessTokenStore, ReplayCache

        self.latency = latency
        self.users = users
        self.tokens = AccessTokenStore()
        self.jti = ReplayCache()
        self.tool_jwks: dict[str, Any] = {"keys": []}
        self.config: Any = None
        self.line_items: list[dict[str, Any]] = []
        self.latest: dict[str, Any] = {}  # user id → accepted score timestamp
        self.completed: set[str] = set()
        self.counts = {"token": 0, "lineitems": 0, "scores": 0, "accepted": 0}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        time.sleep(self.latency)
        try:
            status, body, content_type = self.dispatch(request)
        except Exception as exc:  # noqa: BLE001 - a refusal, as a platform would answer it
            status, body, content_type = (
                getattr(exc, "status", 400),
                json.dumps({"error": str(exc)}),
                "application/json",
            )
        return Response(body, status=status, content_type=content_type)(environ, start_response)

    def dispatch(self, request: Any) -> tuple[int, str, str]:
        from lti_app.demo_lms import vocab
        from lti_app.demo_lms.services import parse_score
        from lti_app.demo_lms.tool_messages import issue_access_token

        path = request.path
        if path == "/token":
            with self.lock:
                self.counts["token"] += 1
            answer = issue_access_token(
                self.config,
                request.form.to_dict(),
                lambda: self.tool_jwks,
                replay_cache=self.jti,
                token_store=self.tokens,
            )
            return 200, json.dumps(answer), "application/json"
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = self.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if path == "/lineitems":
            with self.lock:
                self.counts["lineitems"] += 1
            if token is None or not token.allows(vocab.SCOPE_LINEITEM, vocab.SCOPE_LINEITEM_READONLY):
                return 401, "unauthorized", "text/plain"
            if request.method == "POST":
                item = {**json.loads(request.get_data()), "id": self.url + "/lineitems/1/lineitem"}
                self.line_items.append(item)
                return 201, json.dumps(item), vocab.MEDIA_LINEITEM
            return 200, json.dumps(self.line_items), vocab.MEDIA_LINEITEM_CONTAINER
        if path == "/lineitems/1/lineitem/scores":
            with self.lock:
                self.counts["scores"] += 1
            if token is None or not token.allows(vocab.SCOPE_SCORE):
                return 401, "unauthorized", "text/plain"
            if request.mimetype != vocab.MEDIA_SCORE:
                return 400, "wrong media type", "text/plain"
            score = parse_score(json.loads(request.get_data()))
            with self.lock:
                if score.user_id not in self.users:
                    return 400, "user is not in the course", "text/plain"
                if score.user_id in self.latest and self.latest[score.user_id] >= score.at:
                    return 409, "Refusing score with an earlier timestamp", "text/plain"
                self.latest[score.user_id] = score.at
                self.counts["accepted"] += 1
                if score.activity_progress == "Completed" and score.counts_as_grade:
                    self.completed.add(score.user_id)
            return 200, "", vocab.MEDIA_SCORE
        return 404, "not found", "text/plain"


def serve_platform(conn: Any, count: int, latency: float) -> None:
    """Child process: a platform with one course of ``count`` learners; answers the parent's requests."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from lti_app.demo_lms.platform import PlatformConfig

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any) -> None:
            return None

    users = [f"u{n}" for n in range(count)]
    platform = LeanPlatform(latency, set(users))
    server = make_server("127.0.0.1", 0, platform, threaded=True, request_handler=Quiet)
    base = f"http://127.0.0.1:{server.socket.getsockname()[1]}"
    platform.url = base  # type: ignore[attr-defined]
    platform.config = PlatformConfig(
        issuer=base,
        client_id="bench-client",
        deployment_id="1",
        auth_url=base + "/auth",
        token_url=base + "/token",
        jwks_url=base + "/jwks",
        tool_login_url="",
        tool_launch_url="",
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send(
        {
            "issuer": base,
            "client_id": "bench-client",
            "deployment_id": "1",
            "auth_url": base + "/auth",
            "token_url": base + "/token",
            "jwks_url": base + "/jwks",
            "context_id": "course-1",
            "lineitems_url": base + "/lineitems",
            "users": users,
        }
    )
    while True:
        message = conn.recv()
        if message[0] == "jwks":
            platform.tool_jwks = message[1]
            conn.send("ok")
        elif message[0] == "stats":
            usage = resource.getrusage(resource.RUSAGE_SELF)
            with platform.lock:
                conn.send(
                    {
                        **platform.counts,
                        "completed": len(platform.completed),
                        "cpu": usage.ru_utime + usage.ru_stime,
                    }
                )
        else:
            server.shutdown()
            conn.send("bye")
            return


# ----------------------------------------------------------------------------------------- the worker side


def queue_jobs(session: Any, platform: dict[str, Any]) -> int:
    """Registration, course, programme, people, and one met completion with its pending job each."""
    from sqlalchemy import insert

    from lti_app.models.base import utcnow
    from lti_app.models.completion import Completion, SyncJob
    from lti_app.models.course import Course
    from lti_app.models.person import Person
    from lti_app.models.programme import Programme
    from lti_app.services.registrations import PlatformDetails, upsert_registration

    registration, _ = upsert_registration(
        session,
        PlatformDetails(
            issuer=platform["issuer"],
            client_id=platform["client_id"],
            auth_login_url=platform["auth_url"],
            auth_token_url=platform["token_url"],
            key_set_url=platform["jwks_url"],
            product_family="moodle",
        ),
        deployment_ids=[platform["deployment_id"]],
    )
    from lms_clients import scopes

    course = Course(
        registration_id=registration.id,
        context_id=platform["context_id"],
        title="Benchmark course",
        lineitems_url=platform["lineitems_url"],
        ags_scopes=list(scopes.ALL_AGS),
    )
    session.add(course)
    session.flush()
    programme = Programme(
        course_id=course.id,
        title="Benchmark programme",
        completion_rule={"conditions": [{"kind": "relationship_completed"}]},
    )
    session.add(programme)
    session.flush()
    now = utcnow()
    session.execute(
        insert(Person),
        [
            {
                "registration_id": registration.id,
                "sub": sub,
                "name": f"Learner {n}",
                "created_at": now,
                "updated_at": now,
            }
            for n, sub in enumerate(platform["users"])
        ],
    )
    people = session.execute(
        Person.__table__.select().where(Person.registration_id == registration.id).order_by(Person.id)
    ).all()
    state_at = now - timedelta(minutes=1)
    session.execute(
        insert(Completion),
        [
            {
                "programme_id": programme.id,
                "person_id": p.id,
                "role": "mentee",
                "met": True,
                "conditions_met": 1,
                "conditions_total": 1,
                "progress": [],
                "summary": "relationship completed",
                "activity_progress": "Completed",
                "grading_progress": "FullyGraded",
                "score_given": 100.0,
                "version": 1,
                "changed_at": state_at,
                "evaluated_at": now,
                "reported": True,
                "created_at": now,
                "updated_at": now,
            }
            for p in people
        ],
    )
    completions = dict(
        (row.person_id, row.id)
        for row in session.execute(
            Completion.__table__.select().where(Completion.programme_id == programme.id)
        )
    )
    session.execute(
        insert(SyncJob),
        [
            {
                "programme_id": programme.id,
                "person_id": p.id,
                "completion_id": completions[p.id],
                "status": "pending",
                "reason": "change",
                "state_version": 1,
                "state_at": state_at,
                "activity_progress": "Completed",
                "grading_progress": "FullyGraded",
                "score_given": 100.0,
                "score_maximum": 100.0,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
                "created_at": now,
                "updated_at": now,
            }
            for p in people
        ],
    )
    session.commit()
    return len(people)


def fresh_database(server_url: str) -> tuple[str, str]:
    """A new PostgreSQL database on the given server, so the benchmark never touches existing data."""
    import uuid

    from sqlalchemy import create_engine, make_url, text

    name = f"tandem_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds the platform takes per request")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server to create a scratch database on; default SQLite",
    )
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(
        target=serve_platform, args=(child, args.count, args.latency), daemon=True
    )
    server.start()
    platform = parent.recv()

    from config.settings import Settings
    from lti_app import create_app
    from lti_app.crypto import SecretBox
    from lti_app.extensions import db
    from lti_app.services.keys import published_jwks, signing_key
    from lti_app.tasks.sync_worker import SyncWorker, WorkerConfig

    workdir = Path(tempfile.mkdtemp(prefix="tandem-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite'}"
    scratch = fresh_database(database_url) if database_url.startswith("postgresql") else None
    if scratch is not None:
        database_url = scratch[1]
    settings = Settings(
        env="test",
        database_url=database_url,
        secret_key="benchmark-secret-key-" + "x" * 20,
        base_url=TOOL_URL,
        instance_dir=workdir,
        log_level="WARNING",
    )
    app = create_app(settings)
    with app.app_context():
        db.drop_all()
        db.create_all()
        session = db.session()
        signing_key(session, SecretBox(settings.secret_key))
        session.commit()
        parent.send(("jwks", published_jwks(session)))
        parent.recv()
        queued = queue_jobs(session, platform)
        print(
            f"queued {queued} completions; platform latency {args.latency * 1000:.0f} ms; "
            f"{args.concurrency} concurrent requests, batches of {args.batch_size}; "
            f"database {db.engine.dialect.name}"
        )
        config = WorkerConfig(batch_size=args.batch_size, concurrency=args.concurrency)
        started = time.perf_counter()
        with SyncWorker(session, settings.secret_key, config=config) as worker:
            report = worker.run_once()
        elapsed = time.perf_counter() - started
        db.drop_all()
        db.engine.dispose()
    if scratch is not None:
        drop_database(args.database_url, scratch[0])
    parent.send(("stats",))
    stats = parent.recv()
    parent.send(("stop",))
    parent.recv()
    server.join(timeout=10)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = report.delivered / elapsed
    print(f"delivered {report.delivered} of {queued} in {elapsed:.1f} s: {rate:.0f} scores/s")
    print(
        f"platform saw {stats['scores']} score POSTs, accepted {stats['accepted']}, "
        f"people Completed in its gradebook {stats['completed']}, line item requests {stats['lineitems']}"
    )
    print(f"token requests: {stats['token']}")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"CPU seconds: worker {usage.ru_utime + usage.ru_stime:.1f}, platform {stats['cpu']:.1f}")
    print(f"worker peak resident memory: {peak_mb:.0f} MB")
    ok = (
        report.delivered == queued
        and stats["completed"] == queued
        and stats["scores"] == queued
        and stats["token"] == 1
        and elapsed < TARGET_SECONDS
    )
    print(
        f"target (all {queued} in < {TARGET_SECONDS:.0f} s, one token request): {'met' if ok else 'NOT met'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
