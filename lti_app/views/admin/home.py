"""``/admin``: Tandem's administration page for an LMS admin launched into the tool.

Authorisation lives in the service (``admin_overview``, ``rotate_key_for``, ``invite_for``): any admin
sees their own platform and the tool's keys read-only; only admins of an operator platform see every
platform, may rotate the keys, which every platform shares, and invite new platforms.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from lti_app.crypto import SecretBox
from lti_app.errors import ValidationFailed
from lti_app.extensions import db
from lti_app.services.registration_invitations import INVITATION_DAYS, invite_for
from lti_app.services.registrations import admin_overview, rotate_key_for
from lti_app.web.auth import current_actor
from lti_app.web.templating import launch_url

bp = Blueprint("admin", __name__)


class InvitationFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    issuer = fields.String(load_default="")


@bp.get("/admin")
def home():  # type: ignore[no-untyped-def]
    settings = current_app.extensions["tandem.settings"]
    overview = admin_overview(db.session, current_actor(), settings)
    messages = []
    if request.args.get("rotated"):
        messages.append(("success", "A new key now signs for Tandem; the previous one stays published for "
                                    "seven days so platforms can catch up."))
    return render_template("admin/home.html", overview=overview, page_messages=messages)


@bp.post("/admin/keys/rotate")
def rotate_key():  # type: ignore[no-untyped-def]
    settings = current_app.extensions["tandem.settings"]
    rotate_key_for(db.session, current_actor(), settings, SecretBox(settings.secret_key))
    db.session.commit()
    return redirect(launch_url("admin.home", rotated=1), code=303)


@bp.post("/admin/invitations")
def invite():  # type: ignore[no-untyped-def]
    try:
        form = InvitationFormSchema().load(request.form)
    except ValidationError as exc:
        raise ValidationFailed("The invitation form is invalid.", details=exc.normalized_messages()) from None
    settings = current_app.extensions["tandem.settings"]
    issued = invite_for(db.session, current_actor(), settings, form["issuer"].strip() or None)
    return render_template("admin/invitation.html", issued=issued, days=INVITATION_DAYS)
