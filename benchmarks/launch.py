"""LTI 1.3 launch throughput: full login → platform auth → launch round trips per second.

Tandem runs under gunicorn (``lti_app:create_app()``, 2 sync workers) on a loopback port with a temporary
database (SQLite file, or a fresh PostgreSQL database created and dropped here); the platform is the test
platform (``tests/platform``, Moodle-shaped, RS256 keys, JWKS over HTTP) served by this process, and
client threads here play the browsers: each launch is a real login POST, the 302 to the platform's auth
endpoint, the signed id_token form, the launch POST and Tandem's 303 (not followed: landing pages are not
part of the launch).

Two phases of the same size, both timed from the first request to the last answer:

* *first launches*: every launch is a person never seen before (course, person, enrolment, profile rows
  are created);
* *returning launches*: the same people launch again (rows are read and updated).

Bounded: ``--launches`` per phase (default 200), and each phase stops after ``--max-seconds`` anyway.

    python benchmarks/launch.py [--launches 200] [--threads 4] [--database postgresql+psycopg://…]
                                [--redis redis://127.0.0.1:6379/0] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from config.settings import Settings  # noqa: E402
from tests.platform import LaunchFlow, TestPlatform, browser_session  # noqa: E402


def cache_platform_key_loading() -> None:
    """The test platform hands ``jwt.encode`` its key as PEM, so every id_token re-parses (and re-checks)
    the RSA key: ~100 ms of CPU on a busy machine, spent in this process on the cores Tandem needs. A real
    LMS keeps its key loaded; so does the platform here, by memoising the parse of identical PEM bytes."""
    from functools import lru_cache

    from cryptography.hazmat.primitives import serialization
    from jwt import algorithms

    load = lru_cache(maxsize=8)(
        lambda data, password=None: serialization.load_pem_private_key(data, password)
    )
    original = serialization.load_pem_private_key

    def cached(data: bytes, password: bytes | None = None, **kwargs: object) -> object:
        return load(bytes(data), password) if not kwargs else original(data, password, **kwargs)  # type: ignore[arg-type]

    algorithms.load_pem_private_key = cached  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Database:
    """A throwaway database: a SQLite file in ``workdir``, or a new PostgreSQL database on ``server``."""

    def __init__(self, server: str | None, workdir: Path) -> None:
        self.server = server
        self.name = ""
        if server:
            self.name = f"tandem_bench_{uuid.uuid4().hex[:10]}"
            with create_engine(server, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = make_url(server).set(database=self.name).render_as_string(hide_password=False)
        else:
            self.url = f"sqlite:///{workdir / 'bench.sqlite'}"

    def drop(self) -> None:
        if self.server and self.name:
            with create_engine(self.server, isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


def prepare(database_url: str, workdir: Path, platform: TestPlatform) -> None:
    """Create the schema and register the platform, as ``tandem platform add`` would."""
    from lti_app import create_app
    from lti_app.extensions import db
    from lti_app.models.registration import Deployment, Registration

    settings = Settings(
        env="development",
        database_url=database_url,
        secret_key="b" * 40,
        instance_dir=workdir,
        log_level="WARNING",
    )
    app = create_app(settings)
    details = platform.registration_details()
    with app.app_context():
        db.create_all()
        registration = Registration(
            name="Benchmark LMS",
            issuer=details["issuer"],
            client_id=details["client_id"],
            auth_login_url=details["auth_login_url"],
            auth_token_url=details["auth_token_url"],
            key_set_url=details["key_set_url"],
            product_family=details["product_family"],
        )
        registration.deployments = [Deployment(deployment_id=d) for d in details["deployment_ids"]]
        db.session.add(registration)
        db.session.commit()
        db.engine.dispose()


def start_gunicorn(port: int, workers: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [
        gunicorn,
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "lti_app:create_app()",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited early; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def workers_cpu_seconds(master: int) -> float:
    """User + system CPU time of the gunicorn workers so far (Linux /proc), so the cost of a launch can be
    read independently of how busy the machine is."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return float("nan")
    for child in children:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (proc(5) fields 14 and 15)
    return total


