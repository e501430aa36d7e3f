"""JSON API for 360 feedback under ``/api/v1/feedback``: templates, cycles, nominations, answering and the
report. Same services, same rules and same anonymity as the pages; authenticated with the launch token."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from lti_app.errors import NotFound
from lti_app.extensions import db
from lti_app.models.feedback import FeedbackCycle, FeedbackTemplate
from lti_app.schemas.feedback import (
    FeedbackAnswerResultSchema,
    FeedbackAnswersSchema,
    FeedbackCourseQuerySchema,
    FeedbackCycleCreateSchema,
    FeedbackCycleSchema,
    FeedbackCycleUpdateSchema,
    FeedbackDecisionSchema,
    FeedbackNominationCreateSchema,
    FeedbackNominationSchema,
    FeedbackQuestionnaireSchema,
    FeedbackRemindersSchema,
    FeedbackReportSchema,
    FeedbackRequestSummarySchema,
    FeedbackTemplateCreateSchema,
    FeedbackTemplateDefinitionSchema,
    FeedbackTemplateSchema,
)
from lti_app.services.access import Actor
from lti_app.services.feedback import answering, cycles, mail, nominations, report, templates
from lti_app.services.feedback.answering import Answers, Questionnaire
from lti_app.services.feedback.cycles import CycleProgress
from lti_app.web.auth import current_actor

bp = Blueprint(
    "feedback_api", __name__, url_prefix="/api/v1/feedback",
    description="360 feedback: templates, cycles, nominations, answers and anonymous reports.",
)


def _course(actor: Actor, course_id: int | None) -> int:
    course_id = course_id or actor.course_id
    if course_id is None:
        raise NotFound("Say which course (course_id), or launch from one.", code="no_course")
    return course_id


def _template_out(template: FeedbackTemplate) -> dict[str, Any]:
    version = template.latest
    return {
        "id": template.id, "title": template.title, "builtin": template.builtin_key is not None,
        "course_id": template.course_id,
        "version": {
            "id": version.id, "number": version.number, "frozen": version.frozen,
            "definition": templates.definition_of(version).to_json(),
        },
    }


def _cycle_out(cycle: FeedbackCycle, progress: CycleProgress) -> dict[str, Any]:
    return {
        **{name: getattr(cycle, name) for name in (
            "id", "title", "course_id", "subject_id", "phase", "status", "relationship_id", "programme_id",
            "opens_at", "closes_at", "template_version_id", "anonymity_threshold", "comment_threshold",
            "allow_single_self", "allow_single_manager", "nominations_need_approval",
        )},
        "subject_name": cycle.subject.display_name,
        "completed": cycle.completed_at is not None,
        "progress": {group: vars(counts) for group, counts in progress.groups.items()},
    }


def _questionnaire_out(q: Questionnaire) -> dict[str, Any]:
    version = q.version
    return {
        "request_id": q.request.id, "cycle_id": q.cycle.id, "cycle_title": q.cycle.title,
        "subject_name": q.subject_name, "group": q.request.rater_group, "closes_at": q.cycle.closes_at,
        "notice": q.notice,
        "scale": {
            "min": version.scale_min, "max": version.scale_max, "labels": version.scale_labels,
            "not_observed": version.not_observed_label,
        },
        "open_questions": [i for i in version.items if i.competency_id is None],
        "competencies": [
            {
                "key": c.key, "title": c.title, "description": c.description,
                "items": [i for i in version.items if i.competency_id == c.id],
            }
            for c in version.competencies
        ],
        "draft": q.draft.to_json(),
    }


# ------------------------------------------------------------------------------------------ templates


@bp.get("/templates")
@bp.arguments(FeedbackCourseQuerySchema, location="query")
@bp.response(200, FeedbackTemplateSchema(many=True))
def list_templates(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    actor = current_actor()
    found = templates.list_templates(db.session, actor, _course(actor, query["course_id"]))
    db.session.commit()
    return [_template_out(t) for t in found]


@bp.post("/templates")
@bp.arguments(FeedbackTemplateCreateSchema)
@bp.response(201, FeedbackTemplateSchema)
def create_template(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    actor = current_actor()
    course_id = _course(actor, body.pop("course_id"))
    template = templates.create_template(db.session, actor, course_id, body)
    db.session.commit()
    return _template_out(template)


@bp.get("/templates/<int:template_id>")
@bp.response(200, FeedbackTemplateSchema)
def get_template(template_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    return _template_out(templates.load_template(db.session, actor, template_id, None))


@bp.put("/templates/<int:template_id>")
@bp.arguments(FeedbackTemplateDefinitionSchema)
@bp.response(200, FeedbackTemplateSchema)
def revise_template(body: dict[str, Any], template_id: int):  # type: ignore[no-untyped-def]
    """Edits in place while no cycle uses the template; otherwise adds a version."""
    actor = current_actor()
    version = templates.revise_template(db.session, actor, template_id, body)
    db.session.commit()
    return _template_out(version.template)


# ------------------------------------------------------------------------------------------ cycles


@bp.get("/cycles")
@bp.arguments(FeedbackCourseQuerySchema, location="query")
@bp.response(200, FeedbackCycleSchema(many=True))
def list_cycles(query: dict[str, Any]):  # type: ignore[no-untyped-def]
    actor = current_actor()
    found = cycles.list_cycles(db.session, actor, _course(actor, query["course_id"]))
    progress = cycles.progress(db.session, [c.id for c in found])
    db.session.commit()
    return [_cycle_out(c, progress[c.id]) for c in found]


@bp.post("/cycles")
@bp.arguments(FeedbackCycleCreateSchema)
@bp.response(201, FeedbackCycleSchema)
def create_cycle(body: dict[str, Any]):  # type: ignore[no-untyped-def]
    actor = current_actor()
    course_id = _course(actor, body.pop("course_id"))
    cycle = cycles.create_cycle(db.session, actor, course_id=course_id, **body)
    progress = cycles.progress(db.session, [cycle.id])[cycle.id]
    db.session.commit()
    return _cycle_out(cycle, progress)


@bp.get("/cycles/<int:cycle_id>")
@bp.response(200, FeedbackCycleSchema)
def get_cycle(cycle_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    access = cycles.load_cycle(db.session, actor, cycle_id)
    progress = cycles.progress(db.session, [cycle_id])[cycle_id]
    db.session.commit()
    return _cycle_out(access.cycle, progress)


@bp.patch("/cycles/<int:cycle_id>")
@bp.arguments(FeedbackCycleUpdateSchema)
@bp.response(200, FeedbackCycleSchema)
def update_cycle(body: dict[str, Any], cycle_id: int):  # type: ignore[no-untyped-def]
    """Closing date (subject or trainer); anonymity settings (trainers; never weaker once answered)."""
    actor = current_actor()
    closes_at = body.pop("closes_at", None)
    cycle = cycles.update_cycle(db.session, actor, cycle_id, closes_at=closes_at, setting_changes=body)
    progress = cycles.progress(db.session, [cycle_id])[cycle_id]
    db.session.commit()
    return _cycle_out(cycle, progress)


@bp.post("/cycles/<int:cycle_id>/close")
@bp.response(200, FeedbackCycleSchema)
def close_cycle(cycle_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    cycle = cycles.close_cycle(db.session, actor, cycle_id)
    progress = cycles.progress(db.session, [cycle_id])[cycle_id]
    db.session.commit()
    return _cycle_out(cycle, progress)


@bp.post("/cycles/<int:cycle_id>/reminders")
@bp.response(200, FeedbackRemindersSchema)
def send_reminders(cycle_id: int):  # type: ignore[no-untyped-def]
    """Remind everyone invited who has not answered (at most once every three days each). ``reminded`` is
    null while fewer people were asked than the anonymity threshold: a count would say whether they
    answered."""
    actor = current_actor()
    reminded = mail.send_reminders(db.session, actor, cycle_id)
    db.session.commit()
    return {"reminded": reminded}


@bp.get("/cycles/<int:cycle_id>/report")
@bp.response(200, FeedbackReportSchema)
def get_report(cycle_id: int):  # type: ignore[no-untyped-def]
    """Available once the cycle is closed (409 ``report_not_ready`` before)."""
    actor = current_actor()
    built = report.build_report(db.session, actor, cycle_id)
    db.session.commit()
    return report.report_to_dict(built)


# ------------------------------------------------------------------------------------------ nominations


@bp.get("/cycles/<int:cycle_id>/nominations")
@bp.response(200, FeedbackNominationSchema(many=True))
def list_nominations(cycle_id: int):  # type: ignore[no-untyped-def]
    """Who was asked; never whether a particular person answered (see the cycle's progress counts)."""
    actor = current_actor()
    _access, listed = nominations.list_nominations(db.session, actor, cycle_id)
    db.session.commit()
    return listed


@bp.post("/cycles/<int:cycle_id>/nominations")
@bp.arguments(FeedbackNominationCreateSchema)
@bp.response(201, FeedbackNominationSchema)
def nominate(body: dict[str, Any], cycle_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    made = nominations.nominate(db.session, actor, cycle_id, **body)
    db.session.commit()
    return nominations.view_of(made)


@bp.post("/nominations/<int:request_id>/decision")
@bp.arguments(FeedbackDecisionSchema)
@bp.response(200, FeedbackNominationSchema)
def decide(body: dict[str, Any], request_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    made = nominations.decide_nomination(db.session, actor, request_id, body["approve"])
    db.session.commit()
    return nominations.view_of(made)


@bp.delete("/nominations/<int:request_id>")
@bp.response(204)
def withdraw(request_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    nominations.withdraw_nomination(db.session, actor, request_id)
    db.session.commit()


# ------------------------------------------------------------------------------------------ answering


@bp.get("/requests")
@bp.response(200, FeedbackRequestSummarySchema(many=True))
def my_requests():  # type: ignore[no-untyped-def]
    actor = current_actor()
    return [
        {
            "id": r.id, "cycle_id": r.cycle_id, "cycle_title": r.cycle.title,
            "subject_name": r.cycle.subject.display_name, "group": r.rater_group,
            "closes_at": r.cycle.closes_at,
        }
        for r in answering.requests_to_answer(db.session, actor)
    ]


@bp.get("/requests/<int:request_id>")
@bp.response(200, FeedbackQuestionnaireSchema)
def get_request(request_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    return _questionnaire_out(answering.questionnaire_for_person(db.session, actor, request_id))


def _answer(request_id: int, action: str, answers: Answers) -> dict[str, str]:
    actor = current_actor()
    status = answering.answer_as_person(db.session, actor, request_id, action, answers)
    db.session.commit()
    return {"status": status}


@bp.put("/requests/<int:request_id>/draft")
@bp.arguments(FeedbackAnswersSchema)
@bp.response(200, FeedbackAnswerResultSchema)
def save_draft(answers: Answers, request_id: int):  # type: ignore[no-untyped-def]
    return _answer(request_id, answering.SAVE, answers)


@bp.post("/requests/<int:request_id>/response")
@bp.arguments(FeedbackAnswersSchema)
@bp.response(201, FeedbackAnswerResultSchema)
def submit(answers: Answers, request_id: int):  # type: ignore[no-untyped-def]
    """Once: a second submission is a 409 ``already_answered``."""
    return _answer(request_id, answering.SUBMIT, answers)


@bp.post("/requests/<int:request_id>/decline")
@bp.response(200, FeedbackAnswerResultSchema)
def decline(request_id: int):  # type: ignore[no-untyped-def]
    return _answer(request_id, answering.DECLINE, Answers())
