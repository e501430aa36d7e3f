"""``/lti/register``: the tool side of LTI Dynamic Registration 1.0, opened by the LMS in a dialog.

It works on GET, as the spec has the platform open it: no cookie or CSRF token could survive the LMS's
third-party iframe. The platform's one-time registration token authorises the exchange on its side; on
Tandem's, in production, the operator's invitation in the URL (``invite``) does. The page (and
any error page) may be framed by the site that asked, which is not registered yet, so the usual
``frame-ancestors`` list of registered platforms would hide it.
"""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, Response, current_app, render_template, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from lti_app.errors import ValidationFailed
from lti_app.extensions import db
from lti_app.services.dynamic_registration import register_platform, registration_policy
from lti_app.services.registrations import tool_urls
from lti_app.web.security import csp_nonce

bp = Blueprint("lti_register", __name__)


class RegistrationRequestSchema(Schema):
    """Dynamic Registration 1.0 §3.3: the query the platform opens the tool's registration URL with."""

    class Meta:
        unknown = EXCLUDE

    openid_configuration = fields.String(required=True)
    registration_token = fields.String(load_default=None)
    # Tandem's own parameter, kept by the platform from the URL the operator handed out.
    invite = fields.String(load_default=None)


def _asking_origin() -> str | None:
    """The origin of the platform's configuration URL, rebuilt from its parts so nothing else of the
    query can reach the header."""
    parts = urlparse(request.args.get("openid_configuration", ""))
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host or not all(c.isalnum() or c in ".-:" for c in host):
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


@bp.after_request
def _frame_for_the_asking_platform(response: Response) -> Response:
    origin = _asking_origin()
    ancestors = f"'self' {origin}" if origin else "'self'"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self' 'nonce-{csp_nonce()}'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/lti/register")
def register():  # type: ignore[no-untyped-def]
    try:
        query = RegistrationRequestSchema().load(request.args)
    except ValidationError as exc:
        raise ValidationFailed(
            "This address is opened by your LMS during tool registration: paste it into the LMS's "
            "'register by URL' field rather than opening it here.",
            details=exc.normalized_messages(),
        ) from None
    settings = current_app.extensions["tandem.settings"]
    outcome = register_platform(
        db.session,
        configuration_url=query["openid_configuration"],
        registration_token=query["registration_token"],
        urls=tool_urls(settings.base_url),
        policy=registration_policy(settings),
        invitation=query["invite"],
    )
    db.session.commit()
    current_app.extensions["tandem.platform_origins"].refresh()
    return render_template("admin/registered.html", outcome=outcome, registration=outcome.registration)
