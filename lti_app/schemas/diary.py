"""Request and response shapes of the diary, goals, check-ins and momentum (API and page forms alike).

Field-level checks live here; rules that need the relationship or the programme (who may write, owners,
linked goals, dates) live in the services.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from lti_app.domain.markdown import render_markdown
from lti_app.domain.tags import normalise_tags
from lti_app.models.checkin import COMMENT_MAX, PAIRING_ANSWERS
from lti_app.models.diary import ACTION_TEXT_MAX, ENTRY_KINDS, SHARED, TITLE_MAX, VISIBILITIES
from lti_app.models.goal import GOAL_STATUSES
from lti_app.services.checkins import CheckInInput
from lti_app.services.diary import (
    BODY_MAX,
    MAX_ACTION_ITEMS,
    MAX_MEETING_MINUTES,
    ActionItemInput,
    EntryInput,
)
from lti_app.services.goals import MAX_MILESTONES, TEXT_MAX, GoalInput, MilestoneInput

MAX_FORM_ACTION_ROWS = MAX_ACTION_ITEMS
MAX_FORM_MILESTONE_ROWS = MAX_MILESTONES


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


def _person(person: Any) -> dict[str, Any] | None:
    return {"id": person.id, "name": person.display_name} if person is not None else None


class PersonRef(Schema):
    id = fields.Integer()
    name = fields.String()


# --------------------------------------------------------------------------------------------- diary


class ActionItemIn(_In):
    id = fields.Integer(allow_none=True, load_default=None, metadata={"description": "An existing item's id"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=ACTION_TEXT_MAX))
    owner_id = fields.Integer(allow_none=True, load_default=None)
    due_on = fields.Date(allow_none=True, load_default=None)
    done = fields.Boolean(load_default=False)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> ActionItemInput:
        return ActionItemInput(**data)


class EntryIn(_In):
    kind = fields.String(required=True, validate=validate.OneOf(ENTRY_KINDS))
    visibility = fields.String(
        load_default=SHARED, validate=validate.OneOf(VISIBILITIES),
        metadata={"description": "private: its author's alone; shared: the programme's reader rules apply"},
    )
    occurred_on = fields.Date(required=True, metadata={"description": "The day it happened"})
    duration_minutes = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=1, max=MAX_MEETING_MINUTES),
        metadata={"description": "Meetings only"},
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=TITLE_MAX))
    body = fields.String(
        load_default="", validate=validate.Length(max=BODY_MAX), metadata={"description": "Markdown"}
    )
    topics = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list)
    action_items = fields.List(
        fields.Nested(ActionItemIn), load_default=list, validate=validate.Length(max=MAX_ACTION_ITEMS)
    )
    goal_ids = fields.List(fields.Integer(), load_default=list)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> EntryInput:
        data.pop("version", None)
        return EntryInput(**data)


class EntryUpdateIn(EntryIn):
    version = fields.Integer(
        required=True,
        metadata={"description": "The version this edit is based on; an older one is refused (409)"},
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> tuple[int, EntryInput]:  # type: ignore[override]
        version = data.pop("version")
        return version, EntryInput(**data)


class EntriesArgs(_In):
    kind = fields.String(validate=validate.OneOf(ENTRY_KINDS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class DueArgs(_In):
    within_days = fields.Integer(load_default=14, validate=validate.Range(min=0, max=365))


class DoneIn(_In):
    done = fields.Boolean(required=True)


class ActionItemOut(Schema):
    id = fields.Integer()
    entry_id = fields.Integer()
    relationship_id = fields.Integer()
    text = fields.String()
    owner = fields.Function(lambda item: _person(item.owner), metadata={"type": "object"})
    due_on = fields.Date(allow_none=True)
    done = fields.Boolean()
    done_at = fields.DateTime(allow_none=True)


class EntryOut(Schema):
    id = fields.Integer()
    relationship_id = fields.Integer()
    author = fields.Function(lambda entry: _person(entry.author), metadata={"type": "object"})
    kind = fields.String()
    visibility = fields.String()
    occurred_on = fields.Date()
    duration_minutes = fields.Integer(allow_none=True)
    title = fields.String()
    body = fields.String(metadata={"description": "Markdown as typed"})
    body_html = fields.Function(
        lambda entry: str(render_markdown(entry.body)),
        metadata={"description": "The body rendered and sanitised: safe to insert as HTML"},
    )
    topics = fields.List(fields.String())
    action_items = fields.List(fields.Nested(ActionItemOut))
    goal_ids = fields.Function(lambda entry: [g.id for g in entry.goals], metadata={"type": "array"})
    version = fields.Integer()
    confirmed = fields.Function(lambda entry: entry.confirmed_at is not None, metadata={"type": "boolean"})
    confirmed_by_id = fields.Integer(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)
    last_edited_by_id = fields.Integer(allow_none=True)
    deleted_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class EntryVersionOut(Schema):
    version = fields.Integer()
    edited_by = fields.Function(lambda v: _person(v.edited_by), metadata={"type": "object"})
    edited_at = fields.DateTime()
    kind = fields.String()
    visibility = fields.String()
    occurred_on = fields.Date()
    duration_minutes = fields.Integer(allow_none=True)
    title = fields.String()
    body = fields.String()
    body_html = fields.Function(lambda v: str(render_markdown(v.body)))
    topics = fields.List(fields.String())
    action_items = fields.List(fields.Dict())


class MeetingMarkOut(Schema):
    entry_id = fields.Integer()
    occurred_on = fields.Date()
    duration_minutes = fields.Integer(allow_none=True)
    confirmed = fields.Boolean()


# --------------------------------------------------------------------------------------------- goals


class MilestoneIn(_In):
    id = fields.Integer(allow_none=True, load_default=None)
    title = fields.String(required=True, validate=validate.Length(min=1, max=TITLE_MAX))
    due_on = fields.Date(allow_none=True, load_default=None)
    done = fields.Boolean(load_default=False)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> MilestoneInput:
        return MilestoneInput(**data)


class GoalIn(_In):
    title = fields.String(required=True, validate=validate.Length(min=1, max=TITLE_MAX))
    description = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))
    success_measure = fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))
    due_on = fields.Date(allow_none=True, load_default=None)
    owner_id = fields.Integer(
        allow_none=True, load_default=None, metadata={"description": "A mentor proposing names the mentee"}
    )
    milestones = fields.List(
        fields.Nested(MilestoneIn), allow_none=True, load_default=None,
        validate=validate.Length(max=MAX_MILESTONES),
        metadata={"description": "The full list (items named by id are kept); omit to keep them as they are"},
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> GoalInput:
        data.pop("version", None)
        return GoalInput(**data)


class GoalUpdateIn(GoalIn):
    version = fields.Integer(allow_none=True, load_default=None)

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> tuple[int | None, GoalInput]:  # type: ignore[override]
        version = data.pop("version", None)
        return version, GoalInput(**data)


class ProgressIn(_In):
    progress = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0, max=100))
    status = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(GOAL_STATUSES))

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("progress") is None and data.get("status") is None:
            raise ValidationError("Give a progress, a status or both.", field_name="progress")


class MilestoneOut(Schema):
    id = fields.Integer()
    title = fields.String()
    due_on = fields.Date(allow_none=True)
    done = fields.Boolean()
    done_at = fields.DateTime(allow_none=True)


class ProgressPointOut(Schema):
    at = fields.DateTime()
    progress = fields.Integer()
    status = fields.String()
    recorded_by_id = fields.Integer(allow_none=True)


class GoalOut(Schema):
    id = fields.Integer()
    programme_id = fields.Integer()
    relationship_id = fields.Integer(allow_none=True)
    owner = fields.Function(lambda goal: _person(goal.owner), metadata={"type": "object"})
    proposed_by_id = fields.Integer(allow_none=True)
    is_proposal = fields.Boolean()
    title = fields.String()
    description = fields.String()
    success_measure = fields.String()
    due_on = fields.Date(allow_none=True)
    status = fields.String()
    progress = fields.Integer()
    achieved_at = fields.DateTime(allow_none=True)
    version = fields.Integer()
    milestones = fields.List(fields.Nested(MilestoneOut))
    history = fields.List(fields.Nested(ProgressPointOut))


# ------------------------------------------------------------------------------------------ check-ins


class CheckInIn(_In):
    usefulness = fields.Integer(
        required=True, validate=validate.Range(min=1, max=5),
        metadata={"description": "How useful was this relationship this month? 1 (not) to 5 (very)"},
    )
    pairing = fields.String(
        required=True, validate=validate.OneOf(PAIRING_ANSWERS),
        metadata={"description": "Is the pairing working?"},
    )
    comment = fields.String(load_default="", validate=validate.Length(max=COMMENT_MAX))
    entry_id = fields.Integer(
        allow_none=True, load_default=None, metadata={"description": "Answering after this meeting entry"}
    )

    @post_load
    def _make(self, data: dict[str, Any], **_: Any) -> CheckInInput:
        return CheckInInput(**data)


class CheckInOut(Schema):
    id = fields.Integer()
    relationship_id = fields.Integer()
    person_id = fields.Integer()
    period = fields.String()
    entry_id = fields.Integer(allow_none=True)
    usefulness = fields.Integer()
    pairing = fields.String()
    comment = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PairingAlertOut(Schema):
    id = fields.Integer()
    programme_id = fields.Integer()
    relationship_id = fields.Integer()
    person_id = fields.Integer()
    raised_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by_id = fields.Integer(allow_none=True)


# ------------------------------------------------------------------------------------------- momentum


class MomentumArgs(_In):
    months = fields.Integer(load_default=6, validate=validate.Range(min=1, max=24))


class PairMomentumOut(Schema):
    relationship_id = fields.Integer()
    status = fields.String()
    mentor_names = fields.List(fields.String())
    mentee_names = fields.List(fields.String())
    started_on = fields.Date(allow_none=True)
    meetings_by_month = fields.Dict(keys=fields.String(), values=fields.Integer())
    meetings_total = fields.Integer()
    confirmed_total = fields.Integer()
    last_meeting_on = fields.Date(allow_none=True)
    days_since_last_meeting = fields.Integer(allow_none=True)
    meeting_overdue = fields.Boolean()
    open_action_items = fields.Integer()
    overdue_action_items = fields.Integer()
    open_alerts = fields.Integer()


class MomentumOut(Schema):
    programme_id = fields.Function(lambda m: m.programme.id, metadata={"type": "integer"})
    today = fields.Date()
    months = fields.List(fields.String())
    pairs = fields.List(fields.Nested(PairMomentumOut))
    alerts = fields.List(fields.Nested(PairingAlertOut))


# ------------------------------------------------------------------------------------------ page forms


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _checked(form: Any, key: str) -> bool:
    return form.get(key) not in (None, "", "0", "false", "off")


def entry_form_data(form: Any) -> dict[str, Any]:
    """The editor's form as ``EntryUpdateIn`` expects it. Action items come as numbered rows
    (``action-<n>-text``, ``-owner``, ``-due``, ``-done``, ``-id``); rows without text are skipped, so
    clearing an item's text removes it."""
    items = []
    for n in range(MAX_FORM_ACTION_ROWS + 10):
        text = (form.get(f"action-{n}-text") or "").strip()
        item_id = _blank_to_none(form.get(f"action-{n}-id"))
        if not text:  # a blank row adds nothing; an item whose text was cleared is removed
            continue
        items.append({
            "id": item_id, "text": text, "owner_id": _blank_to_none(form.get(f"action-{n}-owner")),
            "due_on": _blank_to_none(form.get(f"action-{n}-due")), "done": _checked(form, f"action-{n}-done"),
        })
    data: dict[str, Any] = {
        "kind": form.get("kind", ""), "visibility": form.get("visibility", SHARED),
        "occurred_on": _blank_to_none(form.get("occurred_on")),
        "duration_minutes": _blank_to_none(form.get("duration_minutes")),
        "title": (form.get("title") or "").strip(), "body": form.get("body") or "",
        "topics": normalise_tags(form.get("topics") or ""),
        "action_items": items,
        "goal_ids": [g for g in form.getlist("goal_ids") if g],
    }
    if form.get("version"):
        data["version"] = form.get("version")
    return data


