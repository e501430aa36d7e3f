"""Requests and relationships as pages: asking someone, one relationship with its members, state and
timeline, and the actions its viewer may take (accept, decline, withdraw, approve, pause, resume, end,
complete, reassign)."""

from __future__ import annotations

from flask import current_app, render_template, request

from lti_app.errors import NotFound
from lti_app.extensions import db
from lti_app.schemas.mentoring import ReasonIn, ReassignIn, RequestIn, form_values
from lti_app.services import profiles, programmes, relationships
from lti_app.services.relationship_queries import detail
from lti_app.views.pages.blueprint import bp, page_messages
from lti_app.views.pages.support import done, parse
from lti_app.web.auth import current_actor
from lti_app.web.templating import launch_url

ACTIONS = ("accept", "decline", "withdraw", "approve", "pause", "resume", "end", "complete", "reassign")


@bp.get("/programmes/<int:programme_id>/ask/<int:person_id>")
def request_new(programme_id: int, person_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    programme = programmes.get_programme(db.session, actor, programme_id)
    other = profiles.view_profile(db.session, actor, person_id)
    return render_template(
        "pages/request_new.html", programme=programme, p=other, as_role=request.args.get("as_role", "mentee")
    )


@bp.post("/programmes/<int:programme_id>/requests")
def request_create(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    data = parse(RequestIn(), {**form_values(request.form), "programme_id": programme_id})
    rel = relationships.request_mentoring(
        db.session, actor, programme_id, data["person_id"], as_role=data["as_role"], message=data["message"]
    )
    db.session.commit()
    return done("pages.relationship", "request_sent", relationship_id=rel.id)


@bp.get("/relationships/<int:relationship_id>")
def relationship(relationship_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    view = detail(db.session, actor, relationship_id)
    journal = None
    if "diary.journal" in current_app.view_functions and view.relationship.started_at is not None:
        journal = launch_url("diary.journal", relationship_id=relationship_id)
    return render_template(
        "pages/relationship.html", d=view, journal_url=journal, page_messages=page_messages()
    )


@bp.post("/relationships/<int:relationship_id>/<action>")
def relationship_action(relationship_id: int, action: str):  # type: ignore[no-untyped-def]
    if action not in ACTIONS:
        raise NotFound("There is no such action.")
    actor = current_actor()
    session = db.session
    values = form_values(request.form)
    if action == "reassign":
        moves = parse(ReassignIn(), values)
        relationships.reassign(session, actor, relationship_id, **moves)
    elif action in ("decline", "end", "pause"):
        reason = parse(ReasonIn(), values)["reason"]
        call = {"decline": relationships.decline, "end": relationships.end, "pause": relationships.pause}[
            action
        ]
        call(session, actor, relationship_id, reason=reason)
    else:
        call = {
            "accept": relationships.accept,
            "withdraw": relationships.withdraw,
            "approve": relationships.approve,
            "resume": relationships.resume,
            "complete": relationships.complete,
        }[action]
        call(session, actor, relationship_id)
    session.commit()
    return done("pages.relationship", action, relationship_id=relationship_id)
