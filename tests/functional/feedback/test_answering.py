"""Answering: drafts, one submission, declining, and nothing written when a request is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti_app.errors import Conflict, NotFound, ValidationFailed
from lti_app.models.feedback import (
    DECLINED,
    INVITED,
    SUBMITTED,
    FeedbackComment,
    FeedbackRequest,
    FeedbackResponse,
)
from lti_app.services.feedback import answering
from lti_app.services.feedback.answering import Answers
from tests.factories.core import actor_for
from tests.factories.feedback import (
    add_raters,
    course_with_subject,
    enrol,
    full_answers,
    items,
    open_questions,
    self_rater,
    start_cycle,
    submit,
)


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def test_draft_then_single_submission(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    (rater,) = add_raters(setup, cycle, "peer", 1)
    first = items(cycle)[0]
    question = open_questions(cycle)[0]
    status = answering.answer_as_person(
        db_session,
        rater.actor,
        rater.request.id,
        answering.SAVE,
        Answers({first.id: 4}, {question.id: " Half done "}),
    )
    assert status == INVITED
    q = answering.questionnaire_for_person(db_session, rater.actor, rater.request.id)
    assert q.draft.ratings == {first.id: 4} and q.draft.comments == {question.id: "Half done"}
    assert count(db_session, FeedbackResponse) == 0

    assert submit(rater, full_answers(cycle, 4, {question.id: "Keep it up"})) == SUBMITTED
    db_session.refresh(rater.request)
    assert rater.request.status == SUBMITTED and rater.request.draft is None
    assert count(db_session, FeedbackResponse) == 1 and count(db_session, FeedbackComment) == 1

    with pytest.raises(Conflict) as refused:
        submit(rater, full_answers(cycle, 1))
    assert refused.value.code == "already_answered"
    assert count(db_session, FeedbackResponse) == 1
    with pytest.raises(Conflict):
        answering.questionnaire_for_person(db_session, rater.actor, rater.request.id)


def test_double_submit_through_the_page_answers_409_and_writes_nothing(app, client, db_session) -> None:
    from tests.functional.feedback.pages import form_token, launch_headers

    setup = course_with_subject()
    cycle = start_cycle(setup)
    (rater,) = add_raters(setup, cycle, "peer", 1)
    db_session.commit()
    url = f"/feedback/requests/{rater.request.id}/answer"
    headers = launch_headers(app, rater.actor)
    page = client.get(url, headers=headers)
    assert page.status_code == 200
    token = form_token(page)
    form = {"csrf_token": token, "action": "submit"}
    form.update({f"rating-{i.id}": "4" for i in items(cycle)})
    assert client.post(url, data=form, headers=headers).status_code == 303
    again = client.post(url, data=form, headers=headers)
    assert again.status_code == 409
    assert b"already answered" in again.data
    assert count(db_session, FeedbackResponse) == 1


def test_incomplete_submission_is_refused_and_nothing_written(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    (rater,) = add_raters(setup, cycle, "peer", 1)
    first, second = items(cycle)[:2]
    with pytest.raises(ValidationFailed) as refused:
        submit(rater, Answers({first.id: 4}))
    assert f"item-{second.id}" in refused.value.details
    with pytest.raises(ValidationFailed) as out_of_scale:
        submit(rater, full_answers(cycle, 6))
    assert f"item-{first.id}" in out_of_scale.value.details
    with pytest.raises(ValidationFailed):
        submit(rater, Answers({999_999: 3}))
    db_session.refresh(rater.request)
    assert rater.request.status == INVITED
    assert count(db_session, FeedbackResponse) == 0


def test_not_observed_is_a_valid_answer(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    (rater,) = add_raters(setup, cycle, "peer", 1)
    answers = full_answers(cycle, 3)
    answers.ratings[items(cycle)[0].id] = None
    assert submit(rater, answers) == SUBMITTED
    stored = db_session.scalars(select(FeedbackResponse)).one()
    assert stored.ratings[str(items(cycle)[0].id)] is None


def test_decline_then_no_answer(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    (rater,) = add_raters(setup, cycle, "peer", 1)
    assert (
        answering.answer_as_person(db_session, rater.actor, rater.request.id, answering.DECLINE, Answers())
        == DECLINED
    )
    with pytest.raises(Conflict):
        submit(rater, full_answers(cycle))
    assert count(db_session, FeedbackResponse) == 0


def test_only_the_rater_can_open_a_request(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    (rater,) = add_raters(setup, cycle, "peer", 1)
    stranger = enrol(setup.course)
    for actor in (actor_for(stranger, setup.course), setup.subject_actor, setup.trainer_actor):
        with pytest.raises(NotFound):
            answering.questionnaire_for_person(db_session, actor, rater.request.id)
        with pytest.raises(NotFound):
            answering.answer_as_person(
                db_session, actor, rater.request.id, answering.SUBMIT, full_answers(cycle)
            )


def test_self_assessment_is_stored_as_self(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    me = self_rater(setup, cycle)
    assert submit(me, full_answers(cycle, 5, {open_questions(cycle)[0].id: "I listen"})) == SUBMITTED
    response = db_session.scalars(select(FeedbackResponse)).one()
    comment = db_session.scalars(select(FeedbackComment)).one()
    assert response.rater_group == "self" and comment.from_self


def test_answers_only_while_open(db_session) -> None:
    from datetime import timedelta

    from lti_app.models.base import utcnow

    setup = course_with_subject()
    cycle = start_cycle(setup, opens_at=utcnow() + timedelta(days=2), closes_at=utcnow() + timedelta(days=9))
    (rater,) = add_raters(setup, cycle, "peer", 1)
    with pytest.raises(Conflict):
        submit(rater, full_answers(cycle))
    assert answering.requests_to_answer(db_session, rater.actor) == []
    later = utcnow() + timedelta(days=3)
    assert submit(rater, full_answers(cycle), now=later) == SUBMITTED
    status = db_session.scalar(select(FeedbackRequest.status).where(FeedbackRequest.id == rater.request.id))
    assert status == SUBMITTED
