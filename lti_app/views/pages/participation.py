"""A programme as participants see it: what it is, its rules in plain words, and their own choices in it
(offer mentoring, look for a mentor, how many mentees)."""

from __future__ import annotations

from flask import render_template, request

from lti_app.extensions import db
from lti_app.schemas.mentoring import MembershipIn, form_values
from lti_app.services import programmes
from lti_app.services.access import course_roles, is_course_trainer
from lti_app.services.capacity import may_mentor
from lti_app.views.pages.blueprint import bp, done, page_messages, parse
from lti_app.web.auth import current_actor


@bp.get("/programmes/<int:programme_id>")
def programme(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    found = programmes.get_programme(db.session, actor, programme_id)
    membership = programmes.membership(db.session, programme_id, actor.person_id)
    roles = course_roles(db.session, actor, found.course_id)
    return render_template(
        "pages/programme.html",
        programme=found,
        membership=membership,
        can_offer=may_mentor(found, roles, None, trainer_pairing=True),
        is_trainer=is_course_trainer(db.session, actor, found.course_id),
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
