"""Helpers for launch tests: where a launch landed, what its token says, and a platform-storage double."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from sqlalchemy import func, select

from lti_app.extensions import db
from lti_app.models.audit import AuditEvent
from lti_app.models.cache import CacheEntry
from lti_app.models.course import Course, Placement
from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile

DOMAIN_TABLES = (Course, Placement, Person, Enrolment, Profile, AuditEvent)


def landed(app: Flask, response: Any) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(endpoint, path arguments, launch token payload) of a successful launch's 303."""
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    location = urlsplit(response.headers["Location"])
    endpoint, arguments = app.url_map.bind("tool.test").match(location.path)
    token = parse_qs(location.query)["lt"][0]
    payload, _ = app.extensions["tandem.launch_tokens"].verify(token)
    return endpoint, arguments, payload


def expected_endpoint(app: Flask, wanted: str) -> str:
    """The landing endpoint, or the launch blueprint's stand-in while that page is not built."""
    return wanted if wanted in app.view_functions else "lti.landing"


def row_counts() -> dict[str, int]:
    counts = {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in DOMAIN_TABLES
    }
    counts["cache_entry (not jwks)"] = (
        db.session.scalar(select(func.count()).select_from(CacheEntry).where(~CacheEntry.key.like("%jwks%")))
        or 0
    )
    return counts


def page_config(page: str) -> dict[str, Any]:
    """The JSON a platform-storage page hands its script."""
    match = re.search(r'<script type="application/json" id="lti-storage-config">(.*?)</script>', page, re.S)
    assert match, page[:2000]
    data: dict[str, Any] = json.loads(match.group(1))
    return data


class PlatformStorage:
    """The platform's side of LTI Client Side postMessages, as the LMS page would keep it for one origin."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def put(self, key: str, value: str) -> None:
        self.data[key] = value

    def get(self, key: str) -> str | None:
        return self.data.get(key)
