"""Roster sync at course scale: members per second and peak memory, against a local NRPS platform.

The platform runs on loopback in a thread of the benchmark process: a token endpoint that verifies the
tool's client assertion with the tool's published JWKS, and a membership container generated on the fly
(Moodle-shaped: short role names, ``Link: rel="next"``), in pages of 100. Members are generated, not
stored, so the platform's own memory stays flat and what grows (or not) is the tool's.

Each size runs in a fresh process, twice: a plain run for the timings and the resident peak (ru_maxrss),
and a run under tracemalloc for the Python-level peak. Every run syncs the course twice through the job
runner (``lti_app.tasks.roster.run_sync``, committing per batch): a first sync that creates everyone, then
a resync where nothing changed.

    python benchmarks/roster_sync.py [--sizes 1000,5000,10000] [--database-url URL]

With a PostgreSQL URL (``postgresql+psycopg://postgres@127.0.0.1:5432/test``) a scratch database is
created next to the named one and dropped at the end; without one, a temporary SQLite file is used.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from jwt.algorithms import RSAAlgorithm

PAGE = 100
TARGET_SECONDS = 10.0  # for 10,000 members, first sync
MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
ROLES = ("Learner",) * 18 + ("Instructor", "Mentor")


class Platform(ThreadingHTTPServer):
    """A token endpoint and one course's NRPS roster of ``members`` generated people."""

    daemon_threads = True

    def __init__(self, members: int, client_id: str, tool_jwks: dict[str, Any]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.members = members
        self.client_id = client_id
        self.keys = {k["kid"]: RSAAlgorithm.from_jwk(json.dumps(k)) for k in tool_jwks["keys"]}
        self.tokens_issued = 0
        self.pages_served = 0

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class Handler(BaseHTTPRequestHandler):
    server: Platform
    protocol_version = "HTTP/1.1"  # keep-alive, as a real platform behind a load balancer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        assertion = form.get("client_assertion", "")
        try:
            kid = jwt.get_unverified_header(assertion)["kid"]
            audience = self.server.base_url + "/token"
            claims = jwt.decode(assertion, self.server.keys[kid], algorithms=["RS256"], audience=audience)
            assert claims["iss"] == claims["sub"] == self.server.client_id
        except Exception as exc:  # noqa: BLE001 - any doubt about the assertion is a refusal
            body = json.dumps({"error": "invalid_client", "error_description": str(exc)}).encode()
            self._send(401, body, "application/json")
            return
        self.server.tokens_issued += 1
        answer = {"access_token": uuid.uuid4().hex, "token_type": "Bearer", "expires_in": 3600,
                  "scope": form.get("scope", "")}
        self._send(200, json.dumps(answer).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            self._send(401, b"Unauthorized", "text/plain")
            return
        limit = min(int(query.get("limit") or PAGE), PAGE)
        start = int(query.get("from") or 0)
        end = min(start + limit, self.server.members)
        members = [
            {
                "status": "Active",
                "roles": [ROLES[i % len(ROLES)]],
                "user_id": str(i + 2),
                "lis_person_sourcedid": "",
                "name": f"Person{i} Example",
                "given_name": f"Person{i}",
                "family_name": "Example",
                "email": f"person{i}@example.test",
            }
            for i in range(start, end)
        ]
        url = self.server.base_url + parts.path
        document = {"id": url, "context": {"id": "2", "label": "BENCH", "title": "Benchmark course"},
                    "members": members}
        headers = {}
        if end < self.server.members:
            headers["Link"] = f'<{url}?{urlencode({"limit": limit, "from": end})}>; rel="next"'
        self.server.pages_served += 1
        self._send(200, json.dumps(document).encode(), MEMBERSHIP_CONTAINER + "; charset=utf-8", headers)


def child(members: int, database_url: str, trace: bool) -> dict[str, Any]:
    from config.settings import Settings
    from lti_app import create_app
    from lti_app.crypto import SecretBox
    from lti_app.extensions import db
    from lti_app.models.course import Course
    from lti_app.models.registration import Registration
    from lti_app.models.roster import RosterSync
    from lti_app.services import roster_jobs
    from lti_app.services.keys import ensure_key, published_jwks
    from lti_app.tasks.roster import run_sync

    settings = Settings(
        env="development", database_url=database_url, secret_key="benchmark-secret-key-0123456789abcdef",
        instance_dir=Path(tempfile.gettempdir()), log_level="WARNING", demo_enabled=False,
    )
    app = create_app(settings)
    with app.app_context():
        db.drop_all()
        db.create_all()
        box = SecretBox(settings.secret_key)
        ensure_key(db.session, box)
        client_id = uuid.uuid4().hex[:16]
        platform = Platform(members, client_id, published_jwks(db.session))
        threading.Thread(target=platform.serve_forever, daemon=True).start()
        registration = Registration(
            issuer=platform.base_url, client_id=client_id, auth_login_url=platform.base_url + "/auth",
            auth_token_url=platform.base_url + "/token", key_set_url=platform.base_url + "/jwks",
        )
        course = Course(registration=registration, context_id="2", title="Benchmark course",
                        memberships_url=platform.base_url + "/CourseSection/2/bindings/1/memberships")
        db.session.add_all([registration, course])
        db.session.commit()

        timings, peaks = [], []
        for _ in range(2):  # first sync: everyone new; resync: nothing changed
            job = roster_jobs.queue_sync(db.session, course, trigger="cli")
            db.session.commit()
            if trace:
                tracemalloc.start()
            started = time.perf_counter()
            done = run_sync(db.session(), job.id, box)
            timings.append(time.perf_counter() - started)
            assert done is not None and done.status == "done", done and done.error
            summary = (done.processed, done.added, done.unchanged)
            if trace:
                peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
                tracemalloc.stop()
        assert summary == (members, 0, members), summary
        result = {
            "members": members,
            "first_s": timings[0],
            "resync_s": timings[1],
            "pages": platform.pages_served // 2,  # per sync
            "tokens": platform.tokens_issued,
            "jobs": db.session.query(RosterSync).count(),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        if trace:
            result["py_peak_mb"] = max(peaks)
        platform.shutdown()
        db.session.remove()
        db.engine.dispose()
    return result


def run(members: int, database_url: str, trace: bool) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", str(members), "--database-url", database_url]
    if trace:
        args.append("--trace")
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def scratch_postgres(url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tandem_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_postgres(url: str, name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    layout = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=layout)
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(options.child, options.database_url, options.trace)))
        return

    sizes = [int(s) for s in options.sizes.split(",") if s.strip()]
    scratch = None
    with tempfile.TemporaryDirectory() as tmp:
        if options.database_url.startswith("postgresql"):
            scratch, url = scratch_postgres(options.database_url)
            label = "PostgreSQL (scratch database)"
        else:
            url, label = f"sqlite:///{Path(tmp) / 'roster.sqlite'}", "SQLite (temporary file)"
        try:
            print(f"Roster sync, {label}, NRPS pages of {PAGE}")
            print(f"{'members':>8} {'first sync':>11} {'members/s':>10} {'resync':>8} {'members/s':>10} "
                  f"{'pages':>6} {'tokens':>6} {'py peak':>9} {'max RSS':>9}")
            ok = True
            for n in sizes:
                plain = run(n, url, trace=False)
                traced = run(n, url, trace=True)
                first, again = plain["first_s"], plain["resync_s"]
                print(
                    f"{n:>8} {first:>10.2f}s {n / first:>10.0f} {again:>7.2f}s {n / again:>10.0f} "
                    f"{plain['pages']:>6} {plain['tokens']:>6} "
                    f"{traced['py_peak_mb']:>7.1f}MB {plain['rss_mb']:>7.0f}MB"
                )
                if n >= 10_000 and plain["first_s"] > TARGET_SECONDS:
                    ok = False
            print(f"target: 10,000 members in under {TARGET_SECONDS:.0f} s: {'met' if ok else 'MISSED'}")
        finally:
            if scratch is not None:
                drop_postgres(options.database_url, scratch)


if __name__ == "__main__":
    main()
