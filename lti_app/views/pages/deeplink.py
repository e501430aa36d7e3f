"""Adding Tandem to a course.

``deeplink.choose`` answers an ``LtiDeepLinkingRequest``: the trainer picks a programme of the course (or
creates one), and the page posts the signed deep linking response back to the LMS by itself (a button does
it without JavaScript). ``deeplink.setup`` is the same choice for a resource link added without deep
linking: trainers pick its programme, learners are told it is not set up yet. ``placement_setup()`` lets the
landing pages show a notice about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, session
from sqlalchemy import select

from lti_app.crypto import SecretBox
from lti_app.errors import LaunchError, TandemError, ValidationFailed
from lti_app.extensions import db
from lti_app.lti import claims as c
from lti_app.models.course import Placement
from lti_app.models.programme import Programme
from lti_app.schemas.completion import ProgrammeChoiceIn, choice_from_form
from lti_app.services.completion import placements
from lti_app.services.keys import signing_key
from lti_app.views.pages.support import parse
from lti_app.web.auth import current_actor, optional_actor
from lti_app.web.templating import launch_url

bp = Blueprint("deeplink", __name__)


@bp.route("/lti/deep-linking", methods=["GET", "POST"])
def choose() -> Any:
    actor = current_actor()
    launch = _deep_linking_launch()
    data = launch.get_launch_data()
    settings = placements.deep_linking_settings(data)
    if actor.course_id is None:
        raise LaunchError("Tandem can only be added inside a course.", code="missing_context")
    if request.method == "GET":
        choices = placements.programme_choices(db.session, actor, actor.course_id)
        return _chooser(choices, settings=settings)
    choice = parse(ProgrammeChoiceIn(), choice_from_form(request.form))
    try:
        programme = placements.choose_programme(db.session, actor, actor.course_id, **choice)
    except ValidationFailed as exc:
        db.session.rollback()
        choices = placements.programme_choices(db.session, actor, actor.course_id)
        return _chooser(choices, settings=settings, errors=exc.details), 422
    registration = launch.registration
    key = signing_key(db.session, SecretBox(current_app.extensions["tandem.settings"].secret_key))
    token = placements.response_jwt(
        client_id=registration.client_id,
        issuer=registration.issuer,
        deployment_id=str(data.get(c.DEPLOYMENT_ID)),
        settings=settings,
        items=[placements.content_item(programme, _launch_endpoint())],
        kid=key.kid,
        private_key_pem=key.private_key_pem,
    )
    db.session.commit()
    response = Response(
        render_template(
            "deeplink/return.html",
            return_url=settings["deep_link_return_url"],
            jwt=token,
            programme=programme,
        )
    )
    # The page holds a signed answer for the LMS: never cached.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/placements/<int:placement_id>/setup", methods=["GET", "POST"])
def setup(placement_id: int) -> Any:
    actor = current_actor()
    placement = placements.placement_for(db.session, actor, placement_id)
    existing = placements.programme_for_placement(db.session, placement)
    if existing is not None:
        db.session.commit()
        return _open(existing, actor.is_trainer)
    if not actor.is_trainer:
        return render_template("deeplink/not_set_up.html", placement=placement)
    if request.method == "GET":
        return _chooser(
            placements.programme_choices(db.session, actor, placement.course_id), placement=placement
        )
    choice = parse(ProgrammeChoiceIn(), choice_from_form(request.form))
    try:
        programme = placements.attach_programme(db.session, actor, placement_id, **choice)
    except ValidationFailed as exc:
        db.session.rollback()
        choices = placements.programme_choices(db.session, actor, placement.course_id)
        return _chooser(choices, placement=placement, errors=exc.details), 422
    db.session.commit()
    return _open(programme, True)


# ------------------------------------------------------------------------------------ template helpers


@dataclass(frozen=True)
class PlacementState:
    placement: Placement
    programme: Programme | None
    course_has_programmes: bool
    is_trainer: bool


@bp.app_template_global("placement_setup")
def placement_setup() -> PlacementState | None:
    """For the landing pages: the launched resource link and its programme, when it has none yet."""
    actor = optional_actor()
    if actor is None or actor.placement_id is None:
        return None
    try:
        placement = placements.placement_for(db.session, actor, actor.placement_id)
    except TandemError:
        return None
    programme = placements.programme_for_placement(db.session, placement)
    if programme is not None:
        return None
    has_any = db.session.scalar(
        select(Programme.id)
        .where(Programme.course_id == placement.course_id, Programme.status != "draft")
        .limit(1)
    )
    return PlacementState(placement, None, has_any is not None, actor.is_trainer)


# ------------------------------------------------------------------------------------------- internals


def _deep_linking_launch() -> Any:
    from lti_app.lti.wiring import restore_launch

    launch_id = session.get("launch_id")
    if session.get("message_type") != c.DEEP_LINKING_REQUEST or not launch_id:
        raise LaunchError(
            "This page answers the LMS when a trainer adds Tandem to a course. Start from the LMS: add an "
            "activity and choose Tandem.",
            code="not_deep_linking",
        )
    return restore_launch(str(launch_id))


def _launch_endpoint() -> str:
    return current_app.extensions["tandem.settings"].base_url + "/lti/launch"


def _chooser(
    choices: list[Programme],
    *,
    settings: Mapping[str, Any] | None = None,
    placement: Placement | None = None,
    errors: Any = None,
) -> str:
    action = (
        launch_url("deeplink.setup", placement_id=placement.id)
        if placement
        else launch_url("deeplink.choose")
    )
    return render_template(
        "deeplink/choose.html",
        choices=choices,
        action=action,
        placement=placement,
        heading=(settings or {}).get("title") or "",
        errors=errors or {},
        values=dict(request.form) if request.method == "POST" else {},
    )


def _open(programme: Programme, trainer: bool) -> Response:
    """The programme's page (its overview for trainers), wherever the pages feature put it."""
    wanted = "pages.programme_overview" if trainer else "pages.programme"
    if wanted not in current_app.view_functions:
        wanted = "completion.programme" if trainer else "completion.mine"
    return redirect(launch_url(wanted, programme_id=programme.id), code=303)  # type: ignore[return-value]
