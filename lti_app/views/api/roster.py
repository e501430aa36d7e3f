"""``/api/v1/roster``: roster sync jobs for trainers, started and watched (the roster page polls here)."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from lti_app.extensions import db
from lti_app.models.roster import QUEUED
from lti_app.schemas.roster import RosterSyncOut
from lti_app.services import roster_jobs
from lti_app.tasks.roster import dispatch
from lti_app.views.pages.blueprint import course_of
from lti_app.web.auth import current_actor

bp = Blueprint(
    "roster_api", __name__, url_prefix="/api/v1/roster", description="Roster sync from the LMS (trainers)."
)


@bp.post("/syncs")
@bp.response(202, RosterSyncOut)
def start_sync():  # type: ignore[no-untyped-def]
    """Sync the roster of the course you launched from; answers the job under way if there is one."""
    actor = current_actor()
    job = roster_jobs.request_sync(db.session, actor, course_of(actor))
    db.session.commit()
    if job.status == QUEUED:
        dispatch(current_app._get_current_object(), job.id)  # type: ignore[attr-defined]
    return job


@bp.get("/syncs/<int:sync_id>")
@bp.response(200, RosterSyncOut)
def get_sync(sync_id: int):  # type: ignore[no-untyped-def]
    """A sync's status, progress and summary."""
    return roster_jobs.get_sync(db.session, current_actor(), sync_id)
