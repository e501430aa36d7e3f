"""``/admin/overview``: who mentors whom across every course of the admin's platform.

The ``admin`` blueprint belongs to the administration pages; this page joins it by endpoint name
(``admin.overview``) through the registration hook, so the two modules never share a Blueprint object and
the admin blueprint's own request hooks still apply.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Flask, Response, render_template, request

from lti_app.extensions import db
from lti_app.schemas.mentoring import OverviewArgs
from lti_app.services.overview import csv_cell, platform_overview
from lti_app.views.pages.blueprint import parse
from lti_app.web.auth import current_actor

bp = Blueprint("admin_mentoring_overview", __name__)


def overview():  # type: ignore[no-untyped-def]
    actor = current_actor()
    args = parse(OverviewArgs(), request.args)
    course_id = request.args.get("course_id", type=int)
    view = platform_overview(db.session, actor, course_id=course_id, stale_days=args["stale_days"])
    if request.args.get("format") == "csv":
        return _csv(view)
    return render_template(
        "pages/admin_overview.html", v=view, course_id=course_id, stale_days=args["stale_days"]
    )


def _csv(view):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["course", "programme", "relationship_id", "status", "mentors", "mentees"])
    for course, programme, pair in view.pairs:
        writer.writerow(
            [
                csv_cell(course.title),
                csv_cell(programme.title),
                pair.relationship.id,
                pair.relationship.status,
                csv_cell("; ".join(pair.mentors)),
                csv_cell("; ".join(pair.mentees)),
            ]
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="who-mentors-whom.csv"'},
    )


def _install(app: Flask) -> None:
    app.add_url_rule("/admin/overview", endpoint="admin.overview", view_func=overview, methods=["GET"])


bp.tandem_init_app = _install  # type: ignore[attr-defined]
