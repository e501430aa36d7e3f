"""Pytest fixtures for the test LTI platform (loaded as a plugin by ``tests/conftest.py``).

Every platform a fixture makes is started on loopback and stopped after the test; none is autouse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lti_app.demo_lms import vocab
from lti_app.demo_lms.platform import PlatformKey

from .server import TestPlatform

PlatformFactory = Callable[..., TestPlatform]


@pytest.fixture
def lti_platform_factory() -> Iterator[PlatformFactory]:
    """Make started platforms with any :class:`TestPlatform` options; all stopped at teardown."""
    made: list[TestPlatform] = []

    def make(**options: Any) -> TestPlatform:
        platform = TestPlatform(**options)
        made.append(platform)
        platform.start()
        return platform

    yield make
    for platform in made:
        platform.stop()


@pytest.fixture
def lti_platform(lti_platform_factory: PlatformFactory) -> TestPlatform:
    """A started Moodle-shaped platform with no tool registered yet."""
    return lti_platform_factory()


@pytest.fixture
def lti_canvas_platform(lti_platform_factory: PlatformFactory) -> TestPlatform:
    """A started Canvas-shaped platform with no tool registered yet."""
    return lti_platform_factory(product_family=vocab.PRODUCT_CANVAS)


@pytest.fixture(scope="session")
def lti_tool_key() -> PlatformKey:
    """An RSA key for a fake tool (client assertions, deep linking responses); one per session."""
    return PlatformKey.generate(kid="fake-tool-key")
