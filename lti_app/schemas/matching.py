"""Request and response shapes of the matching API (and of the matching forms, which load the same schemas).

Field-level checks live here; whether a field or question exists in the programme, and everything that
needs several fields at once, is checked by the matching service.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from lti_app.matching.solver import CANDIDATE_K
from lti_app.models.matching import CONSTRAINT_KINDS, CRITERION_KINDS, CRITERION_SOURCES
from lti_app.schemas.fields import Id
from lti_app.services.matching.pool import SCOPES
from lti_app.services.matching.runs import SOLVERS


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


# ------------------------------------------------------------------------------------------- questionnaire


class CriterionIn(_In):
    source = fields.String(required=True, validate=validate.OneOf(CRITERION_SOURCES))
    field = fields.String(
        required=True,
        validate=validate.Length(min=1, max=60),
        metadata={"description": "A profile field key (GET .../matching/fields) or a question key."},
    )
    kind = fields.String(required=True, validate=validate.OneOf(CRITERION_KINDS))
    weight = fields.Integer(load_default=5, validate=validate.Range(0, 10))
    tolerance = fields.Float(
        load_default=0.0,
        validate=validate.Range(0, 1000),
        metadata={"description": "For must / must-not on numbers: hours (time zone) or levels (seniority)."},
    )


class CriteriaIn(_In):
    criteria = fields.List(fields.Nested(CriterionIn), required=True, validate=validate.Length(max=30))


class CriterionOut(Schema):
    id = fields.Integer()
    position = fields.Integer()
    source = fields.String()
    field = fields.String()
    kind = fields.String()
    weight = fields.Integer()
    tolerance = fields.Float()
    label = fields.String()


class OptionOut(Schema):
    key = fields.String()
    label = fields.String()


class QuestionIn(_In):
    text = fields.String(required=True, validate=validate.Length(min=1, max=300))
    help = fields.String(load_default="", validate=validate.Length(max=500))
    multiple = fields.Boolean(load_default=False)
    required = fields.Boolean(load_default=False)
    options = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=2, max=30),
        metadata={"description": "Option labels in order; renaming keeps the keys of unchanged labels."},
    )


class QuestionPatch(QuestionIn):
    """Any subset of a question's fields (load it with ``partial=True``)."""


class QuestionOut(Schema):
    id = fields.Integer()
    key = fields.String()
    position = fields.Integer()
    text = fields.String()
    help = fields.String()
    multiple = fields.Boolean()
    required = fields.Boolean()
    options = fields.List(fields.Nested(OptionOut))


class QuestionnaireOut(Schema):
    programme_id = fields.Integer(attribute="programme.id")
    criteria = fields.Method("_criteria")
    questions = fields.List(fields.Nested(QuestionOut))

    def _criteria(self, q: Any) -> list[dict[str, Any]]:
        return [{**CriterionOut().dump(c), "label": q.labels.get(c.id, c.field)} for c in q.criteria]


class ProfileFieldOut(Schema):
    key = fields.String()
    label = fields.String()
    description = fields.String()
    field_type = fields.String()
    kinds = fields.Function(lambda f: [str(k) for k in f.kinds])
    unit = fields.String()


class AnswersIn(_In):
    answers = fields.Dict(
        keys=fields.String(validate=validate.Length(max=40)),
        values=fields.Raw(allow_none=True),
        required=True,
        metadata={"description": "Question key → option key (single choice) or list of option keys."},
    )


class AnswersOut(Schema):
    programme_id = fields.Integer(attribute="programme.id")
    questions = fields.List(fields.Nested(QuestionOut))
    answers = fields.Dict()
    unanswered = fields.Integer()
    profile_fields = fields.Function(lambda f: [p.key for p in f.profile_fields])


# --------------------------------------------------------------------------------------------------- runs


class RunIn(_In):
    min_score = fields.Float(
        load_default=0.0,
        validate=validate.Range(0, 100),
        metadata={
            "description": "Below this score a mentee stays unmatched rather than getting a bad match."
        },
    )
    solver = fields.String(load_default="auto", validate=validate.OneOf(SOLVERS))
    candidate_k = fields.Integer(
        load_default=CANDIDATE_K,
        validate=validate.Range(1, 200),
        metadata={"description": "Candidate mentors kept per mentee by the large-pool solver."},
    )
    scope = fields.String(
        load_default="unmatched",
        validate=validate.OneOf(SCOPES),
        metadata={
            "description": "unmatched: only people without an open relationship; all: also re-match people "
            "whose earlier matches are still unanswered (they are withdrawn on publish if the match changes)."
        },
    )


class BreakdownOut(Schema):
    key = fields.String()
    label = fields.String()
    kind = fields.String()
    value = fields.Float()
    points = fields.Float()
    out_of = fields.Float()


class PairOut(Schema):
    mentee_id = fields.Integer(attribute="pair.mentee_id")
    mentee_name = fields.String()
    mentor_id = fields.Integer(attribute="pair.mentor_id")
    mentor_name = fields.String()
    score = fields.Float(attribute="pair.score")
    breakdown = fields.List(fields.Nested(BreakdownOut), attribute="pair.breakdown")
    reasons = fields.String(metadata={"description": 'E.g. "skills 40/50, time zone 10/10, languages 0/10".'})
    pinned = fields.Boolean(attribute="pair.pinned")
    relationship_id = fields.Integer(attribute="pair.relationship_id", allow_none=True)


