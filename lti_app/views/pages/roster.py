"""``/course/roster``: a trainer syncs the course's roster from the LMS and watches it happen.

The button only queues a job and hands it to the runner (``lti_app.tasks.roster.dispatch``): the request
answers at once, and ``static/js/roster-sync.js`` polls ``/api/v1/roster/syncs/<id>`` for the progress
bar, reloading the page for the summary when the job ends.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template

from lti_app.extensions import db
from lti_app.models.roster import QUEUED
from lti_app.services import roster_jobs
from lti_app.tasks.roster import dispatch
from lti_app.views.pages.blueprint import course_of
from lti_app.web.auth import current_actor
from lti_app.web.templating import launch_url

bp = Blueprint("roster", __name__)


@bp.get("/course/roster")
def page():  # type: ignore[no-untyped-def]
    actor = current_actor()
    view = roster_jobs.overview(db.session, actor, course_of(actor))
    db.session.commit()  # keeps the failing of a job whose runner died, if the overview found one
    return render_template("roster/page.html", view=view, launch_token=getattr(g, "launch_token", ""))


@bp.post("/course/roster/sync")
def start():  # type: ignore[no-untyped-def]
    actor = current_actor()
    job = roster_jobs.request_sync(db.session, actor, course_of(actor))
    db.session.commit()
    if job.status == QUEUED:  # a claim decides who runs it: asking twice never runs it twice
        dispatch(current_app._get_current_object(), job.id)  # type: ignore[attr-defined]
    return redirect(launch_url("roster.page"), code=303)
