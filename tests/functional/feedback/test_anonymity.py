"""Anonymity, tested as an adversary would: a subject, trainer or admin trying to tie an answer to a rater by
comparing reports, filtering by group, watching who is "done", sorting by ids or times, or reading logs."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import DateTime, func, inspect, select

from lti_app.models.base import utcnow
from lti_app.models.feedback import FeedbackComment, FeedbackRequest, FeedbackResponse
from lti_app.services.feedback import answering, cycles, links, nominations, report
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
from tests.functional.feedback.pages import form_token, launch_headers
from tests.support.launch import api_headers


def report_json(app, client, actor, cycle_id, query: str = "") -> dict:  # type: ignore[no-untyped-def]
    response = client.get(
        f"/api/v1/feedback/cycles/{cycle_id}/report{query}", headers=api_headers(app, actor)
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    body.pop("cycle")  # ids and titles differ between cycles; everything else is the figures
    body.pop("comparison")
    return body


def test_a_hidden_rater_changes_nothing_anyone_can_see(app, client, db_session) -> None:
    """Two cycles, the same three peers, and a lone manager who answers 1 in one and 5 in the other:
    subject, trainer and admin get byte-identical figures, so the manager's answers cannot be recovered
    by subtraction or comparison."""
    setup = course_with_subject()
    admin = actor_for(enrol(setup.course, is_platform_admin=True), None, "admin")
    bodies = []
    for manager_score in (1, 5):
        cycle = start_cycle(setup, title=f"manager {manager_score}")
        submit(self_rater(setup, cycle), full_answers(cycle, 4))
        for rater in add_raters(setup, cycle, "peer", 3):
            submit(rater, full_answers(cycle, 3))
        (manager,) = add_raters(setup, cycle, "manager", 1)
        submit(manager, full_answers(cycle, manager_score))
        cycles.close_cycle(db_session, setup.subject_actor, cycle.id)
        db_session.commit()
        views = [
            report_json(app, client, a, cycle.id) for a in (setup.subject_actor, setup.trainer_actor, admin)
        ]
        assert views[0] == views[1] == views[2]  # trainers and admins see no more than the subject
        bodies.append(views[0])
    assert bodies[0] == bodies[1]
    assert [g["key"] for g in bodies[0]["groups"]] == ["peer"] and bodies[0]["others_responses"] == 3
    assert "'key': 'manager'" not in str(bodies[0])


def test_filtering_by_group_or_asking_for_more_changes_nothing(app, client, db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    for rater in add_raters(setup, cycle, "peer", 3) + add_raters(setup, cycle, "direct_report", 2):
        submit(rater, full_answers(cycle, 3))
    cycles.close_cycle(db_session, setup.trainer_actor, cycle.id)
    db_session.commit()
    plain = report_json(app, client, setup.trainer_actor, cycle.id)
    for query in ("?group=direct_report", "?groups=all", "?include_hidden=1&threshold=1", "?rater=1"):
        assert report_json(app, client, setup.trainer_actor, cycle.id, query) == plain
    assert [g["key"] for g in plain["groups"]] == ["peer"]  # two direct reports: hidden, not merged alone
    page = client.get(
        f"/feedback/cycles/{cycle.id}/report?group=direct_report",
        headers=launch_headers(app, setup.trainer_actor),
    )
    assert "Direct reports" not in page.get_data(as_text=True)


def test_nobody_can_watch_a_particular_rater_become_done(app, client, db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    raters = add_raters(setup, cycle, "peer", 3)
    db_session.commit()
    watchers = (setup.subject_actor, setup.trainer_actor)

    def snapshot():  # type: ignore[no-untyped-def]
        found = []
        for actor in watchers:
            listed = client.get(
                f"/api/v1/feedback/cycles/{cycle.id}/nominations", headers=api_headers(app, actor)
            )
            page = client.get(f"/feedback/cycles/{cycle.id}", headers=launch_headers(app, actor)).get_data(
                as_text=True
            )
            table = page.split('id="raters-h"')[1].split("</table>")[0]
            found.append((listed.get_json(), re.sub(r'name="(csrf_token|lt)" value="[^"]*"', "", table)))
        return found

    before = snapshot()
    submit(raters[1], full_answers(cycle, 2))
    answering.answer_as_person(
        db_session, raters[2].actor, raters[2].request.id, answering.DECLINE, Answers()
    )
    db_session.commit()
    assert snapshot() == before  # the list of who was asked does not move when someone answers or declines
    progress = client.get(
        f"/api/v1/feedback/cycles/{cycle.id}", headers=api_headers(app, setup.subject_actor)
    )
    assert progress.get_json()["progress"]["peer"] == {
        "asked": 3,
        "answered": 1,
        "declined": 1,
        "awaiting_approval": 0,
    }


def test_no_report_while_answers_can_still_arrive_and_no_answer_after(app, client, db_session) -> None:
    """ "Compare the report before and after one more response": there is never a before and an after."""
    setup = course_with_subject()
    cycle = start_cycle(setup)
    raters = add_raters(setup, cycle, "peer", 4)
    outsider = nominations.nominate(
        db_session, setup.subject_actor, cycle.id, group="other", email="x@example.org"
    )
    token = links.issue_link(db_session, outsider)
    for rater in raters[:3]:
        submit(rater, full_answers(cycle, 3))
    db_session.commit()
    admin = actor_for(enrol(setup.course, is_platform_admin=True), None, "admin")
    db_session.commit()
    for actor in (setup.subject_actor, setup.trainer_actor, admin):
        assert (
            client.get(
                f"/api/v1/feedback/cycles/{cycle.id}/report", headers=api_headers(app, actor)
            ).status_code
            == 409
        )
        assert (
            client.get(f"/feedback/cycles/{cycle.id}/report", headers=launch_headers(app, actor)).status_code
            == 409
        )
        assert (
            client.get(
                f"/feedback/cycles/{cycle.id}/report.pdf", headers=launch_headers(app, actor)
            ).status_code
            == 409
        )
    cycles.close_cycle(db_session, setup.subject_actor, cycle.id)
    db_session.commit()
    late = client.post(
        f"/api/v1/feedback/requests/{raters[3].request.id}/response",
        json={"ratings": {str(k): v for k, v in full_answers(cycle, 1).ratings.items()}},
        headers=api_headers(app, raters[3].actor),
    )
    assert late.status_code == 409
    assert client.get(f"/feedback/answer/{token}").status_code == 404  # links die with the cycle
    assert db_session.scalar(select(func.count()).select_from(FeedbackResponse)) == 3


def test_storage_keeps_no_link_time_or_order(db_session) -> None:
    for model in (FeedbackResponse, FeedbackComment):
        columns = inspect(model).columns
        assert not [c.name for c in columns if isinstance(c.type, DateTime)], model
        assert not [
            fk for c in columns for fk in c.foreign_keys if fk.column.table.name == "feedback_request"
        ]
    request_columns = {c.name for c in inspect(FeedbackRequest).columns}
    assert not {"updated_at", "submitted_at", "answered_at", "response_id"} & request_columns

    setup = course_with_subject()
    cycle = start_cycle(setup)
    raters = add_raters(setup, cycle, "peer", 12)
    times = {}
    for rater in raters:
        times[rater.request.id] = _datetimes(rater.request)
    for rater in raters:
        submit(rater, full_answers(cycle, 3))
    db_session.expire_all()
    for rater in raters:  # submitting leaves no trace of *when* on the request
        assert _datetimes(db_session.get(FeedbackRequest, rater.request.id)) == times[rater.request.id]
    ids = list(db_session.scalars(select(FeedbackResponse.id)))
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert sorted(ids) != ids or len(set(ids)) == 12  # random keys: sorting them says nothing about arrival


def _datetimes(request: FeedbackRequest) -> dict:
    return {
        c.key: getattr(request, c.key)
        for c in inspect(FeedbackRequest).columns
        if isinstance(c.type, DateTime)
    }


def test_comment_order_depends_on_nothing_but_the_texts(db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    question = open_questions(cycle)[0].id
    texts = ["first to arrive", "second", "third", "fourth", "fifth", "last to arrive"]
    for rater, text in zip(add_raters(setup, cycle, "peer", 6), texts, strict=True):
        submit(rater, full_answers(cycle, 3, {question: text}))
    cycles.close_cycle(db_session, setup.subject_actor, cycle.id)
    shown = report.build_report(db_session, setup.subject_actor, cycle.id).results.comments[0].comments
    assert sorted(shown) == sorted(texts) and list(shown) != texts
    # The same comments stored again in the opposite order (new random keys) come out in the same order.
    for row in db_session.scalars(select(FeedbackComment)).all():
        db_session.delete(row)
    db_session.flush()
    for text in reversed(texts):
        db_session.add(FeedbackComment(cycle_id=cycle.id, item_id=question, body=text))
    db_session.flush()
    again = report.build_report(db_session, setup.subject_actor, cycle.id).results.comments[0].comments
    assert again == shown


def test_comments_below_their_threshold_are_not_shown_anywhere(app, client, db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    question = open_questions(cycle)[0].id
    raters = add_raters(setup, cycle, "peer", 3)
    for rater, text in zip(raters, ["Only two wrote", "anything here", ""], strict=True):
        submit(rater, full_answers(cycle, 3, {question: text}))
    cycles.close_cycle(db_session, setup.subject_actor, cycle.id)
    db_session.commit()
    body = report_json(app, client, setup.trainer_actor, cycle.id)
    assert body["comments"][0]["shown"] is False and body["comments"][0]["comments"] == []
    page = client.get(f"/feedback/cycles/{cycle.id}/report", headers=launch_headers(app, setup.trainer_actor))
    pdf = client.get(
        f"/feedback/cycles/{cycle.id}/report.pdf", headers=launch_headers(app, setup.trainer_actor)
    )
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    for where in (page.get_data(as_text=True), text, str(body)):
        assert "Only two wrote" not in where and "anything here" not in where


def test_no_personal_data_or_link_in_log_lines(app, client, db_session, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    setup = course_with_subject()
    cycle = start_cycle(setup)
    question = open_questions(cycle)[0].id
    raters = add_raters(setup, cycle, "peer", 3)
    outsider = nominations.nominate(
        db_session,
        setup.trainer_actor,  # an outside address is invited once a trainer approves: here, at once
        cycle.id,
        group="other",
        email="secret.rater@example.org",
        name="Zebulon",
    )
    token = links.issue_link(db_session, outsider)
    db_session.commit()
    page = client.get(f"/feedback/answer/{token}")
    assert page.status_code == 200
    form = {
        "csrf_token": form_token(page),
        "token": token,
        "action": "submit",
        f"comment-{question}": "Zq secret",
    }
    bad = client.post("/feedback/answer", data=form)  # no ratings: refused, logged, without the token
    assert bad.status_code == 422
    form.update({f"rating-{k}": "4" for k in full_answers(cycle).ratings})
    assert client.post("/feedback/answer", data=form).status_code == 303
    for rater in raters:
        submit(rater, full_answers(cycle, 3, {question: f"Private words of {rater.person.name}"}))
    cycles.close_cycle(db_session, setup.subject_actor, cycle.id)
    db_session.commit()
    client.get(f"/feedback/cycles/{cycle.id}/report", headers=launch_headers(app, setup.trainer_actor))
    secrets_ = [token, "secret.rater", "Zebulon", "Zq secret", "Private words"] + [
        r.person.name for r in raters
    ]
    secrets_ += list(db_session.scalars(select(FeedbackResponse.id)))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets_:
        assert secret not in logged, secret
    # A refused link is logged by its path like any refusal, but by then it is dead: it opens nothing and
    # no row knows its hash any more.
    assert client.get(f"/feedback/answer/{token}").status_code == 404
    assert (
        db_session.scalar(
            select(FeedbackRequest.id).where(FeedbackRequest.token_hash == links.hash_token(token))
        )
        is None
    )


def test_expired_link_is_refused_cleanly_and_writes_nothing(app, client, db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    outsider = nominations.nominate(
        db_session, setup.trainer_actor, cycle.id, group="other", email="x@example.org"
    )
    token = links.issue_link(db_session, outsider)
    db_session.commit()
    page = client.get(f"/feedback/answer/{token}")
    csrf = form_token(page)
    outsider.token_expires_at = utcnow() - timedelta(minutes=1)
    db_session.commit()
    expired = client.get(f"/feedback/answer/{token}")
    assert expired.status_code == 410 and b"expired" in expired.data and b"<html" in expired.data
    form = {"csrf_token": csrf, "token": token, "action": "submit"}
    form.update({f"rating-{k}": "4" for k in full_answers(cycle).ratings})
    posted = client.post("/feedback/answer", data=form)
    assert posted.status_code == 410
    saved = client.post("/feedback/answer", data={**form, "action": "save"})
    assert saved.status_code == 410
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(FeedbackResponse)) == 0
    stored = db_session.get(FeedbackRequest, outsider.id)
    assert stored.status == "invited" and stored.draft is None
    assert client.get("/feedback/answer/not-a-token").status_code == 404


def test_rater_never_sees_other_answers(app, client, db_session) -> None:
    setup = course_with_subject()
    cycle = start_cycle(setup)
    question = open_questions(cycle)[0].id
    first, second = add_raters(setup, cycle, "peer", 2)
    submit(first, full_answers(cycle, 1, {question: "First rater's words"}))
    db_session.commit()
    page = client.get(
        f"/feedback/requests/{second.request.id}/answer", headers=launch_headers(app, second.actor)
    )
    assert page.status_code == 200 and "First rater" not in page.get_data(as_text=True)
    api = client.get(f"/api/v1/feedback/requests/{second.request.id}", headers=api_headers(app, second.actor))
    assert "First rater" not in api.get_data(as_text=True)
    assert (
        client.get(f"/feedback/cycles/{cycle.id}", headers=launch_headers(app, second.actor)).status_code
        == 404
    )
    assert (
        client.get(
            f"/feedback/requests/{first.request.id}/answer", headers=launch_headers(app, second.actor)
        ).status_code
        == 404
    )


@pytest.mark.parametrize("allow_single_manager", [False, True])
def test_manager_alone_is_shown_only_when_the_cycle_says_so_and_told(
    app, client, db_session, allow_single_manager
) -> None:
    from lti_app.services.feedback.cycles import CycleSettings

    setup = course_with_subject()
    cycle = start_cycle(setup, settings=CycleSettings(allow_single_manager=allow_single_manager))
    (manager,) = add_raters(setup, cycle, "manager", 1)
    for rater in add_raters(setup, cycle, "peer", 3):
        submit(rater, full_answers(cycle, 3))
    db_session.commit()
    notice = answering.questionnaire_for_person(db_session, manager.actor, manager.request.id).notice
    assert ("even if you are the only manager" in notice) is allow_single_manager
    submit(manager, full_answers(cycle, 5))
    cycles.close_cycle(db_session, setup.subject_actor, cycle.id)
    db_session.commit()
    body = report_json(app, client, setup.subject_actor, cycle.id)
    keys = [g["key"] for g in body["groups"]]
    assert keys == (["manager", "peer"] if allow_single_manager else ["peer"])
    assert body["overall"]["others"]["mean"] == (3.5 if allow_single_manager else 3.0)


def test_an_item_rated_by_one_of_a_group_shows_nothing_of_that_rating(app, client, db_session) -> None:
    """Three peers answer, two of them "not observed" on one question: the lone peer's rating shows in no
    figure (the group's, the others', the gap, the competency's), whatever it is."""
    setup = course_with_subject()
    bodies = []
    for lone in (1, 5):
        cycle = start_cycle(setup, title=f"lone {lone}")
        first = items(cycle)[0].id
        submit(self_rater(setup, cycle), full_answers(cycle, 4))
        peers = add_raters(setup, cycle, "peer", 3, by=setup.subject_actor)
        submit(peers[0], full_answers(cycle, {first: lone}))
        for rater in peers[1:]:
            submit(rater, full_answers(cycle, {first: None}))
        cycles.close_cycle(db_session, setup.subject_actor, cycle.id)
        db_session.commit()
        body = report_json(app, client, setup.subject_actor, cycle.id)
        item = body["competencies"][0]["items"][0]
        (peer,) = item["groups"]
        assert peer["hidden"] and peer["mean"] is None and peer["sd"] is None and peer["n"] == 0
        assert item["others"]["mean"] is None and item["gap"] is None and item["flag"] is None
        bodies.append(body)
    assert bodies[0] == bodies[1]


# --- progress counts: the subject chooses each rater's group -------------------------------------------


def progress_seen(app, client, cycle_id: int, actor) -> tuple[dict, str]:  # type: ignore[no-untyped-def]
    """What a watcher can read of a running cycle's progress: the API body and the page's progress table
    (and the course's list of cycles)."""
    body = client.get(f"/api/v1/feedback/cycles/{cycle_id}", headers=api_headers(app, actor)).get_json()
    page = client.get(f"/feedback/cycles/{cycle_id}", headers=launch_headers(app, actor)).get_data(as_text=True)
    table = page.split('id="progress-h"')[1].split("</section>")[0]
    listing = client.get("/feedback", headers=launch_headers(app, actor)).get_data(as_text=True)
    row = listing.split(f"/feedback/cycles/{cycle_id}?")[1].split("</tr>")[0]
    return body["progress"], re.sub(r'lt=[^"&]*', "", table + row)  # launch tokens differ by the second


def one_per_group(setup, groups):  # type: ignore[no-untyped-def]
    cycle = start_cycle(setup)
    raters = {g: add_raters(setup, cycle, g, 1, by=setup.subject_actor)[0] for g in groups}
    return cycle, raters


@pytest.mark.parametrize("who", ["mentor", "peer", "other", "direct_report"])
def test_one_person_per_group_progress_does_not_say_who_answered(app, client, db_session, who) -> None:
    """Four groups of one: per-group counts would be per-person counts. Only the pooled count shows, and it
    reads the same whoever answered."""
    setup = course_with_subject()
    watchers = (setup.subject_actor, setup.trainer_actor)
    groups = ("mentor", "peer", "other", "direct_report")
    cycle, raters = one_per_group(setup, groups)
    db_session.commit()
    submit(raters[who], full_answers(cycle, 3))
    db_session.commit()
    seen = [progress_seen(app, client, cycle.id, actor) for actor in watchers]
    body = seen[0][0]
    for group in groups:
        assert body[group] == {"asked": 1, "answered": None, "declined": None, "awaiting_approval": 0}
    assert body["combined"] == {"asked": 4, "answered": 1, "declined": 0, "awaiting_approval": 0}
    assert body["all_others"] == {"asked": 4, "answered": 1, "declined": 0, "awaiting_approval": 0}
    # Against a cycle where a different person answered, everything a watcher reads is identical.
    other_setup = course_with_subject()
    other_cycle, other_raters = one_per_group(other_setup, groups)
    db_session.commit()
    submit(other_raters[groups[(groups.index(who) + 1) % 4]], full_answers(other_cycle, 3))
    db_session.commit()
    again = progress_seen(app, client, other_cycle.id, other_setup.subject_actor)
    assert again[0] == body
    assert again[1] == seen[0][1]


def test_small_groups_pooled_below_the_threshold_leave_only_the_total(app, client, db_session) -> None:
    """Three peers (shown alone) and one mentor: the mentor alone is below the threshold even pooled, and
    "all others" minus the peers would give the mentor away, so only the total is shown."""
    setup = course_with_subject()
    results = []
    for who in ("mentor", "peer"):
        cycle = start_cycle(setup, title="Same title")
        peers = add_raters(setup, cycle, "peer", 3, by=setup.subject_actor)
        (mentor,) = add_raters(setup, cycle, "mentor", 1, by=setup.subject_actor)
        db_session.commit()
        submit(mentor if who == "mentor" else peers[0], full_answers(cycle, 3))
        db_session.commit()
        body, html = progress_seen(app, client, cycle.id, setup.subject_actor)
        assert body["peer"]["answered"] is None and body["mentor"]["answered"] is None
        assert body["combined"]["answered"] is None
        assert body["all_others"] == {"asked": 4, "answered": 1, "declined": 0, "awaiting_approval": 0}
        results.append((body, html))
        cycles.close_cycle(db_session, setup.subject_actor, cycle.id)
        db_session.commit()
    assert results[0] == results[1]


def test_fewer_asked_than_the_threshold_shows_no_answered_count(app, client, db_session) -> None:
    setup = course_with_subject()
    seen = []
    for answered in (False, True):
        cycle = start_cycle(setup, title=f"answered {answered}")
        peers = add_raters(setup, cycle, "peer", 2, by=setup.subject_actor)
        db_session.commit()
        if answered:
            submit(peers[0], full_answers(cycle, 3))
            answering.answer_as_person(
                db_session, peers[1].actor, peers[1].request.id, answering.DECLINE, Answers()
            )
            db_session.commit()
        body, html = progress_seen(app, client, cycle.id, setup.trainer_actor)
        assert body["all_others"] == {"asked": 2, "answered": None, "declined": None, "awaiting_approval": 0}
        assert body["self"]["asked"] == 1  # the subject's own self-assessment is no secret to them
        seen.append((body, html.replace(f"answered {answered}", "")))
        cycles.close_cycle(db_session, setup.subject_actor, cycle.id)
        db_session.commit()
    assert seen[0] == seen[1]


def test_reminders_do_not_count_who_is_left_when_too_few_were_asked(app, client, db_session) -> None:
    """"Reminded 1" or "nobody to remind" would say whether the one person asked has answered."""
    setup = course_with_subject()
    cycle = start_cycle(setup)
    (rater,) = add_raters(setup, cycle, "mentor", 1, by=setup.subject_actor)
    submit(rater, full_answers(cycle, 3))
    db_session.commit()
    reminded = client.post(
        f"/api/v1/feedback/cycles/{cycle.id}/reminders", headers=api_headers(app, setup.subject_actor)
    )
    assert reminded.status_code == 200 and reminded.get_json() == {"reminded": None}
