"""Pages of the relationship journal (timeline, goals, action items due, check-in), the entry editor, an
entry's history, goal forms, and the trainers' momentum page.

Views stay thin: parse with the API's schemas, call one service, render or redirect. The one extra care is
for the editor: a save that fails (invalid field, or someone else saved first) renders the editor again with
everything the person typed, and for a stale save also the version saved meanwhile, so nothing typed is
ever lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request
from marshmallow import Schema, ValidationError

from lti_app.domain.markdown import render_markdown
from lti_app.domain.numbers import parse_id, parse_int
from lti_app.errors import StaleVersion, ValidationFailed
from lti_app.extensions import db
from lti_app.models.base import utcnow
from lti_app.models.checkin import PAIRING_LABELS
from lti_app.models.diary import ENTRY_KINDS, PRIVATE, SHARED, DiaryEntry
from lti_app.models.goal import GOAL_STATUSES, STATUS_LABELS, Goal, GoalProgress
from lti_app.schemas.diary import (
    CheckInIn,
    EntryIn,
    EntryUpdateIn,
    GoalIn,
    GoalUpdateIn,
    ProgressIn,
    checkin_form_data,
    entry_form_data,
    goal_form_data,
    progress_form_data,
)
from lti_app.services import checkins, diary, goals, momentum
from lti_app.web.auth import current_actor
from lti_app.web.templating import launch_url

bp = Blueprint("diary", __name__)

MOMENTUM_MONTHS = (1, 24)  # as the API's ``MomentumArgs``
BLANK_ACTION_ROWS = 3
BLANK_MILESTONE_ROWS = 3
NOTICES = {
    "entry_saved": "Diary entry saved.",
    "entry_deleted": "Entry deleted. You can restore it from the bottom of this page.",
    "entry_restored": "Entry restored.",
    "entry_purged": "Entry purged: its content and history are gone for good.",
    "meeting_confirmed": "Meeting confirmed.",
    "item_updated": "Action item updated.",
    "goal_saved": "Goal saved.",
    "goal_accepted": "Goal accepted.",
    "progress_saved": "Progress saved.",
    "checkin_saved": "Thank you: your check-in is saved. Only you and the programme's trainers see it.",
    "alert_resolved": "Alert resolved.",
}


# --- helpers --------------------------------------------------------------------------------------------


@bp.app_template_filter("markdown")
def _markdown(source: str | None) -> Any:
    return render_markdown(source)


@bp.app_template_global("diary_endpoint_exists")
def _endpoint_exists(name: str) -> bool:
    return name in current_app.view_functions


@bp.app_template_global("diary_sparkline")
def sparkline(history: list[GoalProgress], width: int = 160, height: int = 40) -> dict[str, Any]:
    """Coordinates for a goal's progress chart: x by time, y by percent. Drawn as inline SVG with the
    values as text too, so it reads without colour and without sight."""
    pad = 4
    if not history:
        return {"points": [], "polyline": "", "width": width, "height": height, "label": "No progress yet"}
    start, end = history[0].at, history[-1].at
    span = (end - start).total_seconds() or 1.0
    points = []
    for n, point in enumerate(history):
        if len(history) == 1:
            x = width / 2
        elif end == start:
            x = pad + (width - 2 * pad) * n / (len(history) - 1)
        else:
            x = pad + (width - 2 * pad) * (point.at - start).total_seconds() / span
        y = height - pad - (height - 2 * pad) * point.progress / 100
        points.append({"x": round(x, 1), "y": round(y, 1), "progress": point.progress, "at": point.at})
    label = "Progress over time: " + ", ".join(f"{p['progress']}% on {p['at']:%d %b %Y}" for p in points)
    return {
        "points": points, "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
        "width": width, "height": height, "label": label,
    }


def _notices() -> list[tuple[str, str]]:
    done = request.args.get("done", "")
    return [("success", NOTICES[done])] if done in NOTICES else []


def _done(endpoint: str, notice: str, **values: Any) -> Response:
    """Post/redirect/get, keeping the launch token on the way."""
    return redirect(launch_url(endpoint, done=notice, **values), code=303)  # type: ignore[return-value]


def _load(schema: Schema, data: Mapping[str, Any]) -> Any:
    """Load form data with the API's schema; a bad field is a 422 naming it, as on the API."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed("Some fields are missing or invalid.", details=exc.messages) from exc


