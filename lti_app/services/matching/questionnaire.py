"""A programme's matching questionnaire: the trainer's criteria (what to compare, how, how much) and free
choice questions, and the participants' answers to those questions.

Weights are the trainer's to change, not the vendor's: every criterion has its own weight from 0 to 10
and its own kind. Questions keep stable option keys, so a trainer can reword an option without anyone
having to answer again.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lti_app.errors import NotFound, ValidationFailed
from lti_app.matching import Kind
from lti_app.models.matching import (
    CRITERION_KINDS,
    SOURCE_PROFILE,
    SOURCE_QUESTION,
    MatchingCriterion,
    ProgrammeQuestion,
)
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.services.access import Actor, require_programme_trainer
from lti_app.services.capacity import lock_membership
from lti_app.services.matching.fields import PROFILE_FIELDS, ProfileField, default_label
from lti_app.services.programmes import get_programme, list_programmes

MAX_CRITERIA = 30
MAX_QUESTIONS = 20
MAX_OPTIONS = 30
MAX_TOLERANCE = 1000.0


@dataclass
class Questionnaire:
    programme: Programme
    criteria: list[MatchingCriterion]
    questions: list[ProgrammeQuestion]
    labels: dict[int, str] = field(default_factory=dict)  # criterion id → label shown in breakdowns


@dataclass
class QuestionForm:
    """What a participant sees when they join: the questions, their answers so far, and the profile
    fields the matching also reads (so they know what to fill in)."""

    programme: Programme
    questions: list[ProgrammeQuestion]
    answers: dict[str, Any]
    profile_fields: list[ProfileField]

    @property
    def unanswered(self) -> int:
        return sum(1 for q in self.questions if not self.answers.get(q.key))


def load_questionnaire(session: Session, programme: Programme) -> Questionnaire:
    """No authorisation: for callers that already checked the actor may see the programme."""
    criteria = list(
        session.scalars(
            select(MatchingCriterion)
            .where(MatchingCriterion.programme_id == programme.id)
            .order_by(MatchingCriterion.position, MatchingCriterion.id)
        )
    )
    questions = list(
        session.scalars(
            select(ProgrammeQuestion)
            .where(ProgrammeQuestion.programme_id == programme.id)
            .order_by(ProgrammeQuestion.position, ProgrammeQuestion.id)
        )
    )
    by_key = {q.key: q for q in questions}
    labels = {c.id: default_label(c, by_key) for c in criteria}
    return Questionnaire(programme, criteria, questions, labels)


def get_questionnaire(session: Session, actor: Actor, programme_id: int) -> Questionnaire:
    return load_questionnaire(session, require_programme_trainer(session, actor, programme_id))


def set_criteria(
    session: Session, actor: Actor, programme_id: int, items: Sequence[Mapping[str, Any]]
) -> Questionnaire:
    """Replace the programme's criteria with ``items`` (each: source, field, kind, weight, tolerance), in
    order. Every problem is named at once, by the item's position."""
    programme = require_programme_trainer(session, actor, programme_id)
    questions = {q.key: q for q in load_questionnaire(session, programme).questions}
    if len(items) > MAX_CRITERIA:
        raise ValidationFailed(f"At most {MAX_CRITERIA} criteria.", details={"criteria": ["Too many."]})
    problems: dict[str, dict[str, list[str]]] = {}
    seen: set[tuple[str, str, str]] = set()
    rows = []
    for index, item in enumerate(items):
        bad = _criterion_problems(item, questions)
        ident = (str(item.get("source")), str(item.get("field")), str(item.get("kind")))
        if ident in seen:
            bad.setdefault("field", []).append("The same criterion is listed twice.")
        seen.add(ident)
        if bad:
            problems[str(index)] = bad
            continue
        rows.append(
            MatchingCriterion(
                programme_id=programme.id,
                position=index,
                source=item["source"],
                field=item["field"],
                kind=item["kind"],
                weight=int(item.get("weight", 5)),
                tolerance=float(item.get("tolerance") or 0.0),
            )
        )
    if problems:
        raise ValidationFailed("Some criteria are invalid.", details={"criteria": problems})
    session.execute(delete(MatchingCriterion).where(MatchingCriterion.programme_id == programme.id))
    session.add_all(rows)
    session.flush()
    return load_questionnaire(session, programme)


