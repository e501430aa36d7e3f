"""The matching JSON API under ``/api/v1/programmes/<id>/matching``: the questionnaire, participants'
answers, runs with their review, pins and bans, publishing, and suggestions for self-selection.
Authenticated by the launch token as a Bearer token; every rule is checked by the matching service."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from lti_app.extensions import db
from lti_app.schemas import matching as s
from lti_app.services import matching
from lti_app.services.access import require_programme_trainer
from lti_app.web.auth import current_actor

bp = Blueprint(
    "matching_api",
    __name__,
    url_prefix="/api/v1/programmes",
    description="Matching: questionnaire, answers, runs, review, pins and bans, publishing, suggestions.",
)
PREFIX = "/<int:programme_id>/matching"


def _committed(value: Any) -> Any:
    db.session.commit()
    return value


# ------------------------------------------------------------------------------------------- questionnaire


@bp.get(f"{PREFIX}/fields")
@bp.response(200, s.ProfileFieldOut(many=True))
def profile_fields(programme_id: int):  # type: ignore[no-untyped-def]
    """Profile fields a criterion can compare, with the kinds each allows (trainers)."""
    require_programme_trainer(db.session, current_actor(), programme_id)
    return list(matching.PROFILE_FIELDS.values())


@bp.get(f"{PREFIX}/questionnaire")
@bp.response(200, s.QuestionnaireOut)
def get_questionnaire(programme_id: int):  # type: ignore[no-untyped-def]
    """The programme's criteria (with weights and kinds) and questions (trainers)."""
    return matching.get_questionnaire(db.session, current_actor(), programme_id)


@bp.put(f"{PREFIX}/criteria")
@bp.arguments(s.CriteriaIn)
@bp.response(200, s.QuestionnaireOut)
def put_criteria(data: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Replace the criteria, in order (trainers)."""
    return _committed(matching.set_criteria(db.session, current_actor(), programme_id, data["criteria"]))


@bp.post(f"{PREFIX}/questions")
@bp.arguments(s.QuestionIn)
@bp.response(201, s.QuestionOut)
def add_question(data: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Add a free choice question that participants answer when they join (trainers)."""
    return _committed(matching.add_question(db.session, current_actor(), programme_id, data))


@bp.patch(f"{PREFIX}/questions/<int:question_id>")
@bp.arguments(s.QuestionPatch(partial=True))
@bp.response(200, s.QuestionOut)
def update_question(data: dict[str, Any], programme_id: int, question_id: int):  # type: ignore[no-untyped-def]
    return _committed(matching.update_question(db.session, current_actor(), programme_id, question_id, data))


@bp.delete(f"{PREFIX}/questions/<int:question_id>")
@bp.response(204)
def delete_question(programme_id: int, question_id: int):  # type: ignore[no-untyped-def]
    """Delete a question and the criteria that read it."""
    matching.delete_question(db.session, current_actor(), programme_id, question_id)
    db.session.commit()


# ------------------------------------------------------------------------------------------------ answers


@bp.get(f"{PREFIX}/answers")
@bp.response(200, s.AnswersOut)
def get_answers(programme_id: int):  # type: ignore[no-untyped-def]
    """Your own answers to the programme's questions."""
    return matching.question_form(db.session, current_actor(), programme_id)


@bp.put(f"{PREFIX}/answers")
@bp.arguments(s.AnswersIn)
@bp.response(200, s.AnswersOut)
def put_answers(data: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Answer the programme's questions (joining the programme if you had not)."""
    actor = current_actor()
    matching.save_answers(db.session, actor, programme_id, data["answers"])
    db.session.commit()
    return matching.question_form(db.session, actor, programme_id)


# --------------------------------------------------------------------------------------------------- runs


@bp.get(f"{PREFIX}/runs")
@bp.response(200, s.RunSummaryOut(many=True))
def list_runs(programme_id: int):  # type: ignore[no-untyped-def]
    """The programme's latest runs, newest first (trainers)."""
    return matching.list_runs(db.session, current_actor(), programme_id)


@bp.post(f"{PREFIX}/runs")
@bp.arguments(s.RunIn)
@bp.response(201, s.RunSummaryOut)
def run(data: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Match the whole pool now; the previous open proposal is discarded (trainers)."""
    params = matching.RunParams(**data)
    return _committed(matching.run_matching(db.session, current_actor(), programme_id, params))


@bp.get(f"{PREFIX}/runs/<int:run_id>")
@bp.arguments(s.RunPageArgs, location="query")
@bp.response(200, s.RunOut)
def get_run(args: dict[str, Any], programme_id: int, run_id: int):  # type: ignore[no-untyped-def]
    """A run with a page of its pairs (weakest first, with scores and reasons), the unmatched and why,
    and the pins it could not honour."""
    return matching.view_run(db.session, current_actor(), programme_id, run_id, **args)


@bp.post(f"{PREFIX}/runs/<int:run_id>/rerun")
@bp.response(201, s.RunSummaryOut)
def rerun(programme_id: int, run_id: int):  # type: ignore[no-untyped-def]
    """Run again with the same settings and the latest pins and bans."""
    return _committed(matching.rerun(db.session, current_actor(), programme_id, run_id))


@bp.post(f"{PREFIX}/runs/<int:run_id>/discard")
@bp.response(200, s.RunSummaryOut)
def discard(programme_id: int, run_id: int):  # type: ignore[no-untyped-def]
    return _committed(matching.discard(db.session, current_actor(), programme_id, run_id))


@bp.post(f"{PREFIX}/runs/<int:run_id>/publish")
@bp.response(200, s.PublishOut)
def publish(programme_id: int, run_id: int):  # type: ignore[no-untyped-def]
    """Create the relationships, all or none, and notify people. They start active or wait for
    acceptance as the programme's rules say."""
    return _committed(matching.publish(db.session, current_actor(), programme_id, run_id))


# ------------------------------------------------------------------------------------------ pins and bans


@bp.get(f"{PREFIX}/constraints")
@bp.response(200, s.ConstraintOut(many=True))
def list_constraints(programme_id: int):  # type: ignore[no-untyped-def]
    return matching.list_constraints(db.session, current_actor(), programme_id)


@bp.post(f"{PREFIX}/constraints")
@bp.arguments(s.ConstraintIn)
@bp.response(201, s.ConstraintOut)
def add_constraint(data: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Pin (``fixed``) or forbid a pair for every later run (trainers)."""
    row = matching.set_constraint(
        db.session, current_actor(), programme_id, data["mentee_id"], data["mentor_id"], data["kind"]
    )
    return _committed(row)


@bp.delete(f"{PREFIX}/constraints/<int:constraint_id>")
@bp.response(204)
def delete_constraint(programme_id: int, constraint_id: int):  # type: ignore[no-untyped-def]
    matching.remove_constraint(db.session, current_actor(), programme_id, constraint_id)
    db.session.commit()


# ------------------------------------------------------------------------------------------------ suggest


@bp.get(f"{PREFIX}/suggestions")
@bp.arguments(s.SuggestionArgs, location="query")
@bp.response(200, s.SuggestionOut(many=True))
def suggestions(args: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Your best mentors by the programme's questionnaire, with scores and reasons (self-selection)."""
    return matching.suggest_mentors(db.session, current_actor(), programme_id, args["n"])
