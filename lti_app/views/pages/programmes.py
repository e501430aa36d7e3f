"""``/course/programmes``: the trainer's landing. Programmes of the course, their create and edit forms
(with the rules), the overview per programme with filters and a CSV export, and direct pairing."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request

from lti_app.errors import ValidationFailed
from lti_app.extensions import db
from lti_app.models.person import TANDEM_ROLES
from lti_app.models.programme import (
    DIARY_WRITERS,
    MATCHING_MODES,
    MODELS,
    PROGRAMME_STATUSES,
    RELATIONSHIP_TYPES,
    REQUEST_POLICIES,
    Programme,
)
from lti_app.schemas.mentoring import (
    MembershipIn,
    OverviewArgs,
    ProgrammeIn,
    ProgrammePatch,
    TrainerRelationshipIn,
    form_values,
)
from lti_app.services import overview, programmes, relationships
from lti_app.services.access import require_programme_trainer, require_trainer
from lti_app.views.pages.blueprint import bp, course_of, page_messages
from lti_app.views.pages.support import done, parse
from lti_app.web.auth import current_actor

BOOLEANS = (
    "mentor_requires_opt_in",
    "requires_trainer_approval",
    "diary_readable_by_trainers",
    "diary_readable_by_admins",
    "confirm_exposure",
)
NULLABLE = ("custom_type_name", "starts_on", "ends_on", "meeting_cadence_days")
CHOICES = {
    "relationship_types": RELATIONSHIP_TYPES,
    "models": MODELS,
    "statuses": PROGRAMME_STATUSES,
    "request_policies": REQUEST_POLICIES,
    "diary_writers": DIARY_WRITERS,
    "matching_modes": MATCHING_MODES,
    "roles": TANDEM_ROLES,
}


@bp.get("/course/programmes")
def course_programmes():  # type: ignore[no-untyped-def]
    actor = current_actor()
    course_id = course_of(actor)
    found = programmes.list_programmes(db.session, actor, course_id)
    return render_template(
        "pages/programmes.html", programmes=found, is_trainer=actor.is_trainer, page_messages=page_messages()
    )


@bp.route("/course/programmes/new", methods=["GET", "POST"])
def programme_new():  # type: ignore[no-untyped-def]
    actor = current_actor()
    course_id = course_of(actor)
    require_trainer(db.session, actor, course_id)
    if request.method == "GET":
        return _form(None, {})
    values = _posted()
    try:
        data = parse(ProgrammeIn(), values)
        data.pop("confirm_exposure", None)
        programme = programmes.create_programme(db.session, actor, course_id, data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _form(None, values, errors=exc.details), 422
    db.session.commit()
    return done("pages.programme_overview", "programme_created", programme_id=programme.id)


@bp.route("/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
def programme_edit(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    programme = require_programme_trainer(db.session, actor, programme_id)
    if request.method == "GET":
        return _form(programme, {})
    values = _posted()
    try:
        data = parse(ProgrammePatch(partial=True), values)
        confirm = data.pop("confirm_exposure", False)
        programmes.update_programme(db.session, actor, programme_id, data, confirm_exposure=confirm)
    except programmes.ConfirmationRequired as exc:
        db.session.rollback()
        return _form(programme, values, warnings=(exc.details or {}).get("warnings", [])), 409
    except ValidationFailed as exc:
        db.session.rollback()
        return _form(programme, values, errors=exc.details), 422
    db.session.commit()
    return done("pages.programme_overview", "programme_saved", programme_id=programme_id)


@bp.get("/programmes/<int:programme_id>/overview")
def programme_overview(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    args = parse(OverviewArgs(), request.args)
    view = overview.programme_overview(
        db.session, actor, programme_id, status=args["status"], query=args["q"], stale_days=args["stale_days"]
    )
    return render_template("pages/overview.html", o=view, page_messages=page_messages())


@bp.get("/programmes/<int:programme_id>/overview.csv")
def programme_overview_csv(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    args = parse(OverviewArgs(), request.args)
    view = overview.programme_overview(
        db.session, actor, programme_id, status=args["status"], query=args["q"], stale_days=args["stale_days"]
    )
    return Response(
        overview.overview_csv(view),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="programme-{programme_id}-participants.csv"'},
    )


@bp.post("/programmes/<int:programme_id>/capacity/<int:person_id>")
def programme_capacity(programme_id: int, person_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    data = parse(MembershipIn(), form_values(request.form, nullable=["capacity"]))
    programmes.set_capacity_override(db.session, actor, programme_id, person_id, data.get("capacity"))
    db.session.commit()
    return done("pages.programme_overview", "capacity_saved", programme_id=programme_id)


@bp.route("/programmes/<int:programme_id>/relationships/new", methods=["GET", "POST"])
def relationship_new(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    if request.method == "GET":
        view = overview.programme_overview(db.session, actor, programme_id)
        return render_template("pages/relationship_new.html", o=view, values={}, errors=None)
    values = form_values(request.form, lists=["mentor_ids", "mentee_ids"])
    data = parse(TrainerRelationshipIn(), {**values, "programme_id": programme_id})
    rel = relationships.create_relationship(
        db.session,
        actor,
        programme_id,
        mentor_ids=data["mentor_ids"],
        mentee_ids=data["mentee_ids"],
        note=data["note"],
    )
    db.session.commit()
    return done("pages.relationship", "relationship_created", relationship_id=rel.id)


def _posted() -> dict[str, Any]:
    values = form_values(request.form, lists=["mentor_roles"], booleans=BOOLEANS, nullable=NULLABLE)
    # No box ticked sends nothing at all: that is "no roles", which the service refuses by name.
    values.setdefault("mentor_roles", [])
    return values


def _form(
    programme: Programme | None,
    values: dict[str, Any],
    *,
    errors: Any = None,
    warnings: list[str] | None = None,
) -> str:
    current = {f: getattr(programme, f) for f in programmes.EDITABLE_FIELDS} if programme else {}
    if not programme:
        current = {"title": "", **programmes.defaults()}
    return render_template(
        "pages/programme_form.html",
        programme=programme,
        v={**current, **values},
        errors=errors or {},
        warnings=warnings or [],
        choices=CHOICES,
    )
