"""A test LTI 1.3 platform (Moodle- or Canvas-shaped) served on loopback, and functions that drive real
launches, deep linking and dynamic registration against the tool. See ``server.TestPlatform``,
``drive.drive_launch`` and ``bad_launches.BAD_LAUNCH_CASES``."""

import json
from pathlib import Path
from typing import Any

from .bad_launches import BAD_LAUNCH_CASES, MISSING_CLAIM_CASES, bad_launch, bad_launch_posts
from .drive import (
    LaunchDriveError,
    LaunchFlow,
    browser_session,
    drive_dynamic_registration,
    drive_launch,
    submit_deep_linking_response,
)
from .faults import Fault, FaultInjector, RequestLog
from .server import ENDPOINTS, DeepLinkReturn, ReceivedScore, TestPlatform
from .tool_side import ToolKey, make_client_assertion, make_deep_linking_response, token_request_form

MOODLE_FIXTURES = Path(__file__).parent / "data" / "moodle-4.5"
"""Real Moodle 4.5 LTI messages (see the README there): the contract the platform's shapes follow."""


def moodle_fixture(name: str) -> Any:
    """One of the captured Moodle 4.5 messages, e.g. ``moodle_fixture("launch_student.json")``."""
    return json.loads((MOODLE_FIXTURES / name).read_text())


__all__ = [
    "MOODLE_FIXTURES",
    "BAD_LAUNCH_CASES",
    "ENDPOINTS",
    "MISSING_CLAIM_CASES",
    "DeepLinkReturn",
    "Fault",
    "FaultInjector",
    "LaunchDriveError",
    "LaunchFlow",
    "ReceivedScore",
    "RequestLog",
    "TestPlatform",
    "ToolKey",
    "bad_launch",
    "bad_launch_posts",
    "browser_session",
    "drive_dynamic_registration",
    "drive_launch",
    "make_client_assertion",
    "make_deep_linking_response",
    "moodle_fixture",
    "submit_deep_linking_response",
    "token_request_form",
]
