"""Request and response shapes of 360 feedback: the HTML forms and the JSON API.

Output schemas list exactly what leaves the server. Nothing here carries a response id, a submission time
or a per-rater answered/declined state: see ``lti_app.services.feedback.nominations`` for why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from lti_app.domain.numbers import parse_id
from lti_app.errors import ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.feedback import PHASES, RATER_GROUPS, SELF
from lti_app.schemas.fields import Id
from lti_app.services.feedback.answering import ACTIONS, Answers
from lti_app.services.feedback.cycles import MAX_THRESHOLD, MIN_THRESHOLD, CycleSettings
from lti_app.services.feedback.definitions import parse_text

NOMINABLE = [g for g in RATER_GROUPS if g != SELF]
_threshold = validate.Range(MIN_THRESHOLD, MAX_THRESHOLD)
# Ids and scores sent as text are ASCII decimals (``lti_app.domain.numbers``): ``str.isdigit`` is no test
# ("²" passes it, ``int`` refuses it), ``\d`` takes other scripts' digits, and ``int`` refuses thousands of
# digits outright. ``\Z``, not ``$``, which also matches before a final newline.
_ID_KEY = r"[0-9]{1,19}\Z"
_SCORE = re.compile(r"-?[0-9]{1,9}")


def form_data(form: Mapping[str, Any]) -> dict[str, Any]:
    """Form fields with empty values dropped, so an empty optional field means "not given"."""
    return {k: v for k, v in form.items() if isinstance(v, str) and v.strip() != ""}


def load_form(schema: Schema, form: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(form_data(form))  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise ValidationFailed("Some fields are missing or invalid.", details=exc.messages) from exc


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


# ----------------------------------------------------------------------------------------------- forms


class CycleFormSchema(Schema):
    """The "start a cycle" page. Dates are whole days in UTC: a cycle opens at the start of its first day
    (or now, when that is today) and closes at the end of its last day."""

    class Meta:
        unknown = EXCLUDE

    title = fields.Str(load_default="", validate=validate.Length(max=200))
    template_id = Id(load_default=None)
    subject_id = Id(load_default=None)
    measures = fields.Str(load_default="", validate=validate.Regexp(r"((programme|relationship):[0-9]{1,19})?\Z"))
    phase = fields.Str(load_default="standalone", validate=validate.OneOf(PHASES))
    opens_on = fields.Date(load_default=None)
    closes_on = fields.Date(required=True)
    trainer_settings = fields.Str(load_default="")
    anonymity_threshold = fields.Int(load_default=3, validate=_threshold)
    comment_threshold = fields.Int(load_default=3, validate=_threshold)
    allow_single_self = fields.Str(load_default="")
    allow_single_manager = fields.Str(load_default="")
    nominations_need_approval = fields.Str(load_default="")

    @post_load
    def to_arguments(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        now = utcnow()
        opens_on: date | None = data.pop("opens_on")
        closes_on: date = data.pop("closes_on")
        kind, _sep, ident = data.pop("measures").partition(":")
        measured = parse_id(ident) if kind else None
        if kind and measured is None:
            raise ValidationError("Not a valid id.", "measures")
        settings = None
        if data.pop("trainer_settings"):
            settings = CycleSettings(
                anonymity_threshold=data["anonymity_threshold"],
                comment_threshold=data["comment_threshold"],
                allow_single_self=bool(data["allow_single_self"]),
                allow_single_manager=bool(data["allow_single_manager"]),
                nominations_need_approval=bool(data["nominations_need_approval"]),
            )
        for name in ("anonymity_threshold", "comment_threshold", "allow_single_self", "allow_single_manager",
                     "nominations_need_approval"):
            data.pop(name)
        return {
            **data,
            "relationship_id": measured if kind == "relationship" else None,
            "programme_id": measured if kind == "programme" else None,
            "opens_at": None if opens_on is None or start_of(opens_on) <= now else start_of(opens_on),
            "closes_at": start_of(closes_on + timedelta(days=1)),
            "settings": settings,
        }


class CycleSettingsFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    closes_on = fields.Date(load_default=None)
    trainer_settings = fields.Str(load_default="")
    anonymity_threshold = fields.Int(load_default=3, validate=_threshold)
    comment_threshold = fields.Int(load_default=3, validate=_threshold)
    allow_single_self = fields.Str(load_default="")
    allow_single_manager = fields.Str(load_default="")
    nominations_need_approval = fields.Str(load_default="")

    @post_load
    def to_arguments(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        settings = None
        if data["trainer_settings"]:
            settings = CycleSettings(
                data["anonymity_threshold"], data["comment_threshold"], bool(data["allow_single_self"]),
                bool(data["allow_single_manager"]), bool(data["nominations_need_approval"]),
            )
        closes_on = data["closes_on"]
        return {
            "settings": settings,
            "closes_at": start_of(closes_on + timedelta(days=1)) if closes_on else None,
        }


class NominationFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    group = fields.Str(required=True, validate=validate.OneOf(NOMINABLE))
    person_id = Id(load_default=None)
    email = fields.Email(load_default=None)
    name = fields.Str(load_default="", validate=validate.Length(max=200))


class TemplateFormSchema(Schema):
    """The template page: title, scale and the questions in the short text format."""

    class Meta:
        unknown = EXCLUDE

    title = fields.Str(required=True, validate=validate.Length(min=1, max=200))
    description = fields.Str(load_default="", validate=validate.Length(max=2000))
    scale_min = fields.Int(load_default=1)
    scale_max = fields.Int(load_default=5)
    scale_labels = fields.Str(load_default="")
    not_observed = fields.Str(load_default="")
    questions = fields.Str(required=True, validate=validate.Length(min=1, max=50_000))

    @post_load
    def to_definition(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        competencies, general = parse_text(data["questions"])
        labels = [line.strip() for line in data["scale_labels"].splitlines() if line.strip()]
        return {
            "title": data["title"],
            "description": data["description"],
            "scale": {
                "min": data["scale_min"], "max": data["scale_max"], "labels": labels,
                "not_observed": data["not_observed"].strip() or None,
            },
            "competencies": competencies,
            "open_questions": general,
        }


def answers_from_form(form: Mapping[str, Any]) -> tuple[str, Answers]:
    """``rating-<item id>`` = a score or ``na`` (not observed); ``comment-<item id>`` = text."""
    action = form.get("action", "save")
    if action not in ACTIONS:
        raise ValidationFailed("Unknown action.", details={"action": "save, submit or decline"})
    ratings: dict[int, int | None] = {}
    comments: dict[int, str] = {}
    problems: dict[str, str] = {}
    for key, value in form.items():
        kind, _sep, ident = key.partition("-")
        if kind not in ("rating", "comment") or value == "":
            continue
        item_id = parse_id(ident)
        if item_id is None:
            problems[key] = "Not a question of this questionnaire."
        elif kind == "comment":
            comments[item_id] = value
        elif value == "na":
            ratings[item_id] = None
        elif _SCORE.fullmatch(value):
            ratings[item_id] = int(value)
        else:
            problems[key] = "Choose a score."
    if problems:
        raise ValidationFailed("Some answers are not valid.", details=problems)
    return action, Answers(ratings, comments)


# ----------------------------------------------------------------------------------------------- API


class FeedbackScaleSchema(Schema):
    min = fields.Int(load_default=1)
    max = fields.Int(load_default=5)
    labels = fields.List(fields.Str(), load_default=list)
    not_observed = fields.Str(allow_none=True, load_default="Not observed")


class FeedbackItemDefSchema(Schema):
    kind = fields.Str(load_default="rating", validate=validate.OneOf(["rating", "open"]))
    prompt = fields.Str(required=True)


class FeedbackCompetencyDefSchema(Schema):
    key = fields.Str(load_default="")
    title = fields.Str(required=True)
    description = fields.Str(load_default="")
    items = fields.List(fields.Nested(FeedbackItemDefSchema), required=True)


class FeedbackOpenQuestionSchema(Schema):
    prompt = fields.Str(required=True)


class FeedbackTemplateDefinitionSchema(Schema):
    title = fields.Str(required=True)
    description = fields.Str(load_default="")
    scale = fields.Nested(FeedbackScaleSchema, load_default=dict)
    competencies = fields.List(fields.Nested(FeedbackCompetencyDefSchema), required=True)
    open_questions = fields.List(fields.Nested(FeedbackOpenQuestionSchema), load_default=list)


class FeedbackTemplateCreateSchema(FeedbackTemplateDefinitionSchema):
    course_id = Id(load_default=None, metadata={"description": "Defaults to the launch's course."})


class FeedbackTemplateVersionSchema(Schema):
    id = fields.Int()
    number = fields.Int()
    frozen = fields.Bool(metadata={"description": "Used by a cycle: never edited again."})
    definition = fields.Dict()


class FeedbackTemplateSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    builtin = fields.Bool()
    course_id = fields.Int(allow_none=True)
    version = fields.Nested(FeedbackTemplateVersionSchema)


class FeedbackCourseQuerySchema(Schema):
    course_id = Id(load_default=None)


class FeedbackCycleCreateSchema(Schema):
    course_id = Id(load_default=None)
    title = fields.Str(load_default="", validate=validate.Length(max=200))
    template_id = Id(load_default=None)
    subject_id = Id(load_default=None)
    phase = fields.Str(load_default="standalone", validate=validate.OneOf(PHASES))
    relationship_id = Id(load_default=None)
    programme_id = Id(load_default=None)
    opens_at = fields.AwareDateTime(load_default=None, default_timezone=UTC)
    closes_at = fields.AwareDateTime(load_default=None, default_timezone=UTC)
    anonymity_threshold = fields.Int(load_default=3, validate=_threshold)
    comment_threshold = fields.Int(load_default=3, validate=_threshold)
    allow_single_self = fields.Bool(load_default=True)
    allow_single_manager = fields.Bool(load_default=False)
    nominations_need_approval = fields.Bool(load_default=False)

    @post_load
    def to_arguments(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["settings"] = CycleSettings(
            data.pop("anonymity_threshold"), data.pop("comment_threshold"), data.pop("allow_single_self"),
            data.pop("allow_single_manager"), data.pop("nominations_need_approval"),
        )
        return data


class FeedbackCycleUpdateSchema(Schema):
    closes_at = fields.AwareDateTime(load_default=None, default_timezone=UTC)
    anonymity_threshold = fields.Int(validate=_threshold)
    comment_threshold = fields.Int(validate=_threshold)
    allow_single_self = fields.Bool()
    allow_single_manager = fields.Bool()
    nominations_need_approval = fields.Bool()


class FeedbackGroupProgressSchema(Schema):
    asked = fields.Int()
    answered = fields.Int(allow_none=True, metadata={"description": "null: too few people asked to show it."})
    declined = fields.Int(allow_none=True, metadata={"description": "null: too few people asked to show it."})
    awaiting_approval = fields.Int()


class FeedbackCycleSchema(Schema):
    id = fields.Int()
    title = fields.Str()
    course_id = fields.Int()
    subject_id = fields.Int()
    subject_name = fields.Str()
    phase = fields.Str()
    status = fields.Str()
    completed = fields.Bool()
    relationship_id = fields.Int(allow_none=True)
    programme_id = fields.Int(allow_none=True)
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    template_version_id = fields.Int()
    anonymity_threshold = fields.Int()
    comment_threshold = fields.Int()
    allow_single_self = fields.Bool()
    allow_single_manager = fields.Bool()
    nominations_need_approval = fields.Bool()
    progress = fields.Dict(
        keys=fields.Str(), values=fields.Nested(FeedbackGroupProgressSchema),
        metadata={
            "description": (
                "Counts per rater group, plus \"combined\" (the groups with fewer people asked than the "
                "anonymity threshold, together) and \"all_others\" (everyone asked but the subject). "
                "Answered and declined are null wherever they could tell who answered: in a group with "
                "fewer people asked than the threshold; in every group when the combined ones are still "
                "fewer; everywhere when fewer were asked in all."
            )
        },
    )


class FeedbackNominationCreateSchema(Schema):
    group = fields.Str(required=True, validate=validate.OneOf(NOMINABLE))
    person_id = Id(load_default=None)
    email = fields.Email(load_default=None)
    name = fields.Str(load_default="", validate=validate.Length(max=200))

    @validates_schema
    def one_rater(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("person_id") is None) == (data.get("email") is None):
            raise ValidationError("Give either person_id or email.", "person_id")


class FeedbackNominationSchema(Schema):
    id = fields.Int()
    group = fields.Str()
    group_label = fields.Str()
    name = fields.Str()
    external = fields.Bool()
    approval = fields.Str()
    invited = fields.Bool()
    can_withdraw = fields.Bool()
    is_self = fields.Bool()


class FeedbackDecisionSchema(Schema):
    approve = fields.Bool(required=True)


class FeedbackRemindersSchema(Schema):
    reminded = fields.Int(allow_none=True, metadata={"description": "null: too few people asked to say."})


class FeedbackAnswersSchema(Schema):
    ratings = fields.Dict(
        keys=fields.Str(validate=validate.Regexp(_ID_KEY)),
        values=fields.Int(allow_none=True),
        load_default=dict,
        metadata={"description": "Item id → score; null means \"not observed\"."},
    )
    comments = fields.Dict(
        keys=fields.Str(validate=validate.Regexp(_ID_KEY)), values=fields.Str(), load_default=dict,
        metadata={"description": "Open question id → text."},
    )

    @post_load
    def to_answers(self, data: dict[str, Any], **_: Any) -> Answers:
        return Answers(
            {int(k): v for k, v in data["ratings"].items()}, {int(k): v for k, v in data["comments"].items()}
        )


class FeedbackItemSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    prompt = fields.Str()


class FeedbackCompetencySchema(Schema):
    key = fields.Str()
    title = fields.Str()
    description = fields.Str()
    items = fields.List(fields.Nested(FeedbackItemSchema))


class FeedbackQuestionnaireSchema(Schema):
    request_id = fields.Int()
    cycle_id = fields.Int()
    cycle_title = fields.Str()
    subject_name = fields.Str()
    group = fields.Str()
    closes_at = fields.DateTime()
    notice = fields.Str()
    scale = fields.Nested(FeedbackScaleSchema)
    open_questions = fields.List(fields.Nested(FeedbackItemSchema))
    competencies = fields.List(fields.Nested(FeedbackCompetencySchema))
    draft = fields.Nested(FeedbackAnswersSchema)


class FeedbackRequestSummarySchema(Schema):
    id = fields.Int()
    cycle_id = fields.Int()
    cycle_title = fields.Str()
    subject_name = fields.Str()
    group = fields.Str()
    closes_at = fields.DateTime()


class FeedbackAnswerResultSchema(Schema):
    status = fields.Str()


class FeedbackStatSchema(Schema):
    n = fields.Int()
    mean = fields.Float(allow_none=True)
    sd = fields.Float(allow_none=True, metadata={"description": "Population standard deviation."})
    not_observed = fields.Int()
    hidden = fields.Bool(
        metadata={"description": "Too few people rated this to show it: no mean, spread or count."}
    )


class FeedbackGroupFigureSchema(FeedbackStatSchema):
    key = fields.Str()
    label = fields.Str()
    responses = fields.Int()


class FeedbackFiguresSchema(Schema):
    self = fields.Float(allow_none=True)
    others = fields.Nested(FeedbackStatSchema)
    groups = fields.List(fields.Nested(FeedbackGroupFigureSchema))
    gap = fields.Float(allow_none=True)
    flag = fields.Str(allow_none=True, metadata={"description": "blind_spot, hidden_strength or null"})


class FeedbackReportItemSchema(FeedbackFiguresSchema):
    id = fields.Int()
    prompt = fields.Str()


class FeedbackReportCompetencySchema(FeedbackFiguresSchema):
    key = fields.Str()
    title = fields.Str()
    items = fields.List(fields.Nested(FeedbackReportItemSchema))


class FeedbackReportSchema(Schema):
    """The report as JSON (numbers rounded to two decimals)."""

    cycle = fields.Dict()
    scale = fields.Dict()
    anonymity = fields.Dict()
    self_shown = fields.Bool()
    others_responses = fields.Int()
    groups = fields.List(fields.Dict())
    overall = fields.Nested(FeedbackFiguresSchema)
    competencies = fields.List(fields.Nested(FeedbackReportCompetencySchema))
    comments = fields.List(fields.Dict())
    comparison = fields.Dict(allow_none=True)
