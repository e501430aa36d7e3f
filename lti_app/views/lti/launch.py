"""``/lti/login`` (OIDC third-party initiated login) and ``/lti/launch`` (the id_token post).

Both are cross-site by nature (the LMS posts them), so they are exempt from CSRF tokens: the OIDC state
(cookie or platform storage) and the single-use nonce are what bind a launch to the browser that started it.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from lti_app.errors import LaunchError
from lti_app.extensions import csrf, db
from lti_app.lti import claims as c
from lti_app.lti.protocol import STORAGE_NONCE_FIELD, STORAGE_PROOF_FIELD, StorageCheckRequired
from lti_app.lti.wiring import build_launch, build_login, launch_payload, redirect_uri
from lti_app.models.person import ADMIN, LMS_MENTOR, PARTICIPANT, TRAINER
from lti_app.services.launch import LaunchResult, record_launch
from lti_app.web.launch_session import TOKEN_PARAM, start_launch_session

log = logging.getLogger("tandem.launch")

bp = Blueprint("lti", __name__)
csrf.exempt(bp)

# Where each kind of launch lands. These pages belong to other areas; if one is not there (yet), the
# launch lands on a plain page of this blueprint rather than failing.
LANDING_DEEP_LINKING = "deeplink.choose"
LANDING_TRAINER = "pages.course_programmes"
LANDING_PARTICIPANT = "pages.home"
LANDING_ADMIN = "admin.home"
LANDING_FALLBACK = "lti.landing"


@bp.route("/lti/login", methods=["GET", "POST"])
def login() -> Response:
    oidc, cookies = build_login(request)
    try:
        auth = oidc.auth_request(redirect_uri(current_app))
    except LaunchError as exc:
        _log_refusal("login", exc)
        raise
    db.session.commit()
    response: Response
    if auth.storage_target:
        response = make_response(
            render_template(
                "lti/login_storage.html",
                storage={
                    "auth_url": auth.url,
                    "state": auth.state,
                    "nonce": auth.nonce,
                    "target": auth.storage_target,
                    "origin": auth.platform_origin,
                },
            )
        )
    else:
        response = redirect(auth.url, code=302)
    cookies.apply(response)
    return _no_store(response)


@bp.post("/lti/launch")
def launch() -> Response:
    message, cookies = build_launch(request)
    try:
        message.validate()
    except StorageCheckRequired as check:
        return _no_store(
            make_response(
                render_template(
                    "lti/launch_storage.html",
                    fields={
                        "id_token": request.form.get("id_token", ""),
                        "state": check.state,
                    },
                    storage={
                        "state": check.state,
                        "nonce": check.nonce,
                        "target": check.storage_target,
                        "origin": check.platform_origin,
                        "state_field": STORAGE_PROOF_FIELD,
                        "nonce_field": STORAGE_NONCE_FIELD,
                    },
                )
            )
        )
    except LaunchError as exc:
        _log_refusal("launch", exc)
        raise
    result = record_launch(
        db.session(),
        registration=message.registration,
        deployment=message.deployment,
        claims=message.get_launch_data(),
    )
    token = start_launch_session(current_app, launch_payload(result, message))
    location = landing_url(result, token)
    log.info(
        "launch accepted: registration=%s course=%s placement=%s message=%s roles=%s",
        message.registration.id,
        result.course.id if result.course else None,
        result.placement.id if result.placement else None,
        result.message_type,
        ",".join(result.roles) or "-",
    )
    # Everything above is read before the commit, which expires the ORM objects.
    db.session.commit()
    response = redirect(location, code=303)
    cookies.expire(message.state)
    cookies.apply(response)
    return _no_store(response)


@bp.get("/lti/landing")
def landing() -> str:
    """Shown only when the page a launch should land on is not part of this build."""
    return render_template("lti/landing.html")


def landing_endpoint(message_type: str, roles: tuple[str, ...] | list[str]) -> str:
    if message_type == c.DEEP_LINKING_REQUEST:
        return LANDING_DEEP_LINKING
    if TRAINER in roles:
        return LANDING_TRAINER
    if PARTICIPANT in roles or LMS_MENTOR in roles:
        return LANDING_PARTICIPANT
    if ADMIN in roles:
        return LANDING_ADMIN
    return LANDING_PARTICIPANT


def landing_url(result: LaunchResult, token: str) -> str:
    """The landing page's URL with the launch token; path arguments it needs come from the launch."""
    endpoint = landing_endpoint(result.message_type, result.roles)
    known: dict[str, Any] = {
        "course_id": result.course.id if result.course else None,
        "placement_id": result.placement.id if result.placement else None,
    }
    rules = list(current_app.url_map.iter_rules(endpoint)) if endpoint in current_app.view_functions else []
    for rule in rules:
        if all(known.get(arg) is not None for arg in rule.arguments):
            values: dict[str, Any] = {arg: known[arg] for arg in rule.arguments}
            values[TOKEN_PARAM] = token
            try:
                return url_for(endpoint, **values)
            except BuildError:
                break
    log.warning("landing page %s is not available; using %s", endpoint, LANDING_FALLBACK)
    fallback: dict[str, Any] = {TOKEN_PARAM: token}
    return url_for(LANDING_FALLBACK, **fallback)


def _log_refusal(step: str, exc: LaunchError) -> None:
    # The code and message name the LMS (issuer, client id, deployment) at most, never the person.
    log.warning("%s refused: %s (%s)", step, exc.code, exc.status)


def _no_store(response: Response) -> Response:
    # Login and launch answers carry state, nonces and tokens: never cached by a browser or proxy.
    response.headers["Cache-Control"] = "no-store"
    return response
