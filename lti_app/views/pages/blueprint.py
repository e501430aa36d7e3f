"""The ``pages`` blueprint (HTML inside the LMS frame) and what its views share.

Several modules add their routes to this one blueprint, so every page endpoint is ``pages.<name>``, as the
launch expects (``pages.home``, ``pages.course_programmes``). The navigation bar's state (roles, unread
notifications) is offered to every template as a lazy function: only pages that show the bar pay for it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from lti_app.errors import NotFound
from lti_app.extensions import db
from lti_app.services import notifications
from lti_app.services.access import Actor
from lti_app.views.pages.support import done, notices, parse
from lti_app.web.auth import optional_actor

__all__ = ["NOTICES", "bp", "course_of", "done", "nav_state", "page_messages", "parse"]

bp = Blueprint("pages", __name__)

# Short confirmations shown after a form redirects (``?done=key``): fixed texts, never echoed input.
NOTICES = {
    "programme_created": "Programme created.",
    "programme_saved": "Programme saved.",
    "profile_saved": "Your profile is saved.",
    "preferences_saved": "Your choices for this programme are saved.",
    "request_sent": "Your request is sent. You will be notified when it is answered.",
    "accept": "Request accepted.",
    "decline": "Request declined.",
    "withdraw": "Request withdrawn.",
    "approve": "Request approved.",
    "pause": "Relationship paused.",
    "resume": "Relationship resumed.",
    "end": "Relationship ended.",
    "complete": "Relationship marked as completed.",
    "reassign": "Relationship reassigned.",
    "relationship_created": "Relationship created.",
    "capacity_saved": "Capacity saved.",
    "read": "Notifications marked as read.",
    "email_on": "Tandem will email you about requests and relationships.",
    "email_off": "Tandem will not email you any more.",
}


def page_messages() -> list[tuple[str, str]]:
    return notices(NOTICES)


def course_of(actor: Actor) -> int:
    if actor.course_id is None:
        raise NotFound("Open Tandem from a course to see its mentoring programmes.", code="no_course")
    return actor.course_id


class NavState:
    def __init__(self, actor: Actor, unread: int) -> None:
        self.actor = actor
        self.unread = unread
        self.is_trainer = actor.is_trainer
        self.is_admin = actor.is_admin
        self.in_course = actor.course_id is not None
        # The administration pages are another feature's: link them only when they are installed.
        self.has_admin_home = "admin.home" in current_app.view_functions


def nav_state() -> NavState | None:
    actor = optional_actor()
    if actor is None:
        return None
    return NavState(actor, notifications.unread_count(db.session, actor))


@bp.app_context_processor
def _nav_context() -> dict[str, Any]:
    return {"tandem_nav": nav_state}
