"""Launches against Tandem under gunicorn with two worker processes: the login and the launch of one round
trip may land on different workers, so nothing of a launch may live in one process's memory."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask import Flask

from tests.platform import TestPlatform, browser_session, drive_launch

from .conftest import register

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(app: Flask, database_url: str, tmp_path: Path) -> Iterator[str]:
    """Tandem under ``gunicorn -w 2`` on a loopback port, on the test database; its base URL."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")},
        "TANDEM_ENV": "development",
        "TANDEM_DATABASE_URL": database_url,
        "TANDEM_BASE_URL": base_url,
        "TANDEM_SECRET_KEY": secrets.token_hex(32),
        "TANDEM_INSTANCE_DIR": str(tmp_path),
        "TANDEM_LOG_LEVEL": "WARNING",
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "lti_app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
            try:
                if requests.get(base_url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_launches_across_two_workers(served: str, lti_platform: TestPlatform) -> None:
    lti_platform.add_tool(served)
    register(lti_platform)
    course = lti_platform.add_course()
    people = [lti_platform.add_user() for _ in range(8)]

    def one(person) -> int:  # type: ignore[no-untyped-def]
        response = drive_launch(served, lti_platform, person, course, session=browser_session())
        return int(response.status_code)

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(one, people))

    assert statuses == [303] * len(people)
    replay = requests.post(served + "/lti/launch", data=lti_platform.last_launch.fields, timeout=10)
    assert replay.status_code == 400