def _back_to_journal(relationship_id: int, notice: str, **extra: Any) -> Response:
    return _done("diary.journal", notice, relationship_id=relationship_id, **extra)


def _draft_key(person_id: int, relationship_id: int, entry_id: int | None) -> str:
    """Where the browser keeps this person's unsaved words. The person is part of the key: on a shared
    computer the other member opening the same editor must not be offered them."""
    target = f"entry-{entry_id}" if entry_id else f"new-{relationship_id}"
    return f"p{person_id}-{target}"


# --- journal --------------------------------------------------------------------------------------------


@bp.get("/relationships/<int:relationship_id>/journal")
def journal(relationship_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    page = diary.journal(db.session, actor, relationship_id)
    return render_template(
        "diary/journal.html", page=page, access=page.access, relationship=page.access.relationship,
        programme=page.access.programme, today=utcnow().date(), pairing_labels=PAIRING_LABELS,
        status_labels=STATUS_LABELS, statuses=GOAL_STATUSES, page_messages=_notices(),
        clear_draft=request.args.get("cleared", ""),
    )


# --- entry editor ---------------------------------------------------------------------------------------


def _entry_values(entry: DiaryEntry | None, access: diary.DiaryAccess) -> dict[str, Any]:
    if entry is None:
        return {
            "kind": "meeting", "visibility": SHARED if access.writes_shared else PRIVATE,
            "occurred_on": utcnow().date().isoformat(), "duration_minutes": "", "title": "", "body": "",
            "topics": "", "goal_ids": [], "version": "",
            "action_items": [],
        }
    return {
        "kind": entry.kind, "visibility": entry.visibility, "occurred_on": entry.occurred_on.isoformat(),
        "duration_minutes": entry.duration_minutes or "", "title": entry.title, "body": entry.body,
        "topics": ", ".join(entry.topics), "goal_ids": [g.id for g in entry.goals], "version": entry.version,
        "action_items": [
            {"id": i.id, "text": i.text, "owner_id": i.owner_id or "",
             "due_on": i.due_on.isoformat() if i.due_on else "", "done": i.done}
            for i in entry.action_items
        ],
    }


def _posted_values() -> dict[str, Any]:
    """What the person typed, as the editor shows it again after a failed save."""
    form = request.form
    data = entry_form_data(form)
    return {
        "kind": form.get("kind", ""), "visibility": form.get("visibility", SHARED),
        "occurred_on": form.get("occurred_on", ""), "duration_minutes": form.get("duration_minutes", ""),
        "title": form.get("title", ""), "body": form.get("body", ""), "topics": form.get("topics", ""),
        # What was typed comes back as the schema refused it: "²" passes str.isdigit() but not int().
        "goal_ids": [n for n in map(parse_id, data["goal_ids"]) if n is not None],
        "version": form.get("version", ""),
        "action_items": [
            {"id": i["id"] or "", "text": i["text"], "owner_id": _int_or_blank(i["owner_id"]),
             "due_on": i["due_on"] or "", "done": i["done"]}
            for i in data["action_items"]
        ],
    }


def _int_or_blank(value: Any) -> Any:
    number = parse_id(value)
    return "" if number is None else number


def _render_editor(
    context: diary.Editor, values: dict[str, Any], *, status: int = 200, errors: Any = None,
    saved: DiaryEntry | None = None, error_message: str | None = None,
):  # type: ignore[no-untyped-def]
    rows = list(values["action_items"]) + [
        {"id": "", "text": "", "owner_id": "", "due_on": "", "done": False} for _ in range(BLANK_ACTION_ROWS)
    ]
    entry = context.entry
    return render_template(
        "diary/editor.html", context=context, access=context.access, entry=entry, values=values,
        action_rows=rows, kinds=ENTRY_KINDS, errors=errors or {}, saved=saved, error_message=error_message,
        draft_key=_draft_key(context.access.person_id, context.access.relationship.id, entry.id if entry else None),
        restore_draft=status == 200,
    ), status


@bp.route("/relationships/<int:relationship_id>/journal/new", methods=["GET", "POST"])
def new_entry(relationship_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    context = diary.editor(db.session, actor, relationship_id=relationship_id)
    if request.method == "GET":
        return _render_editor(context, _entry_values(None, context.access))
    try:
        entry_input = _load(EntryIn(), entry_form_data(request.form))
        diary.create_entry(db.session, actor, relationship_id, entry_input)
    except ValidationFailed as exc:
        db.session.rollback()
        context = diary.editor(db.session, actor, relationship_id=relationship_id)
        return _render_editor(
            context, _posted_values(), status=422, errors=exc.details, error_message=exc.message
        )
    db.session.commit()
    return _back_to_journal(
        relationship_id, "entry_saved", cleared=_draft_key(actor.person_id, relationship_id, None)
    )


@bp.route("/diary/<int:entry_id>/edit", methods=["GET", "POST"])
def edit_entry(entry_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    context = diary.editor(db.session, actor, entry_id=entry_id)
    if request.method == "GET":
        return _render_editor(context, _entry_values(context.entry, context.access))
    relationship_id = context.access.relationship.id
    try:
        based_on, entry_input = _load(EntryUpdateIn(), entry_form_data(request.form))
        diary.update_entry(db.session, actor, entry_id, based_on, entry_input)
    except StaleVersion as exc:
        db.session.rollback()
        # Offer the version saved meanwhile next to what this person typed; saving again is now a decision
        # taken knowing the other version, so the form is based on it.
        context = diary.editor(db.session, actor, entry_id=entry_id)
        values = _posted_values()
        values["version"] = context.entry.version if context.entry else values["version"]
        return _render_editor(context, values, status=409, saved=context.entry, error_message=exc.message)
    except ValidationFailed as exc:
        db.session.rollback()
        context = diary.editor(db.session, actor, entry_id=entry_id)
        return _render_editor(
            context, _posted_values(), status=422, errors=exc.details, error_message=exc.message
        )
    db.session.commit()
    return _back_to_journal(
        relationship_id, "entry_saved", cleared=_draft_key(actor.person_id, relationship_id, entry_id)
    )


@bp.get("/diary/<int:entry_id>/history")
def history(entry_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    entry = diary.get_entry(db.session, actor, entry_id)
    versions = diary.entry_versions(db.session, actor, entry_id)
    return render_template("diary/history.html", entry=entry, versions=versions)


def _entry_action(entry_id: int, action: Callable[..., DiaryEntry], notice: str) -> Response:
    actor = current_actor()
    entry = action(db.session, actor, entry_id)
    relationship_id = entry.relationship_id
    db.session.commit()
    return _back_to_journal(relationship_id, notice)


@bp.post("/diary/<int:entry_id>/confirm")
def confirm(entry_id: int):  # type: ignore[no-untyped-def]
    return _entry_action(entry_id, diary.confirm_meeting, "meeting_confirmed")


@bp.post("/diary/<int:entry_id>/delete")
def delete(entry_id: int):  # type: ignore[no-untyped-def]
    return _entry_action(entry_id, diary.delete_entry, "entry_deleted")


@bp.post("/diary/<int:entry_id>/restore")
def restore(entry_id: int):  # type: ignore[no-untyped-def]
    return _entry_action(entry_id, diary.restore_entry, "entry_restored")


@bp.post("/diary/<int:entry_id>/purge")
def purge(entry_id: int):  # type: ignore[no-untyped-def]
    return _entry_action(entry_id, diary.purge_entry, "entry_purged")


@bp.post("/diary/purge")
def purge_by_number():  # type: ignore[no-untyped-def]
    """Admins purge by entry number: where they may not read the diary they cannot click on the entry."""
    # A well-formed number beyond any row is an entry that does not exist (404), not a malformed form (422).
    number = parse_int(request.form.get("entry_id"), low=1, high=10**19)
    if number is None:
        raise ValidationFailed("Give the entry's number.", details={"entry_id": ["A whole number."]})
    return _entry_action(number, diary.purge_entry, "entry_purged")


@bp.post("/diary/action-items/<int:item_id>/done")
def action_item_done(item_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    done = request.form.get("done") not in (None, "", "0", "false", "off")
    item = diary.set_action_item_done(db.session, actor, item_id, done)
    relationship_id = item.relationship_id
    db.session.commit()
    return _back_to_journal(relationship_id, "item_updated")


# --- goals ----------------------------------------------------------------------------------------------


def _goal_values(goal: Goal | None) -> dict[str, Any]:
    if goal is None:
        return {"title": "", "description": "", "success_measure": "", "due_on": "", "owner_id": "",
                "version": "", "milestones": []}
    return {
        "title": goal.title, "description": goal.description, "success_measure": goal.success_measure,
        "due_on": goal.due_on.isoformat() if goal.due_on else "", "owner_id": goal.owner_id,
        "version": goal.version,
        "milestones": [
            {"id": m.id, "title": m.title, "due_on": m.due_on.isoformat() if m.due_on else "", "done": m.done}
            for m in goal.milestones
        ],
    }


def _render_goal_form(
    relationship_id: int, goal: Goal | None, values: dict[str, Any], *, status: int = 200,
    errors: Any = None, error_message: str | None = None,
):  # type: ignore[no-untyped-def]
    context = None
    if goal is None:
        context = diary.editor(db.session, current_actor(), relationship_id=relationship_id)
    mentees = [] if context is None else [
        p for p in context.members if p.id in context.access.relationship.person_ids("mentee")
    ]
    rows = list(values["milestones"]) + [
        {"id": "", "title": "", "due_on": "", "done": False} for _ in range(BLANK_MILESTONE_ROWS)
    ]
    return render_template(
        "diary/goal_form.html", relationship_id=relationship_id, goal=goal, values=values, rows=rows,
        mentees=mentees, member_role=context.access.member_role if context else None, errors=errors or {},
        error_message=error_message,
    ), status


@bp.route("/relationships/<int:relationship_id>/goals/new", methods=["GET", "POST"])
def new_goal(relationship_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    if request.method == "GET":
        return _render_goal_form(relationship_id, None, _goal_values(None))
    try:
        data = _load(GoalIn(), goal_form_data(request.form))
        goals.create_goal(db.session, actor, data, relationship_id=relationship_id)
    except ValidationFailed as exc:
        db.session.rollback()
        values = {**goal_form_data(request.form), "version": ""}
        return _render_goal_form(
            relationship_id, None, values, status=422, errors=exc.details, error_message=exc.message
        )
    db.session.commit()
    return _back_to_journal(relationship_id, "goal_saved")


@bp.route("/goals/<int:goal_id>/edit", methods=["GET", "POST"])
def edit_goal(goal_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    goal = goals.get_goal(db.session, actor, goal_id)
    relationship_id = goal.relationship_id
    if relationship_id is None:
        return _done("diary.personal_goals", "", programme_id=goal.programme_id)
    if request.method == "GET":
        return _render_goal_form(relationship_id, goal, _goal_values(goal))
    try:
        based_on, data = _load(GoalUpdateIn(), goal_form_data(request.form))
        goals.update_goal(db.session, actor, goal_id, data, based_on)
    except (ValidationFailed, StaleVersion) as exc:
        db.session.rollback()
        goal = goals.get_goal(db.session, actor, goal_id)
        values = {**goal_form_data(request.form), "version": goal.version}
        status = 409 if isinstance(exc, StaleVersion) else 422
        details = exc.details if isinstance(exc, ValidationFailed) else None
        return _render_goal_form(
            relationship_id, goal, values, status=status, errors=details, error_message=exc.message
        )
    db.session.commit()
    return _back_to_journal(relationship_id, "goal_saved")


def _after_goal_change(goal: Goal, notice: str) -> Response:
    db.session.commit()
    if goal.relationship_id is None:
        return _done("diary.personal_goals", notice, programme_id=goal.programme_id)
    return _back_to_journal(goal.relationship_id, notice)


@bp.post("/goals/<int:goal_id>/progress")
def goal_progress(goal_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    data = _load(ProgressIn(), progress_form_data(request.form))
    goal = goals.record_progress(db.session, actor, goal_id, progress=data["progress"], status=data["status"])
    return _after_goal_change(goal, "progress_saved")


@bp.post("/goals/<int:goal_id>/accept")
def accept_goal(goal_id: int):  # type: ignore[no-untyped-def]
    goal = goals.accept_goal(db.session, current_actor(), goal_id)
    return _after_goal_change(goal, "goal_accepted")


@bp.post("/goals/milestones/<int:milestone_id>/done")
def milestone_done(milestone_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    done = request.form.get("done") not in (None, "", "0", "false", "off")
    milestone = goals.set_milestone_done(db.session, actor, milestone_id, done)
    goal = db.session.get(Goal, milestone.goal_id)
    assert goal is not None
    return _after_goal_change(goal, "progress_saved")


@bp.route("/programmes/<int:programme_id>/my-goals", methods=["GET", "POST"])
def personal_goals(programme_id: int):  # type: ignore[no-untyped-def]
    """A mentee's personal goals in a programme, with a form to add one."""
    actor = current_actor()
    errors, message, status = None, None, 200
    values = _goal_values(None)
    if request.method == "POST":
        try:
            data = _load(GoalIn(), goal_form_data(request.form))
            goals.create_goal(db.session, actor, data, programme_id=programme_id)
            db.session.commit()
            return _done("diary.personal_goals", "goal_saved", programme_id=programme_id)
        except ValidationFailed as exc:
            db.session.rollback()
            values = {**goal_form_data(request.form), "version": ""}
            errors, message, status = exc.details, exc.message, 422
    found = goals.personal_goals(db.session, actor, programme_id)
    rows = list(values["milestones"]) + [
        {"id": "", "title": "", "due_on": "", "done": False} for _ in range(BLANK_MILESTONE_ROWS)
    ]
    return render_template(
        "diary/personal_goals.html", programme_id=programme_id, goals=found, values=values, rows=rows,
        errors=errors or {}, error_message=message, statuses=GOAL_STATUSES, status_labels=STATUS_LABELS,
        page_messages=_notices(),
    ), status


# --- check-ins ------------------------------------------------------------------------------------------


@bp.post("/relationships/<int:relationship_id>/checkin")
def checkin(relationship_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    answer = _load(CheckInIn(), checkin_form_data(request.form))
    checkins.answer_checkin(db.session, actor, relationship_id, answer)
    db.session.commit()
    return _back_to_journal(relationship_id, "checkin_saved")


# --- momentum -------------------------------------------------------------------------------------------


@bp.get("/programmes/<int:programme_id>/momentum", endpoint="momentum")
def momentum_page(programme_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    figures = momentum.programme_momentum(db.session, actor, programme_id, months=_months_asked())
    return render_template(
        "diary/momentum.html", figures=figures, programme=figures.programme, page_messages=_notices(),
        month_label=_month_label, pairs_by_id={p.relationship_id: p for p in figures.pairs},
    )


def _months_asked() -> int:
    """``?months=``: blank for the default, else a whole number in range; anything else is a 422 (it was a
    500 for "²", which ``str.isdigit()`` accepts and ``int()`` refuses)."""
    raw = request.args.get("months", "").strip()
    if not raw:
        return momentum.DEFAULT_MONTHS
    low, high = MOMENTUM_MONTHS
    number = parse_int(raw, low=low, high=high)
    if number is None:
        message = f"Between {low} and {high} months."
        raise ValidationFailed(message, details={"months": [message]})
    return number


def _month_label(key: str) -> str:
    return date(int(key[:4]), int(key[5:]), 1).strftime("%b %Y")


@bp.post("/pairing-alerts/<int:alert_id>/resolve")
def resolve_alert(alert_id: int):  # type: ignore[no-untyped-def]
    alert = checkins.resolve_alert(db.session, current_actor(), alert_id)
    programme_id = alert.programme_id
    db.session.commit()
    return _done("diary.momentum", "alert_resolved", programme_id=programme_id)
