"""Completion pages: the trainer's progress and gradebook sync page per programme (retry, resend all), the
rule editor, and a participant's own progress. Also the template helpers other pages include
(``completion/_sync_status.html`` on the programme overview, ``completion/_my_progress.html`` on a
programme's page): they load their data through the same services, and show nothing to whoever may not see
it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from lti_app.errors import TandemError, ValidationFailed
from lti_app.extensions import db
from lti_app.schemas.completion import SyncRetryIn, rule_from_form
from lti_app.services.completion import overview
from lti_app.services.completion.rules import (
    ACTIVE_DAYS,
    CONDITION_KINDS,
    CONDITION_LABELS,
    GOALS,
    GOALS_ALL,
    MEETINGS,
    Rule,
)
from lti_app.views.pages.support import done, notices, parse
from lti_app.web.auth import current_actor, optional_actor
from lti_app.web.templating import launch_url

bp = Blueprint("completion", __name__)

NOTICES = {
    "rule_saved": "Completion rule saved. Everyone's progress has been re-evaluated.",
    "retried": "Failed deliveries will be tried again in a moment.",
    "resent": "Every reported completion will be sent to the gradebook again.",
}
# Where a rule error about a condition shows on the form.
FIELD_OF = {
    (ACTIVE_DAYS, "days"): "active_days",
    (MEETINGS, "count"): "meetings_count",
    (MEETINGS, "confirmed"): "meetings_confirmed",
    (GOALS, "count"): "goals_count",
    (GOALS, "mode"): "goals_mode",
}


@bp.get("/programmes/<int:programme_id>/completion")
def programme(programme_id: int) -> str:
    view = overview.programme_completion(db.session, current_actor(), programme_id)
    overview_url = (
        launch_url("pages.programme_overview", programme_id=programme_id)
        if "pages.programme_overview" in current_app.view_functions
        else None
    )
    return render_template(
        "completion/programme.html", c=view, overview_url=overview_url, page_messages=_messages()
    )


@bp.route("/programmes/<int:programme_id>/completion/rule", methods=["GET", "POST"])
def rule(programme_id: int) -> Any:
    actor = current_actor()
    found, current = overview.rule_of(db.session, actor, programme_id)
    if request.method == "GET":
        return _rule_form(found, form_state(current), {})
    data = rule_from_form(request.form)
    try:
        overview.set_rule(db.session, actor, programme_id, data)
    except ValidationFailed as exc:
        db.session.rollback()
        return _rule_form(found, dict(request.form), form_errors(data, exc.details or {})), 422
    db.session.commit()
    return _done(programme_id, "rule_saved")


@bp.post("/programmes/<int:programme_id>/completion/retry")
def retry(programme_id: int) -> Response:
    data = parse(SyncRetryIn(), {k: v for k, v in request.form.items() if v != ""})
    overview.retry_failed(db.session, current_actor(), programme_id, data.get("job_id"))
    db.session.commit()
    return _done(programme_id, "retried")


@bp.post("/programmes/<int:programme_id>/completion/resend")
def resend(programme_id: int) -> Response:
    overview.resend_all(db.session, current_actor(), programme_id)
    db.session.commit()
    return _done(programme_id, "resent")


@bp.get("/programmes/<int:programme_id>/completion/me")
def mine(programme_id: int) -> str:
    progress = overview.my_progress(db.session, current_actor(), programme_id)
    return render_template("completion/mine.html", p=progress)


# ------------------------------------------------------------------------------------ template helpers


@bp.app_template_global("completion_overview")
def completion_overview(programme_id: int) -> overview.ProgrammeCompletion | None:
    """For the programme overview's include: the sync section, for trainers; nothing for anyone else."""
    actor = optional_actor()
    if actor is None:
        return None
    try:
        return overview.programme_completion(db.session, actor, programme_id)
    except TandemError:
        return None


@bp.app_template_global("my_completion")
def my_completion(programme_id: int) -> overview.MyProgress | None:
    actor = optional_actor()
    if actor is None:
        return None
    try:
        return overview.my_progress(db.session, actor, programme_id)
    except TandemError:
        return None


# ------------------------------------------------------------------------------------------- the form


def form_state(current: Rule) -> dict[str, Any]:
    """The editor's fields for a stored rule (sensible numbers for conditions not chosen yet)."""
    state: dict[str, Any] = {
        "active_days": 30,
        "meetings_count": 4,
        "meetings_confirmed": False,
        "goals_mode": GOALS_ALL,
        "goals_count": 1,
        "score_mode": current.score_mode,
        "mentors_complete": current.mentors_complete,
        "report_progress": current.report_progress,
    }
    for condition in current.conditions:
        state[f"use_{condition.kind}"] = True
        if condition.kind == ACTIVE_DAYS:
            state["active_days"] = condition.amount
        elif condition.kind == MEETINGS:
            state["meetings_count"] = condition.amount
            state["meetings_confirmed"] = condition.confirmed
        elif condition.kind == GOALS:
            state["goals_mode"] = condition.goals_mode
            if condition.amount:
                state["goals_count"] = condition.amount
    return state


def form_errors(data: dict[str, Any], details: dict[str, Any]) -> dict[str, list[str]]:
    """Rule errors (``conditions.0.days``) keyed by the form field that shows them."""
    conditions = data.get("conditions") or []
    found: dict[str, list[str]] = {}
    for where, messages in details.items():
        parts = str(where).split(".")
        field = parts[0]
        if (
            parts[0] == "conditions"
            and len(parts) == 3
            and parts[1].isdigit()
            and int(parts[1]) < len(conditions)
        ):
            kind = conditions[int(parts[1])].get("kind")
            field = FIELD_OF.get((kind, parts[2]), f"use_{kind}")
        found.setdefault(field, []).extend(messages if isinstance(messages, list) else [str(messages)])
    return found


def _rule_form(found: Any, values: dict[str, Any], errors: dict[str, list[str]]) -> str:
    return render_template(
        "completion/rule.html",
        programme=found,
        v=values,
        errors=errors,
        kinds=CONDITION_KINDS,
        labels=CONDITION_LABELS,
    )


def _messages() -> list[tuple[str, str]]:
    return notices(NOTICES)


def _done(programme_id: int, notice: str) -> Response:
    return done("completion.programme", notice, programme_id=programme_id)