def _criterion_problems(
    item: Mapping[str, Any], questions: Mapping[str, ProgrammeQuestion]
) -> dict[str, list[str]]:
    bad: dict[str, list[str]] = {}
    source, name, kind = item.get("source"), item.get("field"), item.get("kind")
    if kind not in CRITERION_KINDS:
        bad["kind"] = [f"Must be one of: {', '.join(CRITERION_KINDS)}."]
    if source == SOURCE_PROFILE:
        spec = PROFILE_FIELDS.get(str(name))
        if spec is None:
            bad["field"] = ["No such profile field."]
        elif kind in CRITERION_KINDS and Kind(kind) not in spec.kinds:
            bad["kind"] = [f"{spec.label.capitalize()} cannot be compared as {kind}."]
    elif source == SOURCE_QUESTION:
        if name not in questions:
            bad["field"] = ["No such question in this programme."]
    else:
        bad["source"] = ["Must be profile or question."]
    weight = item.get("weight", 5)
    if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 10:
        bad["weight"] = ["A whole number from 0 to 10."]
    tolerance = item.get("tolerance") or 0.0
    if not isinstance(tolerance, int | float) or not 0 <= tolerance <= MAX_TOLERANCE:
        bad["tolerance"] = [f"A number from 0 to {MAX_TOLERANCE:g}."]
    return bad


# ------------------------------------------------------------------------------------------------ questions


def add_question(
    session: Session, actor: Actor, programme_id: int, data: Mapping[str, Any]
) -> ProgrammeQuestion:
    programme = require_programme_trainer(session, actor, programme_id)
    existing = load_questionnaire(session, programme).questions
    if len(existing) >= MAX_QUESTIONS:
        raise ValidationFailed(f"At most {MAX_QUESTIONS} questions per programme.")
    # A random key: two trainers adding questions at once never collide, and keys are never reused.
    question = ProgrammeQuestion(
        programme_id=programme.id,
        key="q" + secrets.token_hex(4),
        position=max((q.position for q in existing), default=-1) + 1,
    )
    _apply_question(question, data, partial=False)
    session.add(question)
    session.flush()
    return question


def update_question(
    session: Session, actor: Actor, programme_id: int, question_id: int, data: Mapping[str, Any]
) -> ProgrammeQuestion:
    question = _question(session, actor, programme_id, question_id)
    _apply_question(question, data, partial=True)
    session.flush()
    return question


def delete_question(session: Session, actor: Actor, programme_id: int, question_id: int) -> None:
    """The question and the criteria that read it go; answers stay on memberships, unread."""
    question = _question(session, actor, programme_id, question_id)
    session.execute(
        delete(MatchingCriterion).where(
            MatchingCriterion.programme_id == programme_id,
            MatchingCriterion.source == SOURCE_QUESTION,
            MatchingCriterion.field == question.key,
        )
    )
    session.delete(question)
    session.flush()


def _question(session: Session, actor: Actor, programme_id: int, question_id: int) -> ProgrammeQuestion:
    require_programme_trainer(session, actor, programme_id)
    question = session.get(ProgrammeQuestion, question_id)
    if question is None or question.programme_id != programme_id:
        raise NotFound("No such question.")
    return question


def _apply_question(question: ProgrammeQuestion, data: Mapping[str, Any], *, partial: bool) -> None:
    problems: dict[str, list[str]] = {}
    if "text" in data or not partial:
        text = " ".join(str(data.get("text") or "").split())
        if not text or len(text) > 300:
            problems["text"] = ["Ask a question of 1 to 300 characters."]
        question.text = text
    if "help" in data:
        question.help = str(data.get("help") or "").strip()[:500]
    for flag in ("multiple", "required"):
        if flag in data:
            setattr(question, flag, bool(data[flag]))
    if "options" in data or not partial:
        labels = [" ".join(str(o).split()) for o in data.get("options") or ()]
        labels = [o for o in labels if o]
        folded = [o.casefold() for o in labels]
        if not 2 <= len(labels) <= MAX_OPTIONS:
            problems["options"] = [f"Give 2 to {MAX_OPTIONS} options."]
        elif len(set(folded)) != len(folded):
            problems["options"] = ["Each option once."]
        elif any(len(o) > 100 for o in labels):
            problems["options"] = ["Options are at most 100 characters."]
        else:
            question.options = _keyed_options(question.options or [], labels)
    if problems:
        raise ValidationFailed("The question is incomplete or invalid.", details=problems)


