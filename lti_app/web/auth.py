"""The acting person for the current request, from the launch token, as the database sees them now."""

from __future__ import annotations

from flask import session

from lti_app.errors import NotAuthenticated
from lti_app.extensions import db
from lti_app.services.access import Actor, launched_actor
from lti_app.web.launch_session import LaunchSession


def current_actor() -> Actor:
    """The actor of this request, checked once (one query) and kept on the request's launch session: the
    page, its navigation and its panels all ask, and an error page asks again after a refusal."""
    launch = session._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(launch, LaunchSession):
        raise NotAuthenticated(
            "Open Tandem from your course in the LMS to continue.", code="launch_required"
        )
    if launch.actor is not None:
        return launch.actor
    if launch.launch_error is not None:
        raise launch.launch_error
    if "person_id" not in launch:
        raise NotAuthenticated(
            "Open Tandem from your course in the LMS to continue.", code="launch_required"
        )
    try:
        actor = launched_actor(
            db.session(),
            person_id=int(launch["person_id"]),
            registration_id=int(launch["registration_id"]),
            course_id=launch.get("course_id"),
            placement_id=launch.get("placement_id"),
        )
    except NotAuthenticated as exc:
        launch.launch_error = exc
        raise
    launch.actor = actor
    return actor


def optional_actor() -> Actor | None:
    try:
        return current_actor()
    except NotAuthenticated:
        return None
