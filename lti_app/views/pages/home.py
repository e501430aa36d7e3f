"""``/home``: a learner's mentoring home (programmes of the course, their requests and relationships,
notifications), and the notification list and email preference."""

from __future__ import annotations

from flask import render_template, request

from lti_app.domain.numbers import parse_id
from lti_app.errors import ValidationFailed
from lti_app.extensions import db
from lti_app.schemas.mentoring import EmailPreferenceIn, form_values
from lti_app.services import notifications, profiles, programmes
from lti_app.services.relationship_queries import for_person
from lti_app.views.pages.blueprint import bp, course_of, page_messages
from lti_app.views.pages.support import done, parse
from lti_app.web.auth import current_actor

HOME_NOTIFICATIONS = 5


@bp.get("/home")
def home():  # type: ignore[no-untyped-def]
    actor = current_actor()
    course_id = course_of(actor)
    own = profiles.own_profile(db.session, actor)
    return render_template(
        "pages/home.html",
        programmes=programmes.list_programmes(db.session, actor, course_id),
        mine=for_person(db.session, actor, course_id=course_id),
        notifications=notifications.for_person(db.session, actor, limit=HOME_NOTIFICATIONS),
        unread=notifications.unread_count(db.session, actor),
        render_notification=notifications.render,
        own=own,
        completeness=profiles.completeness(own.profile),
        page_messages=page_messages(),
    )


@bp.get("/notifications")
def notifications_list():  # type: ignore[no-untyped-def]
    actor = current_actor()
    own = profiles.own_profile(db.session, actor)
    return render_template(
        "pages/notifications.html",
        notifications=notifications.for_person(db.session, actor, limit=100),
        unread=notifications.unread_count(db.session, actor),
        render_notification=notifications.render,
        email_on=own.person.email_notifications,
        has_email=bool(own.person.email),
        page_messages=page_messages(),
    )


@bp.post("/notifications/read")
def notifications_read():  # type: ignore[no-untyped-def]
    actor = current_actor()
    sent = request.form.getlist("id")
    ids = [parse_id(i) for i in sent]
    if None in ids:
        raise ValidationFailed("Some fields are missing or invalid.", details={"id": ["Not a valid id."]})
    # No id at all: every notification (the "Mark all as read" button).
    notifications.mark_read(db.session, actor, [i for i in ids if i is not None] if sent else None)
    db.session.commit()
    return done("pages.notifications_list", "read")


@bp.post("/notifications/email")
def email_preference():  # type: ignore[no-untyped-def]
    actor = current_actor()
    data = parse(EmailPreferenceIn(), form_values(request.form, booleans=["email_notifications"]))
    notifications.set_email_notifications(db.session, actor, data["email_notifications"])
    db.session.commit()
    return done("pages.notifications_list", "email_on" if data["email_notifications"] else "email_off")
