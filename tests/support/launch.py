"""Shortcuts for tests that need a signed-in person but are not about the launch itself (those drive the
real OIDC round trip through tests/platform)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from lti_app.services.access import Actor


def launch_token(app: Flask, actor: Actor, **extra: Any) -> str:
    payload = {
        "person_id": actor.person_id,
        "registration_id": actor.registration_id,
        "course_id": actor.course_id,
        "roles": sorted(actor.roles),
        "placement_id": actor.placement_id,
        **extra,
    }
    return app.extensions["tandem.launch_tokens"].issue(payload)


def api_headers(app: Flask, actor: Actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {launch_token(app, actor)}"}
