"""``/admin/moodle-ws``: an LMS admin connects Tandem to Moodle web services for their platform (site URL,
token, which Moodle profile fields fill which Tandem profile fields).

The token is write-only: the page says whether one is stored, never shows it back, and a blank token
field keeps the stored one while the site URL stays the same (a new URL needs the token again, and the URL
must be on the platform's own site). Saving checks the connection first (``core_webservice_get_site_info``),
so a wrong URL or token is refused before it is stored.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request

from lms_clients import LMSHttp, LMSRequestError
from lti_app.crypto import SecretBox
from lti_app.extensions import db
from lti_app.schemas.roster import MoodleWsForm
from lti_app.services import moodle_profiles as service
from lti_app.views.pages.support import parse
from lti_app.web.auth import current_actor
from lti_app.web.templating import launch_url

bp = Blueprint("moodle_ws", __name__)

HTTP_KEY = "tandem.moodle_ws_http"  # app.extensions override: the LMSHttp factory (tests)
BLANK_ROWS = 3
NOTICES = {
    "saved": ("success", "Saved. Moodle accepted the token, and it may call every function Tandem needs."),
    "partial": ("warning", "Saved. The token may not call core_completion_get_course_completion_status: "
                           "course completion from Moodle will not be shown."),
    "cleared": ("success", "Moodle web service settings removed; the token is deleted."),
}


def _http() -> LMSHttp:
    factory = current_app.extensions.get(HTTP_KEY)
    if factory is not None:
        return factory()  # type: ignore[no-any-return]
    # An admin is waiting: fail fast rather than retry at length.
    return LMSHttp(connect_timeout=5.0, read_timeout=15.0, max_attempts=2, backoff_max=1.0)


def _box() -> SecretBox:
    return SecretBox(current_app.extensions["tandem.settings"].secret_key)


def _render(settings: service.MoodleWsSettings, messages: list[tuple[str, str]]) -> str:
    rows = list(settings.field_map.items()) + [("", "")] * BLANK_ROWS
    return render_template(
        "roster/moodle_ws.html", settings=settings, rows=rows, targets=service.PROFILE_TARGETS,
        standard_fields=service.STANDARD_FIELDS, page_messages=messages,
    )


@bp.get("/admin/moodle-ws")
def settings_page():  # type: ignore[no-untyped-def]
    registration = service.admin_registration(db.session, current_actor())
    notice = NOTICES.get(request.args.get("done", ""))
    return _render(service.current_settings(registration), [notice] if notice else [])


@bp.post("/admin/moodle-ws")
def save():  # type: ignore[no-untyped-def]
    registration = service.admin_registration(db.session, current_actor())
    data = parse(MoodleWsForm(), {
        "action": request.form.get("action", "save"),
        "url": request.form.get("url", ""),
        "token": request.form.get("token", ""),
        "moodle_field": request.form.getlist("moodle_field"),
        "profile_field": request.form.getlist("profile_field"),
    })
    if data["action"] == "clear":
        service.clear(db.session, registration)
        db.session.commit()
        return redirect(launch_url("moodle_ws.settings_page", done="cleared"), code=303)
    if data["action"] == "check":
        return _check(registration)
    with _http() as http:
        check = service.configure(
            db.session, registration, url=data["url"], token=data["token"] or None, field_map=data["mapping"],
            box=_box(), http=http,
        )
    db.session.commit()
    done = "partial" if check is not None and check.missing_optional else "saved"
    return redirect(launch_url("moodle_ws.settings_page", done=done), code=303)


def _check(registration):  # type: ignore[no-untyped-def]
    """Check the stored settings without changing them; the answer is shown on the page."""
    settings = service.current_settings(registration)
    try:
        with _http() as http:
            check = service.check_stored(registration, _box(), http)
    except LMSRequestError as exc:
        return _render(settings, [("danger", f"Moodle did not accept the connection: {exc.message}")])
    return _render(settings, [("success" if check.ok else "danger", check.summary)])
