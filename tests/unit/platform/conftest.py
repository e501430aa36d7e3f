"""Fixtures for testing the test platform on its own, with the fake tool of ``tests.platform.fake_tool``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lti_app.demo_lms.platform import PlatformKey
from tests.platform import TestPlatform
from tests.platform.fake_tool import LiveServer


@pytest.fixture
def moodle(lti_platform_factory: Any, lti_tool_key: PlatformKey) -> TestPlatform:
    """A started Moodle-shaped platform with the fake tool registered at http://localhost."""
    return lti_platform_factory(tool_url="http://localhost", tool_jwks={"keys": [lti_tool_key.public_jwk]})


@pytest.fixture
def canvas(lti_platform_factory: Any, lti_tool_key: PlatformKey) -> TestPlatform:
    """The same, shaped like Canvas."""
    return lti_platform_factory(
        product_family="canvas", tool_url="http://localhost", tool_jwks={"keys": [lti_tool_key.public_jwk]}
    )


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    """A loopback HTTP server waiting for its app (``live_server.app = …``)."""
    server = LiveServer()
    yield server
    server.close()
