"""360 feedback pages: cycles, nominations, answering (inside the LMS, or by a single-use emailed link that
needs no launch), reminders, the report with its charts, its PDF, and the trainers' templates.

Every view parses its form, makes its service call(s) and renders; authorisation lives in the services.
GET views commit too: a cycle past its closing date is closed when first looked at.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for

from lti_app.errors import NotFound, ValidationFailed
from lti_app.extensions import db
from lti_app.models.feedback import CYCLE_OPEN, GROUP_LABELS, SUBMITTED
from lti_app.schemas.feedback import (
    CycleFormSchema,
    CycleSettingsFormSchema,
    NominationFormSchema,
    TemplateFormSchema,
    answers_from_form,
    load_form,
)
from lti_app.services.access import Actor, is_course_trainer
from lti_app.services.feedback import answering, cycles, mail, nominations, report, templates
from lti_app.services.feedback.definitions import to_text
from lti_app.services.feedback.pdf import render_report_pdf
from lti_app.services.feedback.scoring import format_number
from lti_app.web.auth import current_actor
from lti_app.web.templating import launch_url

bp = Blueprint("feedback", __name__, url_prefix="/feedback")

# Confirmations after a redirect (``?done=key``): fixed texts, never echoed input.
NOTICES = {
    "created": "Your feedback cycle is ready. Now ask the people whose view you would value.",
    "nominated": "Nomination saved; the invitation is on its way.",
    "nominated_pending": "Nomination saved. A trainer approves it before the invitation goes out (always for "
    "someone outside the course).",
    "approved": "Nomination approved; the invitation is on its way.",
    "rejected": "Nomination rejected.",
    "withdrawn": "Nomination removed.",
    "reminded": "Reminders are on their way to everyone who has not answered yet.",
    "nobody_to_remind": "Nobody to remind: everyone has answered, or was reminded less than three days ago.",
    # While too few people were asked, how many were reminded would say who answered: one text for all.
    "reminders_sent": "Reminders are on their way to everyone who has not answered yet and was not reminded "
    "in the last three days.",
    "settings": "Cycle settings saved.",
    "closed": "The cycle is closed. The report is ready.",
    "saved": "Your draft is saved. You can come back to it until the cycle closes.",
    "submitted": "Thank you: your feedback is sent.",
    "declined": "You declined this request.",
    "template_saved": "Template saved.",
    "template_archived": "Template archived.",
}


def _messages() -> list[tuple[str, str]]:
    key = request.args.get("done", "")
    return [("success", NOTICES[key])] if key in NOTICES else []


def _done(endpoint: str, notice: str, **values: Any) -> Response:
    """Post/redirect/get, keeping the launch token."""
    return redirect(launch_url(endpoint, done=notice, **values), code=303)  # type: ignore[return-value]


def _course(actor: Actor) -> int:
    if actor.course_id is None:
        raise NotFound("Open Tandem from a course to use 360 feedback.", code="no_course")
    return actor.course_id


def _render(page: str, status: int = 200, /, **context: Any) -> tuple[str, int]:
    context.setdefault("page_messages", _messages())
    return render_template(page, group_labels=GROUP_LABELS, fmtnum=format_number, **context), status


# ------------------------------------------------------------------------------------------ cycles


@bp.get("")
def index():  # type: ignore[no-untyped-def]
    actor = current_actor()
    course_id = _course(actor)
    found = cycles.list_cycles(db.session, actor, course_id)
    progress = cycles.progress(db.session, [c.id for c in found])
    to_answer = answering.requests_to_answer(db.session, actor)
    trainer = is_course_trainer(db.session, actor, course_id)
    db.session.commit()
    return _render(
        "feedback/index.html", cycles=found, progress=progress, to_answer=to_answer, is_trainer=trainer,
        me=actor.person_id,
    )


@bp.route("/cycles/new", methods=["GET", "POST"])
def new_cycle():  # type: ignore[no-untyped-def]
    actor = current_actor()
    course_id = _course(actor)
    if request.method == "POST":
        arguments = load_form(CycleFormSchema(), request.form)
        cycle = cycles.create_cycle(db.session, actor, course_id=course_id, **arguments)
        db.session.commit()
        return _done("feedback.cycle", "created", cycle_id=cycle.id)
    options = cycles.start_options(db.session, actor, course_id)
    db.session.commit()
    return _render("feedback/new_cycle.html", options=options)


@bp.get("/cycles/<int:cycle_id>")
def cycle(cycle_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    access, listed = nominations.list_nominations(db.session, actor, cycle_id)
    progress = cycles.progress(db.session, [cycle_id])[cycle_id]
    people = nominations.candidates(db.session, access) if access.cycle.status == CYCLE_OPEN else []
    db.session.commit()
    own = next((n for n in listed if n.is_self), None)
    return _render(
        "feedback/cycle.html", access=access, cycle=access.cycle, nominations=listed, progress=progress,
        candidates=people, self_request=own, settings=cycles.settings_of(access.cycle),
        closes_on=(access.cycle.closes_at - timedelta(seconds=1)).date().isoformat(),
    )


@bp.post("/cycles/<int:cycle_id>/nominations")
def nominate(cycle_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    data = load_form(NominationFormSchema(), request.form)
    made = nominations.nominate(db.session, actor, cycle_id, **data)
    db.session.commit()
    return _done("feedback.cycle", "nominated" if made.invited_at else "nominated_pending", cycle_id=cycle_id)


@bp.post("/nominations/<int:request_id>/decision")
def decide(request_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    approve = request.form.get("decision") == "approve"
    made = nominations.decide_nomination(db.session, actor, request_id, approve)
    db.session.commit()
    return _done("feedback.cycle", "approved" if approve else "rejected", cycle_id=made.cycle_id)


@bp.post("/nominations/<int:request_id>/withdraw")
def withdraw(request_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    cycle_id = nominations.withdraw_nomination(db.session, actor, request_id)
    db.session.commit()
    return _done("feedback.cycle", "withdrawn", cycle_id=cycle_id)


@bp.post("/cycles/<int:cycle_id>/reminders")
def remind(cycle_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    reminded = mail.send_reminders(db.session, actor, cycle_id)
    db.session.commit()
    notice = "reminders_sent" if reminded is None else "reminded" if reminded else "nobody_to_remind"
    return _done("feedback.cycle", notice, cycle_id=cycle_id)


@bp.post("/cycles/<int:cycle_id>/settings")
def update_settings(cycle_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    data = load_form(CycleSettingsFormSchema(), request.form)
    cycles.update_cycle(db.session, actor, cycle_id, **data)
    db.session.commit()
    return _done("feedback.cycle", "settings", cycle_id=cycle_id)


@bp.post("/cycles/<int:cycle_id>/close")
def close(cycle_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    cycles.close_cycle(db.session, actor, cycle_id)
    db.session.commit()
    return _done("feedback.report", "closed", cycle_id=cycle_id)


# ------------------------------------------------------------------------------------------ report


@bp.get("/cycles/<int:cycle_id>/report", endpoint="report")
def report_page(cycle_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    built = report.build_report(db.session, actor, cycle_id)
    db.session.commit()
    rows = [("Overall", built.results.overall)] + [(c.title, c.figures) for c in built.results.competencies]
    return _render(
        "feedback/report.html", report=built, results=built.results, cycle=built.cycle, chart_rows=rows
    )


@bp.get("/cycles/<int:cycle_id>/report.pdf")
def report_pdf(cycle_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    built = report.build_report(db.session, actor, cycle_id)
    db.session.commit()
    return Response(
        render_report_pdf(built),
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="feedback-report-{cycle_id}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


# ------------------------------------------------------------------------------------------ answering


@bp.route("/requests/<int:request_id>/answer", methods=["GET", "POST"])
def answer(request_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    if request.method == "GET":
        questionnaire = answering.questionnaire_for_person(db.session, actor, request_id)
        return _render("feedback/answer.html", q=questionnaire, action_url=launch_url("feedback.answer",
                       request_id=request_id), external=False, errors={}, values=questionnaire.draft)
    action, answers = answers_from_form(request.form)
    try:
        status = answering.answer_as_person(db.session, actor, request_id, action, answers)
    except ValidationFailed as exc:
        db.session.rollback()
        questionnaire = answering.questionnaire_for_person(db.session, actor, request_id)
        return _render(
            "feedback/answer.html", 422, q=questionnaire, errors=exc.details or {}, values=answers,
            action_url=launch_url("feedback.answer", request_id=request_id), external=False,
            page_messages=[("danger", exc.message)],
        )
    db.session.commit()
    if action == answering.SAVE:
        return _done("feedback.answer", "saved", request_id=request_id)
    return _done("feedback.index", "submitted" if status == SUBMITTED else "declined")


@bp.get("/answer/<token>")
def answer_link(token: str):  # type: ignore[no-untyped-def]
    """Reached from an email, outside the LMS: the token is the only credential, and the form posts it in
    its body (not the path), so it does not end up in error logs."""
    questionnaire = answering.questionnaire_for_link(db.session, token)
    return _render(
        "feedback/answer.html", q=questionnaire, action_url=url_for("feedback.answer_link_post"), token=token,
        external=True, errors={}, values=questionnaire.draft,
    )


@bp.post("/answer")
def answer_link_post():  # type: ignore[no-untyped-def]
    token = request.form.get("token", "")
    action, answers = answers_from_form(request.form)
    try:
        status = answering.answer_by_link(db.session, token, action, answers)
    except ValidationFailed as exc:
        db.session.rollback()
        questionnaire = answering.questionnaire_for_link(db.session, token)
        return _render(
            "feedback/answer.html", 422, q=questionnaire, errors=exc.details or {}, values=answers,
            action_url=url_for("feedback.answer_link_post"), token=token, external=True,
            page_messages=[("danger", exc.message)],
        )
    db.session.commit()
    if action == answering.SAVE:
        return redirect(url_for("feedback.answer_link", token=token, done="saved"), code=303)
    return redirect(url_for("feedback.answer_done", done=status), code=303)


@bp.get("/answer/done")
def answer_done():  # type: ignore[no-untyped-def]
    return _render("feedback/answer_done.html")


# ------------------------------------------------------------------------------------------ templates


@bp.get("/templates")
def template_list():  # type: ignore[no-untyped-def]
    actor = current_actor()
    course_id = _course(actor)
    found = templates.list_templates(db.session, actor, course_id)
    trainer = is_course_trainer(db.session, actor, course_id)
    db.session.commit()
    return _render("feedback/templates.html", templates=found, is_trainer=trainer)


def _template_form_values(definition: Any) -> dict[str, Any]:
    return {
        "title": definition.title,
        "description": definition.description,
        "scale_min": definition.scale_min,
        "scale_max": definition.scale_max,
        "scale_labels": "\n".join(definition.scale_labels),
        "not_observed": definition.not_observed or "",
        "questions": to_text(definition),
    }


@bp.route("/templates/new", methods=["GET", "POST"])
def new_template():  # type: ignore[no-untyped-def]
    actor = current_actor()
    course_id = _course(actor)
    if request.method == "POST":
        try:
            raw = load_form(TemplateFormSchema(), request.form)
            templates.create_template(db.session, actor, course_id, raw)
        except ValidationFailed as exc:
            db.session.rollback()
            return _render("feedback/template_form.html", 422, values=request.form, errors=exc.details or {},
                           template=None, page_messages=[("danger", exc.message)])
        db.session.commit()
        return _done("feedback.template_list", "template_saved")
    cycles.require_trainer_here(db.session, actor, course_id)
    values = _template_form_values(templates.default_definition())
    values["title"] = ""
    return _render("feedback/template_form.html", values=values, errors={}, template=None)


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
def edit_template(template_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    course_id = _course(actor)
    template = templates.load_template(db.session, actor, template_id, course_id)
    if request.method == "POST":
        try:
            raw = load_form(TemplateFormSchema(), request.form)
            templates.revise_template(db.session, actor, template_id, raw)
        except ValidationFailed as exc:
            db.session.rollback()
            template = templates.load_template(db.session, actor, template_id, course_id)
            return _render("feedback/template_form.html", 422, values=request.form, errors=exc.details or {},
                           template=template, page_messages=[("danger", exc.message)])
        db.session.commit()
        return _done("feedback.template_list", "template_saved")
    cycles.require_trainer_here(db.session, actor, course_id)
    values = _template_form_values(templates.definition_of(template.latest))
    return _render("feedback/template_form.html", values=values, errors={}, template=template)


@bp.post("/templates/<int:template_id>/archive")
def archive_template(template_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    templates.archive_template(db.session, actor, template_id)
    db.session.commit()
    return _done("feedback.template_list", "template_archived")

