"""A programme as participants see it: what it is, its rules in plain words, and their own choices in it
(offer mentoring, look for a mentor, how many mentees)."""

from __future__ import annotations

from flask import render_template, request

from lti_app.extensions import db
from lti_app.schemas.mentoring import MembershipIn, form_values
from lti_app.services import programmes
from lti_app.views.pages.blueprint import bp, page_messages
from lti_app.views.pages.support import done, parse
from lti_app.web.auth import current_actor


@bp.get("/programmes/<int:programme_id>")
def programme(programme_id: int):  # type: ignore[no-untyped-def]
    seen = programmes.participation(db.session, current_actor(), programme_id)
    return render_template(
        "pages/programme.html",
        programme=seen.programme,
        membership=seen.membership,
        can_offer=seen.can_offer,
        is_trainer=seen.is_trainer,
        page_messages=page_messages(),
    )


@bp.post("/programmes/<int:programme_id>/preferences")
def programme_preferences(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    values = form_values(
        request.form, booleans=["open_to_mentor", "open_to_be_mentored"], nullable=["capacity"]
    )
    data = parse(MembershipIn(), values)
    programmes.set_preferences(
        db.session,
        actor,
        programme_id,
        open_to_mentor=data["open_to_mentor"],
        open_to_be_mentored=data["open_to_be_mentored"],
        capacity=data.get("capacity"),
        # Cleared only when the field was sent blank: a form without it keeps the figure.
        clear_capacity="capacity" in data and data["capacity"] is None,
    )
    db.session.commit()
    return done("pages.programme", "preferences_saved", programme_id=programme_id)
