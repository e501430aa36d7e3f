"""Headless Chromium and live servers for browser tests.

Chromium is Debian's (`chromium`, `chromium-driver`). Where it is missing the test is skipped with a message,
except in CI (`TANDEM_REQUIRE_BROWSER=1`), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

# Without these Chromium reaches out to the network at start; this machine has none beyond loopback.
QUIET_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1600",
)


def require_chromium() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("TANDEM_REQUIRE_BROWSER"):
            pytest.fail("Chromium and chromedriver are required for the browser tests here")
        pytest.skip("browser tests skipped: Chromium or chromedriver is not installed")
    return chromium, driver


@contextmanager
def chromium(profile_dir: Path, *, block_third_party_cookies: bool = False) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = require_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in QUIET_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    if block_third_party_cookies:
        # What Safari does by default and Chrome does for users who opted in: no cookies for frames of
        # another site than the page's.
        options.add_experimental_option(
            "prefs", {"profile.block_third_party_cookies": True, "profile.cookie_controls_mode": 1}
        )
        options.add_argument("--test-third-party-cookie-phaseout")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: Flask, port: int) -> Iterator[None]:
    """Serve ``app`` on 127.0.0.1:port in a thread for the duration of the block."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(timeout=10)
