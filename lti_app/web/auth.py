"""The acting person for the current request, from the launch token."""

from __future__ import annotations

from flask import g, session

from lti_app.errors import NotAuthenticated
from lti_app.services.access import Actor


def current_actor() -> Actor:
    error = getattr(g, "launch_error", None)
    if error is not None:
        raise error
    if "person_id" not in session:
        raise NotAuthenticated(
            "Open Tandem from your course in the LMS to continue.", code="launch_required"
        )
    return Actor(
        person_id=int(session["person_id"]),
        registration_id=int(session["registration_id"]),
        course_id=session.get("course_id"),
        roles=frozenset(session.get("roles", ())),
        placement_id=session.get("placement_id"),
    )


def optional_actor() -> Actor | None:
    try:
        return current_actor()
    except NotAuthenticated:
        return None
