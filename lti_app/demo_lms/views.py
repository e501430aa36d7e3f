"""The demo LMS at ``/demo``: a real LTI 1.3 platform inside the app, for ``make run`` (development only).

It drives Tandem exactly as Moodle does, through the browser: a launch link answers an auto-submitting
login initiation to ``/lti/login``; the tool sends the browser to ``/demo/auth``, which checks the OIDC
request and answers an auto-submitting form posting a signed ``id_token`` to ``/lti/launch``. Trainers add
Tandem with deep linking (``/demo/deep_link_return`` verifies the tool's signed answer), and the tool calls
the token, NRPS and AGS endpoints as it would Moodle's. Every protocol decision is the platform core's;
this module only routes, looks rows up and renders.

Registered by ``create_app`` only when ``Settings.demo_allowed`` (never in production): elsewhere every
``/demo`` address is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from config.settings import Settings
from lti_app.crypto import SecretBox
from lti_app.errors import NotFound
from lti_app.extensions import csrf, db
from lti_app.models.demo import DemoCourse, DemoLineItem, DemoPerson, DemoPlatform
from lti_app.services.keys import published_jwks
from lti_app.views.errors import error_response

from . import services as core
from . import store, vocab
from .platform import (
    DeepLinkingSettings,
    Launch,
    PlatformError,
    authorize,
    jwks,
    login_initiation,
)
from .tool_messages import AccessTokenStore, ReplayCache, decode_deep_linking_response, issue_access_token

bp = Blueprint("demo", __name__, url_prefix="/demo")

HINT_SALT = "tandem-demo-launch"
# A launch link is followed at once; an hour covers a page left open before clicking.
HINT_MAX_AGE = 3600
TRAINER_ROLES = {"instructor", "administrator"}
SERVICE_ENDPOINTS = {"demo.token", "demo.memberships", "demo.lineitems", "demo.lineitem", "demo.scores"}


class DemoState:
    """Per-app, in-memory protocol state: issued access tokens and used nonces / jtis. The demo runs in one
    development process, so memory is the right place (and a restart simply asks the tool for new tokens)."""

    def __init__(self) -> None:
        self.access_tokens = AccessTokenStore()
        self.used_jti = ReplayCache()
        self.used_dl_nonces = ReplayCache()


def _state() -> DemoState:
    state: DemoState = current_app.extensions.setdefault("tandem.demo", DemoState())
    return state


def _settings() -> Settings:
    settings: Settings = current_app.extensions["tandem.settings"]
    return settings


def _platform() -> DemoPlatform:
    platform = store.load_platform(db.session, _settings())
    if platform is None:
        raise NotFound(
            "The demo LMS is not set up yet: run 'tandem demo' (make run does).", code="demo_not_set_up"
        )
    return platform


def _hints() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_settings().secret_key, salt=HINT_SALT)


def _course(platform: DemoPlatform, context_id: str) -> DemoCourse:
    course = store.find_course(platform, context_id)
    if course is None:
        raise PlatformError("invalid_request", f"no course {context_id!r} in the demo LMS", status=404)
    return course


def _person(platform: DemoPlatform, user_id: str) -> DemoPerson:
    person = store.find_person(platform, user_id)
    if person is None:
        raise PlatformError("invalid_request", f"no person {user_id!r} in the demo LMS", status=404)
    return person


def _launch_for(platform: DemoPlatform, plan: dict[str, Any], hint: str) -> tuple[DemoPerson, Launch]:
    """Rebuild the launch a hint names: who, in which course, which link or a deep linking request."""
    person = _person(platform, str(plan.get("u", "")))
    course = _course(platform, str(plan.get("c", "")))
    if plan.get("k") == "deep_linking":
        if person.role not in TRAINER_ROLES:
            raise PlatformError("access_denied", "only trainers and admins can add Tandem to the course",
                                status=403)
        return_url = core.with_query(store.DemoUrls(_settings().base_url).deep_link_return, launch=hint)
        settings = DeepLinkingSettings(return_url=return_url, accept_types=("ltiResourceLink",))
        launch = Launch(course=store.to_course(course), kind="deep_linking", roles=person.role,
                        deep_linking=settings, message_hint=hint)
        return person, launch
    link = store.find_link(course, str(plan.get("l", "")))
    if link is None:
        raise PlatformError("invalid_request", "no such link in the demo course", status=404)
    launch = Launch(course=store.to_course(course), resource_link=store.to_link(link), roles=person.role,
                    custom=dict(link.custom or {}), message_hint=hint)
    return person, launch


def _read_hint(hint: str) -> dict[str, Any]:
    try:
        plan = _hints().loads(hint, max_age=HINT_MAX_AGE)
    except BadSignature as exc:
        raise PlatformError("invalid_request", "lti_message_hint is not one this platform issued") from exc
    if not isinstance(plan, dict):
        raise PlatformError("invalid_request", "lti_message_hint is not one this platform issued")
    return plan


# ------------------------------------------------------------------------------------------------ pages


@bp.get("/")
def home():  # type: ignore[no-untyped-def]
    platform = store.load_platform(db.session, _settings())
    if platform is None:
        return render_template("demo/not_set_up.html"), 404
    course = platform.courses[0]
    return render_template(
        "demo/home.html",
        platform=platform,
        course=course,
        people=platform.people,
        trainer_roles=TRAINER_ROLES,
        columns=store.line_items(db.session, course),
        store=store,
        added=request.args.get("added", type=int),
    )


@bp.get("/launch")
def launch():  # type: ignore[no-untyped-def]
    """Where a click on an activity lands: the login initiation, auto-submitted to the tool (Moodle sends
    it as a POST form too, launch_student.json)."""
    platform = _platform()
    kind = "deep_linking" if request.args.get("kind") == "deep_linking" else "resource_link"
    course = _course(platform, request.args["course"]) if request.args.get("course") else platform.courses[0]
    plan = {"u": request.args.get("user", ""), "c": course.context_id, "k": kind,
            "l": request.args.get("link")}
    hint = _hints().dumps(plan)
    person, lti_launch = _launch_for(platform, plan, hint)
    config = store.platform_config(platform, _settings())
    initiation = login_initiation(config, store.to_user(person), lti_launch)
    return render_template("demo/autosubmit.html", action=initiation.url, fields=initiation.params,
                           purpose="Opening Tandem…")


@bp.route("/auth", methods=["GET", "POST"])
def auth():  # type: ignore[no-untyped-def]
    """The OIDC authorization endpoint (Security Framework §5.1.1.2-5.1.1.5), answered with form_post."""
    params = {**request.args.to_dict(), **request.form.to_dict()}
    platform = _platform()
    config = store.platform_config(platform, _settings())
    try:
        person, lti_launch = _launch_for(platform, _read_hint(params.get("lti_message_hint", "")),
                                         params.get("lti_message_hint", ""))
        key = store.platform_key(platform, SecretBox(_settings().secret_key))
        answer = authorize(config, params, store.to_user(person), lti_launch, key)
    except PlatformError as exc:
        if exc.redirectable:
            # OIDC Core §3.1.2.6: the error goes back to the (already validated) redirect_uri.
            fields = {"error": exc.error, "error_description": exc.description}
            if params.get("state"):
                fields["state"] = params["state"]
            return render_template("demo/autosubmit.html", action=params["redirect_uri"], fields=fields,
                                   purpose="Returning to Tandem…")
        raise
    return render_template("demo/autosubmit.html", action=answer.redirect_uri, fields=answer.fields,
                           purpose="Signing in to Tandem…")


@bp.post("/deep_link_return")
def deep_link_return():  # type: ignore[no-untyped-def]
    """Deep Linking 2.0 §4.5: verify the tool's signed answer, then place each link in the course."""
    platform = _platform()
    hint = request.args.get("launch", "")
    person, lti_launch = _launch_for(platform, _read_hint(hint), hint)
    if lti_launch.kind != "deep_linking":
        raise PlatformError("invalid_request", "the return URL does not name a deep linking launch")
    claims = decode_deep_linking_response(
        request.form.get("JWT", ""),
        lambda: published_jwks(db.session),  # the tool is this very app: no HTTP round trip to itself
        store.platform_config(platform, _settings()),
        expected_data=None,
        replay_cache=_state().used_dl_nonces,
    )
    course = _course(platform, lti_launch.course.id)
    created = store.add_deep_linked_items(db.session, course, claims.get(vocab.CLAIM_DL_CONTENT_ITEMS, []))
    db.session.commit()
    return render_template(
        "demo/added.html", created=created, person=person,
        message=claims.get(vocab.CLAIM_DL_MSG), error=claims.get(vocab.CLAIM_DL_ERRORMSG),
    )


