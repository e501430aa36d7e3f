"""Load the captured Moodle 4.5 LTI messages kept in the shared fixtures folder beside the repository.

The captures are real platform answers (see that folder's README): tests replay them to prove the clients
cope with Moodle's actual shapes and quirks. When the folder is absent the test is skipped, not failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

MOODLE_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "moodle-4.5"


def moodle_fixture_path(name: str) -> Path:
    """Path of the fixture file ``name`` (e.g. ``svc_01_token.json``); skips the test if it is missing."""
    path = MOODLE_FIXTURES / name
    if not path.is_file():
        pytest.skip(
            f"Moodle 4.5 fixture {name!r} not found: expected the shared fixtures folder at {MOODLE_FIXTURES}"
        )
    return path


def load_moodle_fixture(name: str) -> dict[str, Any]:
    """The decoded JSON of the fixture file ``name``."""
    data: dict[str, Any] = json.loads(moodle_fixture_path(name).read_text(encoding="utf-8"))
    return data
