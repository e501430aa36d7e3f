"""Request and response shapes for completion: the rule (JSON and the editor's form), progress, sync status,
and the deep linking choice. Field checks here; the rule's own validation (``services.completion.rules``)
names every problem the same way for the page, the API and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from lti_app.services.completion.rules import (
    ACTIVE_DAYS,
    CHECKIN,
    CONDITION_KINDS,
    FEEDBACK_AFTER,
    GOALS,
    GOALS_ALL,
    GOALS_AT_LEAST,
    MEETINGS,
    RELATIONSHIP_COMPLETED,
    SCORE_MODES,
)


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


# -------------------------------------------------------------------------------------------------- rule


class CompletionConditionSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CONDITION_KINDS))
    days = fields.Integer(metadata={"description": "active_days: N days active."})
    count = fields.Integer(metadata={"description": "meetings: N meetings; goals (at_least): N goals."})
    confirmed = fields.Boolean(metadata={"description": "meetings: only those the other member confirmed."})
    mode = fields.String(
        validate=validate.OneOf((GOALS_ALL, GOALS_AT_LEAST)), metadata={"description": "goals"}
    )


class CompletionRuleSchema(_In):
    """Every condition listed must hold; an empty list means the programme has no completion rule."""

    conditions = fields.List(fields.Nested(CompletionConditionSchema), load_default=list)
    score_mode = fields.String(
        load_default="pass_fail",
        validate=validate.OneOf(SCORE_MODES),
        metadata={
            "description": "pass_fail: 100 or 0 of the line item's maximum; share: the share of "
            "conditions met."
        },
    )
    mentors_complete = fields.Boolean(
        load_default=False, metadata={"description": "Mentors get completion too."}
    )
    report_progress = fields.Boolean(
        load_default=False,
        metadata={"description": "Send InProgress/Pending scores to the LMS while the rule is not met."},
    )


# Form field → condition, for the rule editor page (one checkbox per condition, numbers beside it).
FORM_CONDITIONS = (ACTIVE_DAYS, MEETINGS, GOALS, CHECKIN, FEEDBACK_AFTER, RELATIONSHIP_COMPLETED)


def rule_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The editor's flat form as rule JSON. Numbers stay text: the rule's validation names bad ones."""

    def ticked(name: str) -> bool:
        return form.get(name) not in (None, "", "0", "false", "off")

    conditions: list[dict[str, Any]] = []
    for kind in FORM_CONDITIONS:
        if not ticked(f"use_{kind}"):
            continue
        if kind == ACTIVE_DAYS:
            conditions.append({"kind": kind, "days": form.get("active_days", "")})
        elif kind == MEETINGS:
            conditions.append(
                {
                    "kind": kind,
                    "count": form.get("meetings_count", ""),
                    "confirmed": ticked("meetings_confirmed"),
                }
            )
        elif kind == GOALS:
            mode = form.get("goals_mode", GOALS_ALL)
            condition: dict[str, Any] = {"kind": kind, "mode": mode}
            if mode == GOALS_AT_LEAST:
                condition["count"] = form.get("goals_count", "")
            conditions.append(condition)
        else:
            conditions.append({"kind": kind})
    return {
        "conditions": conditions,
        "score_mode": form.get("score_mode", "pass_fail"),
        "mentors_complete": ticked("mentors_complete"),
        "report_progress": ticked("report_progress"),
    }


# ---------------------------------------------------------------------------------------------- progress


class ConditionProgressOut(Schema):
    kind = fields.String()
    met = fields.Boolean()
    label = fields.String()
    value = fields.Integer(allow_none=True)
    target = fields.Integer(allow_none=True)


class SyncStateOut(Schema):
    status = fields.String(metadata={"description": "not_needed, pending, sent or failed"})
    at = fields.AwareDateTime(allow_none=True, metadata={"description": "sent at, failed at, or next try"})
    error = fields.String()
    attempts = fields.Integer()
    job_id = fields.Integer(allow_none=True)


class ParticipantProgressOut(Schema):
    person_id = fields.Integer()
    name = fields.String()
    role = fields.String()
    met = fields.Boolean()
    summary = fields.String(
        metadata={"description": "e.g. \u201c3 of 4 meetings, goals 2/2, 360 pending\u201d"}
    )
    conditions_met = fields.Integer()
    conditions_total = fields.Integer()
    progress = fields.List(fields.Nested(ConditionProgressOut))
    sync = fields.Nested(SyncStateOut)


class ProgrammeCompletionOut(Schema):
    programme_id = fields.Function(lambda o: o.programme.id)
    lineitem_url = fields.Function(lambda o: o.programme.lineitem_url)
    rule = fields.Function(lambda o: o.rule.to_json())
    rule_lines = fields.List(fields.String())
    sync_counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    participants = fields.List(fields.Nested(ParticipantProgressOut))


class MyProgressOut(Schema):
    programme_id = fields.Function(lambda o: o.programme.id)
    applies = fields.Boolean(metadata={"description": "False when the rule gives you no completion here."})
    rule_lines = fields.List(fields.String())
    met = fields.Boolean()
    summary = fields.String()
    conditions_met = fields.Integer()
    conditions_total = fields.Integer()
    progress = fields.List(fields.Nested(ConditionProgressOut))


class SyncRetryIn(_In):
    job_id = fields.Integer(
        load_default=None,
        allow_none=True,
        metadata={"description": "One failed delivery; all of the programme's if absent."},
    )


class SyncQueuedOut(Schema):
    queued = fields.Integer()


# ----------------------------------------------------------------------------------------- deep linking


class ProgrammeChoiceIn(_In):
    """Pick an existing programme of the course, or name a new one."""

    programme_id = fields.Integer(load_default=None, allow_none=True)
    title = fields.String(load_default="", validate=validate.Length(max=200))

    @post_load
    def _blank_is_none(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        data["title"] = (data.get("title") or "").strip()
        return data


def choice_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """``programme_id`` is "new" (or empty) when the trainer creates one."""
    raw = (form.get("programme_id") or "").strip()
    return {"programme_id": None if raw in ("", "new") else raw, "title": form.get("title", "")}
