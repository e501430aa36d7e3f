"""Profiles: editing one's own (``/profile``) and seeing someone else's public one (``/people/<id>``)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from lti_app.errors import ValidationFailed
from lti_app.extensions import db
from lti_app.schemas.mentoring import ProfileIn, form_values
from lti_app.services import profiles, programmes
from lti_app.views.pages.blueprint import bp, page_messages
from lti_app.views.pages.support import done, parse
from lti_app.web.auth import current_actor

TAG_FIELDS = ("skills", "skills_wanted", "interests", "languages")


@bp.route("/profile", methods=["GET", "POST"])
def profile_edit():  # type: ignore[no-untyped-def]
    actor = current_actor()
    if request.method == "POST":
        values = form_values(request.form, nullable=["capacity"])
        try:
            profiles.update_profile(db.session, actor, parse(ProfileIn(), values))
        except ValidationFailed as exc:
            db.session.rollback()
            return _form(actor, values, exc.details), 422
        db.session.commit()
        return done("pages.profile_edit", "profile_saved")
    return _form(actor, None, None)


@bp.get("/people/<int:person_id>")
def person(person_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    found = profiles.view_profile(db.session, actor, person_id)
    offers = []
    if actor.course_id is not None and person_id != actor.person_id:
        offers = programmes.list_programmes(db.session, actor, actor.course_id)
    return render_template(
        "pages/person.html", p=found, programmes=offers, is_self=person_id == actor.person_id
    )


def _form(actor: Any, posted: dict[str, Any] | None, errors: Any) -> str:
    own = profiles.own_profile(db.session, actor)
    current: dict[str, Any] = {}
    if own.profile is not None:
        current = {f: getattr(own.profile, f) for f in profiles.EDITABLE_FIELDS}
    for field in TAG_FIELDS:
        current[field] = ", ".join(current.get(field) or [])
    return render_template(
        "pages/profile_edit.html",
        own=own,
        v={**current, **(posted or {})},
        errors=errors or {},
        completeness=profiles.completeness(own.profile),
        page_messages=page_messages(),
    )