@bp.get("/return")
def back():  # type: ignore[no-untyped-def]
    """launch_presentation.return_url: the tool's "back to the course"."""
    return render_template("demo/autosubmit.html", action=url_for("demo.home"), fields={}, purpose="Back…",
                           method="get", target="_top")


# ---------------------------------------------------------------------------------------- platform APIs


@bp.get("/jwks")
def platform_jwks():  # type: ignore[no-untyped-def]
    platform = _platform()
    return jsonify(jwks([store.platform_key(platform, SecretBox(_settings().secret_key))]))


@bp.post("/token")
def token():  # type: ignore[no-untyped-def]
    """Client credentials with a JWT assertion (Security Framework §4.1), verified against the tool's JWKS."""
    platform = _platform()
    answer = issue_access_token(
        store.platform_config(platform, _settings()),
        request.form.to_dict(),
        lambda: published_jwks(db.session),
        replay_cache=_state().used_jti,
        token_store=_state().access_tokens,
    )
    return jsonify(answer)


def _require_token(*scopes: str) -> None:
    header = request.headers.get("Authorization", "")
    found = _state().access_tokens.get(header[7:].strip()) if header.lower().startswith("bearer ") else None
    if found is None or not found.allows(*scopes):
        raise PlatformError(
            "invalid_token", "a valid access token with the right scope is required", status=401
        )


