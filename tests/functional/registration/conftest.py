from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from pytest_httpserver import HTTPServer

from tests.functional.registration.support import moodle_double


@pytest.fixture()
def moodle(httpserver: HTTPServer) -> dict[str, Any]:
    """A Moodle that answers the configuration and registration as in ``dynreg_capture.json``."""
    return moodle_double(httpserver)


@pytest.fixture(autouse=True)
def _forget_platform_origins(_app: Flask) -> Iterator[None]:
    """Tests here load the frame-ancestors list; the next test, on emptied tables, must not inherit it."""
    yield
    _app.extensions["tandem.platform_origins"].invalidate()
