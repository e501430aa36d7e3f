"""Finding a mentor: ``/find`` picks the programme (straight through when the course has one), and
``/programmes/<id>/mentors`` searches it by skill, interest, language, place, availability and free text."""

from __future__ import annotations

from flask import redirect, render_template, request

from lti_app.extensions import db
from lti_app.schemas.mentoring import MentorSearchArgs
from lti_app.services import programmes
from lti_app.services.search import MentorFilters, search_mentors
from lti_app.views.pages.blueprint import bp, course_of
from lti_app.views.pages.support import parse
from lti_app.web.auth import current_actor
from lti_app.web.templating import launch_url


@bp.get("/find")
def find():  # type: ignore[no-untyped-def]
    actor = current_actor()
    found = [p for p in programmes.list_programmes(db.session, actor, course_of(actor)) if p.status == "open"]
    if len(found) == 1:
        return redirect(launch_url("pages.find_mentor", programme_id=found[0].id), code=303)
    return render_template("pages/find.html", programmes=found)


@bp.get("/programmes/<int:programme_id>/mentors")
def find_mentor(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    args = parse(MentorSearchArgs(), request.args)
    filters = MentorFilters(
        text=args["q"],
        skill=args["skill"],
        interest=args["interest"],
        language=args["language"],
        location=args["location"],
        department=args["department"],
        availability=args["availability"],
        limit=args["limit"],
        offset=args["offset"],
    )
    result = search_mentors(db.session, actor, programme_id, filters)
    return render_template("pages/find_mentor.html", s=result, args=args)
