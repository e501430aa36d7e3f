"""Answering a request: a draft may be saved any number of times; submitting happens once; declining is
always possible while the request is open. A rater only ever sees the questionnaire and their own draft.

Submitting writes a ``FeedbackResponse`` and ``FeedbackComment`` rows that carry no link back to the
request, and flips the request to *submitted* with a conditional UPDATE, so two concurrent submits (two
tabs, a double click) cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from lti_app.errors import Conflict, NotFound, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.feedback import (
    APPROVED,
    CYCLE_OPEN,
    DECLINED,
    INVITED,
    MANAGER,
    OPEN,
    RATING,
    SELF,
    SUBMITTED,
    FeedbackComment,
    FeedbackCycle,
    FeedbackRequest,
    FeedbackResponse,
    FeedbackTemplateVersion,
)
from lti_app.services.access import Actor
from lti_app.services.feedback.links import LinkExpired, request_for_token

MAX_COMMENT = 5000
SAVE, SUBMIT, DECLINE = "save", "submit", "decline"
ACTIONS = (SAVE, SUBMIT, DECLINE)


@dataclass(frozen=True)
class Answers:
    ratings: dict[int, int | None] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "ratings": {str(k): v for k, v in self.ratings.items()},
            "comments": {str(k): v for k, v in self.comments.items()},
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Answers:
        raw = raw or {}
        return cls(
            {int(k): v for k, v in (raw.get("ratings") or {}).items()},
            {int(k): v for k, v in (raw.get("comments") or {}).items()},
        )


@dataclass(frozen=True)
class Questionnaire:
    request: FeedbackRequest
    cycle: FeedbackCycle
    version: FeedbackTemplateVersion
    subject_name: str
    notice: str
    draft: Answers


def anonymity_notice(request: FeedbackRequest) -> str:
    cycle = request.cycle
    if request.rater_group == SELF:
        if not cycle.allow_single_self:
            return "This is your self-assessment. It helps you reflect; this cycle's report does not show it."
        return "This is your self-assessment. Your report shows it next to how others see you."
    if request.rater_group == MANAGER and cycle.allow_single_manager:
        return (
            "As their manager, your ratings are shown as the manager's view, even if you are the only "
            "manager who answers. Your comments are pooled with others' and shown without your name."
        )
    return (
        f"Your ratings are combined with those of at least {cycle.anonymity_threshold} people before anyone "
        "sees them, and your name is never shown next to your answers. Comments are shown word for word, "
        f"in a shuffled order, only when at least {cycle.comment_threshold} people answered the question."
    )


def requests_to_answer(session: Session, actor: Actor) -> list[FeedbackRequest]:
    """Open invitations addressed to the actor, the self-assessments of their own cycles included."""
    now = utcnow()
    return list(
        session.scalars(
            select(FeedbackRequest)
            .join(FeedbackCycle, FeedbackCycle.id == FeedbackRequest.cycle_id)
            .where(
                FeedbackRequest.rater_person_id == actor.person_id, FeedbackRequest.status == INVITED,
                FeedbackRequest.approval == APPROVED, FeedbackCycle.status == CYCLE_OPEN,
                FeedbackCycle.opens_at <= now, FeedbackCycle.closes_at > now,
            )
            .options(joinedload(FeedbackRequest.cycle).joinedload(FeedbackCycle.subject))
            .order_by(FeedbackCycle.closes_at, FeedbackRequest.id)
            .limit(200)
        ).unique()
    )


def _load_as_person(session: Session, actor: Actor, request_id: int) -> FeedbackRequest:
    request = session.get(FeedbackRequest, request_id)
    if (
        request is None
        or request.rater_person_id != actor.person_id
        or request.approval != APPROVED
        or request.cycle.course.registration_id != actor.registration_id
    ):
        raise NotFound("No such feedback request.")
    return request


def _check_window(request: FeedbackRequest, now: datetime, *, by_link: bool) -> None:
    cycle = request.cycle
    if cycle.status != CYCLE_OPEN or cycle.closes_at <= now:
        if by_link:
            raise LinkExpired("This feedback cycle has closed.")
        raise Conflict("This feedback cycle has closed.")
    if cycle.opens_at > now:
        raise Conflict(f"This feedback opens on {cycle.opens_at:%d %B %Y}.")
    if request.status == SUBMITTED:
        raise Conflict("You have already answered. Thank you!", code="already_answered")
    if request.status == DECLINED:
        raise Conflict("You declined this request.", code="already_declined")
    if request.status != INVITED:
        raise NotFound("No such feedback request.")


def _questionnaire(session: Session, request: FeedbackRequest) -> Questionnaire:
    version = session.scalars(
        select(FeedbackTemplateVersion)
        .where(FeedbackTemplateVersion.id == request.cycle.template_version_id)
        .options(
            selectinload(FeedbackTemplateVersion.competencies), selectinload(FeedbackTemplateVersion.items)
        )
    ).one()
    return Questionnaire(
        request, request.cycle, version, request.cycle.subject.display_name, anonymity_notice(request),
        Answers.from_json(request.draft),
    )


def questionnaire_for_person(
    session: Session, actor: Actor, request_id: int, now: datetime | None = None
) -> Questionnaire:
    request = _load_as_person(session, actor, request_id)
    _check_window(request, now or utcnow(), by_link=False)
    return _questionnaire(session, request)


def questionnaire_for_link(session: Session, token: str, now: datetime | None = None) -> Questionnaire:
    now = now or utcnow()
    request = request_for_token(session, token, now)
    _check_window(request, now, by_link=True)
    return _questionnaire(session, request)


def answer_as_person(
    session: Session,
    actor: Actor,
    request_id: int,
    action: str,
    answers: Answers,
    now: datetime | None = None,
) -> str:
    now = now or utcnow()
    request = _load_as_person(session, actor, request_id)
    _check_window(request, now, by_link=False)
    return _apply(session, request, action, answers)


def answer_by_link(
    session: Session, token: str, action: str, answers: Answers, now: datetime | None = None
) -> str:
    now = now or utcnow()
    request = request_for_token(session, token, now)
    _check_window(request, now, by_link=True)
    return _apply(session, request, action, answers)


def _apply(session: Session, request: FeedbackRequest, action: str, answers: Answers) -> str:
    if action not in ACTIONS:
        raise ValidationFailed("Unknown action.", details={"action": "save, submit or decline"})
    if action == DECLINE:
        _transition(session, request, DECLINED)
        return DECLINED
    version = _questionnaire(session, request).version
    cleaned = validate_answers(version, answers, complete=action == SUBMIT)
    if action == SAVE:
        request.draft = cleaned.to_json()
        session.flush()
        return INVITED
    _transition(session, request, SUBMITTED)
    session.add(
        FeedbackResponse(
            cycle_id=request.cycle_id,
            rater_group=request.rater_group,
            ratings={str(k): v for k, v in cleaned.ratings.items()},
        )
    )
    for item_id, body in cleaned.comments.items():
        if body:
            session.add(
                FeedbackComment(
                    cycle_id=request.cycle_id, item_id=item_id, body=body,
                    from_self=request.rater_group == SELF,
                )
            )
    session.flush()
    return SUBMITTED


def _transition(session: Session, request: FeedbackRequest, status: str) -> None:
    """Only one submit or decline wins, however many arrive at once."""
    result = session.execute(
        update(FeedbackRequest)
        .where(FeedbackRequest.id == request.id, FeedbackRequest.status == INVITED)
        .values(status=status, draft=None, token_hash=None, token_expires_at=None)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("You have already answered. Thank you!", code="already_answered")


def validate_answers(version: FeedbackTemplateVersion, answers: Answers, *, complete: bool) -> Answers:
    """Scores on the scale (or "not observed" when the scale offers it); on submit every rating item is
    answered. Unknown questions are refused rather than ignored."""
    rating_ids = {i.id for i in version.items if i.kind == RATING}
    open_ids = {i.id for i in version.items if i.kind == OPEN}
    problems: dict[str, str] = {}
    ratings: dict[int, int | None] = {}
    for item_id, value in answers.ratings.items():
        if item_id not in rating_ids:
            problems[f"item-{item_id}"] = "Not a rating question of this questionnaire."
        elif value is None:
            if version.not_observed_label is None:
                problems[f"item-{item_id}"] = "Choose a score."
            ratings[item_id] = None
        elif isinstance(value, bool) or not isinstance(value, int) or not (
            version.scale_min <= value <= version.scale_max
        ):
            problems[f"item-{item_id}"] = f"Choose a score from {version.scale_min} to {version.scale_max}."
        else:
            ratings[item_id] = value
    comments: dict[int, str] = {}
    for item_id, body in answers.comments.items():
        text = body.strip() if isinstance(body, str) else ""
        if item_id not in open_ids:
            problems[f"item-{item_id}"] = "Not an open question of this questionnaire."
        elif len(text) > MAX_COMMENT:
            problems[f"item-{item_id}"] = f"At most {MAX_COMMENT} characters."
        elif text:
            comments[item_id] = text
    if complete:
        for item_id in sorted(rating_ids - set(ratings)):
            problems.setdefault(f"item-{item_id}", "Please answer this question.")
    if problems:
        raise ValidationFailed("Some answers are missing or not valid.", details=problems)
    return Answers(ratings, comments)
