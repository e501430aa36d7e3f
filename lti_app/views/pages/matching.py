"""Matching pages: the questions participants answer when they join a programme, and the trainer's
questionnaire editor, runs, review (pin, forbid, rerun) and publish.

Views stay thin: parse with the API's schemas, call one service, render or redirect. The learner home and
the mentor search page show matching through two template functions offered here (``matching_questions_due``
and ``matching_suggestions``), so those pages need only an include.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from lti_app.domain.numbers import parse_id
from lti_app.errors import TandemError, ValidationFailed
from lti_app.extensions import db
from lti_app.models.matching import CRITERION_KINDS
from lti_app.schemas import matching as s
from lti_app.services import matching
from lti_app.views.pages.support import done, notices, parse
from lti_app.web.auth import current_actor, optional_actor

bp = Blueprint("matching", __name__)

NOTICES = {
    "answers_saved": "Thank you: your answers are saved.",
    "criteria_saved": "Matching criteria saved.",
    "question_saved": "Question saved.",
    "question_deleted": "Question deleted, with the criteria that used it.",
    "run_done": "Matching done: review the proposed pairs below.",
    "constraint_saved": "Saved. Run matching again to apply it.",
    "constraint_removed": "Removed. Run matching again to apply it.",
    "discarded": "Proposal discarded.",
    "published": "Published: the relationships are created and people are notified.",
}
KIND_LABELS = {
    "similarity": "Similar is better",
    "complementarity": "Mentor offers what the mentee wants",
    "must": "Must hold",
    "must_not": "Must not hold",
}
BLANK_CRITERIA = 3


def _messages() -> list[tuple[str, str]]:
    return notices(NOTICES)


# ---------------------------------------------------------------------------------------------- learners


@bp.route("/programmes/<int:programme_id>/questions", methods=["GET", "POST"])
def questions(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    if request.method == "GET":
        form = matching.question_form(db.session, actor, programme_id)
        return render_template("matching/questions.html", f=form, errors={}, page_messages=_messages())
    form = matching.question_form(db.session, actor, programme_id)
    answers = s.answers_from_form(request.form, [q.key for q in form.questions])
    try:
        matching.save_answers(db.session, actor, programme_id, answers)
    except ValidationFailed as exc:
        db.session.rollback()
        form.answers = answers
        return render_template("matching/questions.html", f=form, errors=exc.details or {}), 422
    db.session.commit()
    return done("matching.questions", "answers_saved", programme_id=programme_id)


# ---------------------------------------------------------------------------------------------- trainers


@bp.get("/programmes/<int:programme_id>/matching")
def home(programme_id: int):  # type: ignore[no-untyped-def]
    view = matching.matching_home(db.session, current_actor(), programme_id)
    return render_template(
        "matching/home.html",
        h=view,
        solvers=matching.SOLVERS,
        scopes=matching.SCOPES,
        page_messages=_messages(),
    )


@bp.route("/programmes/<int:programme_id>/matching/questionnaire", methods=["GET", "POST"])
def questionnaire(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    if request.method == "GET":
        return _questionnaire(matching.get_questionnaire(db.session, actor, programme_id), None, {})
    items = s.criteria_from_form(request.form)
    try:
        data = parse(s.CriteriaIn(), {"criteria": items})
        matching.set_criteria(db.session, actor, programme_id, data["criteria"])
    except ValidationFailed as exc:
        db.session.rollback()
        current = matching.get_questionnaire(db.session, actor, programme_id)
        return _questionnaire(current, items, exc.details or {}), 422
    db.session.commit()
    return done("matching.questionnaire", "criteria_saved", programme_id=programme_id)


def _questionnaire(q: matching.Questionnaire, rows: list[dict[str, Any]] | None, errors: Any) -> str:
    if rows is None:
        rows = [
            {
                "source": c.source,
                "field": c.field,
                "kind": c.kind,
                "weight": c.weight,
                "tolerance": c.tolerance,
            }
            for c in q.criteria
        ]
    rows = rows + [{}] * BLANK_CRITERIA
    return render_template(
        "matching/questionnaire.html",
        q=q,
        rows=rows,
        errors=errors,
        profile_fields=list(matching.PROFILE_FIELDS.values()),
        kinds=CRITERION_KINDS,
        kind_labels=KIND_LABELS,
        page_messages=_messages(),
    )


@bp.post("/programmes/<int:programme_id>/matching/questions")
def question_new(programme_id: int):  # type: ignore[no-untyped-def]
    data = parse(s.QuestionIn(), s.question_from_form(request.form))
    matching.add_question(db.session, current_actor(), programme_id, data)
    db.session.commit()
    return done("matching.questionnaire", "question_saved", programme_id=programme_id)


@bp.post("/programmes/<int:programme_id>/matching/questions/<int:question_id>")
def question_edit(programme_id: int, question_id: int):  # type: ignore[no-untyped-def]
    data = parse(s.QuestionPatch(), s.question_from_form(request.form))
    matching.update_question(db.session, current_actor(), programme_id, question_id, data)
    db.session.commit()
    return done("matching.questionnaire", "question_saved", programme_id=programme_id)


@bp.post("/programmes/<int:programme_id>/matching/questions/<int:question_id>/delete")
def question_delete(programme_id: int, question_id: int):  # type: ignore[no-untyped-def]
    matching.delete_question(db.session, current_actor(), programme_id, question_id)
    db.session.commit()
    return done("matching.questionnaire", "question_deleted", programme_id=programme_id)


@bp.post("/programmes/<int:programme_id>/matching/runs")
def run(programme_id: int):  # type: ignore[no-untyped-def]
    data = parse(
        s.RunIn(), {k: v for k, v in request.form.items() if k not in ("csrf_token", "lt") and v != ""}
    )
    found = matching.run_matching(db.session, current_actor(), programme_id, matching.RunParams(**data))
    db.session.commit()
    return done("matching.review", "run_done", programme_id=programme_id, run_id=found.id)


@bp.get("/programmes/<int:programme_id>/matching/runs/<int:run_id>")
def review(programme_id: int, run_id: int):  # type: ignore[no-untyped-def]
    args = parse(s.RunPageArgs(), request.args)
    found = matching.review(db.session, current_actor(), programme_id, run_id, **args)
    return render_template("matching/review.html", r=found, v=found.view, page_messages=_messages())


@bp.post("/programmes/<int:programme_id>/matching/runs/<int:run_id>/rerun")
def rerun(programme_id: int, run_id: int):  # type: ignore[no-untyped-def]
    found = matching.rerun(db.session, current_actor(), programme_id, run_id)
    db.session.commit()
    return done("matching.review", "run_done", programme_id=programme_id, run_id=found.id)


@bp.post("/programmes/<int:programme_id>/matching/runs/<int:run_id>/discard")
def discard(programme_id: int, run_id: int):  # type: ignore[no-untyped-def]
    matching.discard(db.session, current_actor(), programme_id, run_id)
    db.session.commit()
    return done("matching.home", "discarded", programme_id=programme_id)


@bp.post("/programmes/<int:programme_id>/matching/runs/<int:run_id>/publish")
def publish(programme_id: int, run_id: int):  # type: ignore[no-untyped-def]
    matching.publish(db.session, current_actor(), programme_id, run_id)
    db.session.commit()
    return done("matching.review", "published", programme_id=programme_id, run_id=run_id)


@bp.post("/programmes/<int:programme_id>/matching/constraints")
def constraint_add(programme_id: int):  # type: ignore[no-untyped-def]
    data = parse(s.ConstraintIn(), request.form)
    back = _back(programme_id, "constraint_saved")  # before saving: a bad form saves nothing
    matching.set_constraint(
        db.session, current_actor(), programme_id, data["mentee_id"], data["mentor_id"], data["kind"]
    )
    db.session.commit()
    return back


@bp.post("/programmes/<int:programme_id>/matching/constraints/<int:constraint_id>/delete")
def constraint_delete(programme_id: int, constraint_id: int):  # type: ignore[no-untyped-def]
    back = _back(programme_id, "constraint_removed")
    matching.remove_constraint(db.session, current_actor(), programme_id, constraint_id)
    db.session.commit()
    return back


def _back(programme_id: int, notice: str) -> Response:
    """To the review the form was on (``run_id`` in the form), else the matching home. A ``run_id`` that is
    not an id is a 422, found before anything is saved."""
    raw = request.form.get("run_id", "")
    if raw == "":
        return done("matching.home", notice, programme_id=programme_id)
    run_id = parse_id(raw)
    if run_id is None:
        raise ValidationFailed("Some fields are missing or invalid.", details={"run_id": ["Not a valid id."]})
    return done("matching.review", notice, programme_id=programme_id, run_id=run_id)


# ------------------------------------------------------------------------- functions for others' templates


def _questions_due() -> list[Any]:
    """Programmes whose matching questions the launched learner still has to answer (home page)."""
    actor = optional_actor()
    if actor is None or actor.course_id is None:
        return []
    return matching.questions_due(db.session, actor, actor.course_id)


def _suggestions(programme_id: int, n: int = 5) -> list[matching.MentorSuggestion]:
    """The launched person's best mentors by the programme's questionnaire (mentor search page). An
    optional panel: a refusal here shows no suggestions rather than failing the page around it."""
    actor = optional_actor()
    if actor is None:
        return []
    try:
        return matching.suggest_mentors(db.session, actor, programme_id, n)
    except TandemError:
        return []


@bp.app_context_processor
def _matching_context() -> dict[str, Any]:
    return {"matching_questions_due": _questions_due, "matching_suggestions": _suggestions}