@bp.get("/nrps/<context_id>/memberships")
def memberships(context_id: str):  # type: ignore[no-untyped-def]
    _require_token(vocab.SCOPE_NRPS)
    platform = _platform()
    course = _course(platform, context_id)
    members = store.members(platform)
    if request.args.get("role"):
        members = [m for m in members if core.role_matches(m.roles, request.args["role"])]
    body = core.membership_container(request.base_url, store.to_course(course), members, vocab.PRODUCT_MOODLE,
                                     short_roles=True)
    return jsonify(body), 200, {"Content-Type": vocab.MEDIA_MEMBERSHIP_CONTAINER}


def _lineitem_doc(platform: DemoPlatform, course: DemoCourse, item: DemoLineItem) -> dict[str, Any]:
    """A line item document whose ``id`` is the URL launches advertise (the same template fills both)."""
    config = store.platform_config(platform, _settings())
    url = config.service_url(config.lineitem_url, context_id=course.context_id, lineitem_id=str(item.id))
    return core.lineitem_json(store.to_line_item(item, course), url, vocab.PRODUCT_MOODLE)


@bp.route("/ags/<context_id>/lineitems", methods=["GET", "POST"])
def lineitems(context_id: str):  # type: ignore[no-untyped-def]
    platform = _platform()
    course = _course(platform, context_id)
    if request.method == "POST":
        _require_token(vocab.SCOPE_LINEITEM)
        fields = core.parse_lineitem(request.get_json(silent=True))
        item = store.create_line_item(db.session, course, fields)
        db.session.commit()
        return jsonify(_lineitem_doc(platform, course, item)), 201, {"Content-Type": vocab.MEDIA_LINEITEM}
    _require_token(vocab.SCOPE_LINEITEM, vocab.SCOPE_LINEITEM_READONLY)
    items = store.line_items(db.session, course)
    wanted = request.args.get("resource_link_id")
    docs = [
        _lineitem_doc(platform, course, i)
        for i in items
        if not wanted or (i.link is not None and i.link.resource_link_id == wanted)
    ]
    return jsonify(docs), 200, {"Content-Type": vocab.MEDIA_LINEITEM_CONTAINER}


@bp.get("/ags/<context_id>/lineitems/<item_id>/lineitem")
def lineitem(context_id: str, item_id: str):  # type: ignore[no-untyped-def]
    _require_token(vocab.SCOPE_LINEITEM, vocab.SCOPE_LINEITEM_READONLY)
    platform = _platform()
    course = _course(platform, context_id)
    item = store.line_item(db.session, course, item_id)
    if item is None:
        raise PlatformError("not_found", "no such line item", status=404)
    return jsonify(_lineitem_doc(platform, course, item)), 200, {"Content-Type": vocab.MEDIA_LINEITEM}


@bp.post("/ags/<context_id>/lineitems/<item_id>/lineitem/scores")
def scores(context_id: str, item_id: str):  # type: ignore[no-untyped-def]
    """AGS 2.0 §3.4: Moodle answers a score with 200 and an empty body (svc_06_ags_post_score.json)."""
    _require_token(vocab.SCOPE_SCORE)
    platform = _platform()
    course = _course(platform, context_id)
    item = store.line_item(db.session, course, item_id)
    if item is None:
        raise PlatformError("not_found", "no such line item", status=404)
    if core.media_type(request.content_type) not in (vocab.MEDIA_SCORE, "application/json"):
        raise PlatformError("invalid_request", f"scores are {vocab.MEDIA_SCORE}", status=415)
    score = core.parse_score(request.get_json(silent=True, force=True))
    if store.find_person(platform, score.user_id) is None:
        raise PlatformError("invalid_request", f"user {score.user_id!r} is not in this course")
    store.record_score(db.session, item, score)
    db.session.commit()
    return Response(status=200)


# --------------------------------------------------------------------------------------------- errors


@bp.errorhandler(PlatformError)
def _platform_error(exc: PlatformError):  # type: ignore[no-untyped-def]
    """OAuth 2 error bodies (RFC 6749 §5.2) for the service endpoints; a page for the browser ones."""
    db.session.rollback()
    if request.endpoint in SERVICE_ENDPOINTS:
        return jsonify(exc.as_json()), exc.status
    return error_response(exc.status, exc.error, f"The demo LMS refused this: {exc.description}.")


def init_app(app: Flask) -> None:
    """Called by ``create_app`` only when the demo is allowed."""
    for view in (auth, deep_link_return, token, lineitems, scores):
        csrf.exempt(view)
    app.register_blueprint(bp)

