"""``/admin/overview``: who mentors whom across every course of the admin's platform.

The ``admin`` blueprint belongs to the administration pages; this page joins it by endpoint name
(``admin.overview``) through the registration hook, so the two modules never share a Blueprint object and
the admin blueprint's own request hooks still apply.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, render_template, request

from lti_app.domain.numbers import parse_id
from lti_app.errors import ValidationFailed
from lti_app.extensions import db
from lti_app.schemas.mentoring import OverviewArgs
from lti_app.services.overview import platform_overview, platform_overview_csv
from lti_app.views.pages.support import parse
from lti_app.web.auth import current_actor

bp = Blueprint("admin_mentoring_overview", __name__)


def overview():  # type: ignore[no-untyped-def]
    actor = current_actor()
    args = parse(OverviewArgs(), request.args)
    course_id = _course_id(request.args.get("course_id", ""))
    view = platform_overview(db.session, actor, course_id=course_id, stale_days=args["stale_days"])
    if request.args.get("format") == "csv":
        return Response(
            platform_overview_csv(view),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="who-mentors-whom.csv"'},
        )
    return render_template(
        "pages/admin_overview.html", v=view, course_id=course_id, stale_days=args["stale_days"]
    )


def _course_id(raw: str) -> int | None:
    """The optional course filter: absent or blank is every course; anything else must be an id."""
    if raw == "":
        return None
    found = parse_id(raw)
    if found is None:
        raise ValidationFailed("Some fields are missing or invalid.", details={"course_id": ["Not a valid id."]})
    return found


def _install(app: Flask) -> None:
    app.add_url_rule("/admin/overview", endpoint="admin.overview", view_func=overview, methods=["GET"])


bp.tandem_init_app = _install  # type: ignore[attr-defined]