def goal_form_data(form: Any) -> dict[str, Any]:
    milestones = []
    for n in range(MAX_FORM_MILESTONE_ROWS + 10):
        title = (form.get(f"milestone-{n}-title") or "").strip()
        milestone_id = _blank_to_none(form.get(f"milestone-{n}-id"))
        if not title:
            continue
        milestones.append({
            "id": milestone_id, "title": title, "due_on": _blank_to_none(form.get(f"milestone-{n}-due")),
            "done": _checked(form, f"milestone-{n}-done"),
        })
    data: dict[str, Any] = {
        "title": (form.get("title") or "").strip(), "description": form.get("description") or "",
        "success_measure": form.get("success_measure") or "", "due_on": _blank_to_none(form.get("due_on")),
        "owner_id": _blank_to_none(form.get("owner_id")), "milestones": milestones,
    }
    if form.get("version"):
        data["version"] = form.get("version")
    return data


def progress_form_data(form: Any) -> dict[str, Any]:
    return {"progress": _blank_to_none(form.get("progress")), "status": _blank_to_none(form.get("status"))}


def checkin_form_data(form: Any) -> dict[str, Any]:
    return {
        "usefulness": _blank_to_none(form.get("usefulness")), "pairing": form.get("pairing") or "",
        "comment": form.get("comment") or "", "entry_id": _blank_to_none(form.get("entry_id")),
    }