def run_phase(
    launches: int, threads: int, max_seconds: float, one_launch: Callable[[int], float]
) -> tuple[int, float, list[float], int]:
    """``launches`` round trips on ``threads`` threads; (done, elapsed s, latencies s, failures)."""
    deadline = time.monotonic() + max_seconds
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def task(index: int) -> None:
        nonlocal failures
        if time.monotonic() > deadline:
            return
        try:
            latency = one_launch(index)
        except Exception as exc:  # noqa: BLE001 - counted and shown, the run goes on
            with lock:
                failures += 1
                if failures <= 3:
                    print(f"  launch {index} failed: {exc}", file=sys.stderr)
            return
        with lock:
            latencies.append(latency)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(task, range(launches)))
    elapsed = time.perf_counter() - started
    return len(latencies), elapsed, latencies, failures


def report(name: str, done: int, elapsed: float, latencies: list[float], failures: int) -> None:
    if not latencies:
        print(f"{name}: no successful launch ({failures} failed)")
        return
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"{name}: {done / elapsed:6.1f} launches/s  ({done} in {elapsed:.1f} s, {failures} failed; "
        f"round trip p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--launches", type=int, default=200, help="launches per phase (default 200)")
    parser.add_argument("--threads", type=int, default=4, help="concurrent browsers (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--database", default=None, help="PostgreSQL server URL (default: a SQLite file)")
    parser.add_argument("--redis", default=None, help="Redis URL for the launch store (default: database)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="cap per phase (default 120)")
    args = parser.parse_args()

    cache_platform_key_loading()
    workdir = Path(tempfile.mkdtemp(prefix="tandem-bench-"))
    port = free_port()
    tool_url = f"http://127.0.0.1:{port}"
    platform = TestPlatform(tool_url=tool_url)
    platform.start()
    database = Database(args.database, workdir)
    process: subprocess.Popen[bytes] | None = None
    try:
        prepare(database.url, workdir, platform)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")},
            "TANDEM_ENV": "development",
            "TANDEM_DATABASE_URL": database.url,
            "TANDEM_BASE_URL": tool_url,
            "TANDEM_SECRET_KEY": secrets.token_hex(32),
            "TANDEM_INSTANCE_DIR": str(workdir),
            "TANDEM_LOG_LEVEL": "WARNING",
        }
        if args.redis:
            env["TANDEM_REDIS_URL"] = args.redis
        process = start_gunicorn(port, args.workers, env, workdir / "gunicorn.log")

        courses = [platform.add_course(title=f"Course {n}") for n in range(5)]
        people = [platform.add_user() for _ in range(args.launches + 4)]
        local = threading.local()
        lock = threading.Lock()
        tool_times: list[float] = []

        def one_launch(index: int) -> float:
            session = getattr(local, "session", None)
            if session is None:
                session = local.session = browser_session()
            flow = LaunchFlow(tool_url, platform, session=session)
            initiation = flow.start(people[index], courses[index % len(courses)])
            began = time.perf_counter()
            auth_request = flow.login(initiation)
            at_platform = time.perf_counter()
            auth = flow.authorize(auth_request)
            back = time.perf_counter()
            response = flow.post(auth.fields, auth.redirect_uri)
            done = time.perf_counter()
            if response.status_code != 303:
                raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
            with lock:
                tool_times.append((at_platform - began) + (done - back))
            return done - began

        # Warm-up: imports, connection pools and the platform key cache in both workers.
        for index in range(args.launches, args.launches + 4):
            one_launch(index)

        print(
            f"Tandem under gunicorn ({args.workers} sync workers) at {tool_url}; "
            f"database {'PostgreSQL' if args.database else 'SQLite'}, launch store "
            f"{'Redis' if args.redis else 'database'}; {args.threads} client threads in this process "
            f"(the platform signs every id_token here too); {os.cpu_count()} CPU cores shared by all."
        )
        print("Each launch: login POST → 302 → platform auth (RS256 id_token) → launch POST → 303.")
        for name in ("first launches    ", "returning launches"):
            tool_times.clear()
            cpu_before = workers_cpu_seconds(process.pid)
            done, elapsed, latencies, failures = run_phase(
                args.launches, args.threads, args.max_seconds, one_launch
            )
            cpu = workers_cpu_seconds(process.pid) - cpu_before
            report(name, done, elapsed, latencies, failures)
            if tool_times and done:
                print(
                    f"{'':20}Tandem's share (its login and launch answers, as the client timed them): "
                    f"p50 {statistics.median(tool_times) * 1000:.0f} ms; gunicorn workers' CPU per launch "
                    f"{cpu / done * 1000:.1f} ms (so at most {done / cpu:.0f} launches/s per free core)"
                )
    finally:
        if process is not None:
            stop(process)
        platform.stop()
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