def _keyed_options(current: list[dict[str, str]], labels: list[str]) -> list[dict[str, str]]:
    """Options matched to the existing ones by label (case-insensitive), which keep their keys."""
    keys = {o["label"].casefold(): o["key"] for o in current}
    used = [int(o["key"][1:]) for o in current if o["key"][1:].isdigit()]
    next_number = max(used, default=0) + 1
    options = []
    for label in labels:
        key = keys.get(label.casefold())
        if key is None:
            key, next_number = f"o{next_number}", next_number + 1
        options.append({"key": key, "label": label})
    return options


# -------------------------------------------------------------------------------------------------- answers


def question_form(session: Session, actor: Actor, programme_id: int) -> QuestionForm:
    programme = get_programme(session, actor, programme_id)
    questionnaire = load_questionnaire(session, programme)
    answers = session.scalar(
        select(ProgrammeMembership.answers).where(
            ProgrammeMembership.programme_id == programme.id, ProgrammeMembership.person_id == actor.person_id
        )
    )
    used = dict.fromkeys(c.field for c in questionnaire.criteria if c.source == SOURCE_PROFILE)
    fields_read = [PROFILE_FIELDS[k] for k in used if k in PROFILE_FIELDS]
    return QuestionForm(programme, questionnaire.questions, dict(answers or {}), fields_read)


def save_answers(
    session: Session, actor: Actor, programme_id: int, answers: Mapping[str, Any]
) -> ProgrammeMembership:
    """The actor's answers (question key → option key, or a list of them for multiple choice), checked
    against the options; joining the programme if they had not yet."""
    programme = get_programme(session, actor, programme_id)
    questions = load_questionnaire(session, programme).questions
    problems: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    unknown = sorted(set(answers) - {q.key for q in questions})
    for key in unknown:
        problems[key] = ["No such question."]
    for q in questions:
        value, options = answers.get(q.key), q.option_labels()
        chosen = ([value] if isinstance(value, str) else list(value or ())) if value not in ("", None) else []
        chosen = list(dict.fromkeys(chosen))
        if any(not isinstance(c, str) or c not in options for c in chosen):
            problems[q.key] = ["Choose from the options given."]
        elif len(chosen) > 1 and not q.multiple:
            problems[q.key] = ["Choose one option."]
        elif not chosen and q.required:
            problems[q.key] = ["This question needs an answer."]
        elif chosen:
            clean[q.key] = chosen if q.multiple else chosen[0]
    if problems:
        raise ValidationFailed("Some answers are missing or invalid.", details=problems)
    row = lock_membership(session, programme.id, actor.person_id)
    row.answers = clean  # a new dict, so the JSON column is seen as changed
    session.flush()
    return row


def questions_due(session: Session, actor: Actor, course_id: int) -> list[tuple[Programme, int]]:
    """Open programmes of the course whose questions the actor has not all answered, with how many are
    left (for the notice on the learner's home page), in a fixed number of queries."""
    if not actor.is_participant:
        return []
    found = [p for p in list_programmes(session, actor, course_id) if p.status == "open"]
    ids = [p.id for p in found]
    if not ids:
        return []
    keys: dict[int, list[str]] = {}
    for programme_id, key in session.execute(
        select(ProgrammeQuestion.programme_id, ProgrammeQuestion.key).where(
            ProgrammeQuestion.programme_id.in_(ids)
        )
    ):
        keys.setdefault(programme_id, []).append(key)
    answered = (
        dict(
            session.execute(
                select(ProgrammeMembership.programme_id, ProgrammeMembership.answers).where(
                    ProgrammeMembership.programme_id.in_(list(keys)),
                    ProgrammeMembership.person_id == actor.person_id,
                )
            )
            .tuples()
            .all()
        )
        if keys
        else {}
    )
    due = []
    for programme in found:
        mine = answered.get(programme.id) or {}
        left = sum(1 for k in keys.get(programme.id, ()) if not mine.get(k))
        if left:
            due.append((programme, left))
    return due