class UnmatchedOut(Schema):
    mentee_id = fields.Integer(attribute="unmatched.mentee_id")
    mentee_name = fields.String()
    reason = fields.String(attribute="unmatched.reason")
    reason_text = fields.String()


class ConflictOut(Schema):
    mentee_id = fields.Integer()
    mentee_name = fields.String()
    mentor_id = fields.Integer()
    mentor_name = fields.String()
    reason = fields.String()
    reason_text = fields.String()


class RunSummaryOut(Schema):
    id = fields.Integer()
    programme_id = fields.Integer()
    status = fields.String()
    created_at = fields.DateTime()
    created_by_id = fields.Integer(allow_none=True)
    params = fields.Dict()
    solver = fields.String()
    proven_optimal = fields.Boolean(
        metadata={"description": "The solver finished on the full candidate set: the true optimum."}
    )
    candidates_complete = fields.Boolean()
    total_score = fields.Float()
    mentee_count = fields.Integer()
    mentor_count = fields.Integer()
    matched_count = fields.Integer()
    unmatched_count = fields.Integer()
    timings = fields.Dict()
    criteria = fields.List(fields.Dict())
    published_at = fields.DateTime(allow_none=True)
    published_as = fields.String(allow_none=True)


class RunOut(Schema):
    run = fields.Nested(RunSummaryOut)
    pairs = fields.List(fields.Nested(PairOut))
    unmatched = fields.List(fields.Nested(UnmatchedOut))
    conflicts = fields.List(fields.Nested(ConflictOut))
    offset = fields.Integer()
    limit = fields.Integer()


class RunPageArgs(_In):
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000))


class PublishOut(Schema):
    run = fields.Nested(RunSummaryOut)
    started_as = fields.String(metadata={"description": "active, or pending (waiting for acceptance)."})
    created = fields.Function(lambda o: [r.id for r in o.created])
    kept = fields.Integer()
    retracted = fields.Integer()


# ------------------------------------------------------------------------------------------ pins and bans


class ConstraintIn(_In):
    mentee_id = Id(required=True)
    mentor_id = Id(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(CONSTRAINT_KINDS))


class ConstraintOut(Schema):
    id = fields.Integer(attribute="constraint.id")
    mentee_id = fields.Integer(attribute="constraint.mentee_id")
    mentee_name = fields.String()
    mentor_id = fields.Integer(attribute="constraint.mentor_id")
    mentor_name = fields.String()
    kind = fields.String(attribute="constraint.kind")
    created_at = fields.DateTime(attribute="constraint.created_at")


# ------------------------------------------------------------------------------------------------ suggest


class SuggestionArgs(_In):
    n = fields.Integer(load_default=5, validate=validate.Range(1, 50))


class SuggestionOut(Schema):
    person_id = fields.Integer(attribute="person.id")
    name = fields.String(attribute="person.display_name")
    score = fields.Float()
    reasons = fields.String()
    breakdown = fields.Function(
        lambda s: [
            {"key": b.key, "label": b.label, "kind": str(b.kind), "points": b.points, "out_of": b.out_of}
            for b in s.breakdown
        ]
    )
    free_places = fields.Integer()


# ---------------------------------------------------------------------------------------------- forms


def criteria_from_form(form: Any) -> list[dict[str, Any]]:
    """The editor's rows (parallel lists ``what``, ``kind``, ``weight``, ``tolerance``; ``what`` is
    ``profile:<field>`` or ``question:<key>``) as API items; blank rows and removed rows dropped."""
    whats, kinds = form.getlist("what"), form.getlist("kind")
    weights, tolerances = form.getlist("weight"), form.getlist("tolerance")
    removed = set(form.getlist("remove"))
    items = []
    for index, what in enumerate(whats):
        if not what or str(index) in removed:
            continue
        source, _, name = what.partition(":")
        items.append(
            {
                "source": source,
                "field": name,
                "kind": _at(kinds, index),
                "weight": _at(weights, index) or "5",
                "tolerance": _at(tolerances, index) or "0",
            }
        )
    return items


def question_from_form(form: Any) -> dict[str, Any]:
    return {
        "text": form.get("text", ""),
        "help": form.get("help", ""),
        "multiple": form.get("multiple") in ("1", "on", "true"),
        "required": form.get("required") in ("1", "on", "true"),
        "options": [line for line in form.get("options", "").splitlines() if line.strip()],
    }


def answers_from_form(form: Any, keys: Iterable[str]) -> dict[str, Any]:
    """Each question's field ``a-<key>``: one value for single choice, several for multiple choice."""
    found: dict[str, Any] = {}
    for key in keys:
        values = [v for v in form.getlist(f"a-{key}") if v]
        found[key] = values if len(values) != 1 else values[0]
    return found


def _at(values: list[str], index: int) -> str:
    return values[index] if index < len(values) else ""
