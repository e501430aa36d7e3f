from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.functional.registration.support import moodle_double


@pytest.fixture()
def moodle(httpserver: HTTPServer) -> dict[str, Any]:
    """A Moodle that answers the configuration and registration as in ``dynreg_capture.json``."""
    return moodle_double(httpserver)
