"""The pages inside the LMS, driven like a browser: forms with CSRF and launch tokens, redirects, and a
precise 4xx page for every invalid form."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from lti_app.models.feedback import FeedbackCycle, FeedbackRequest
from tests.factories.feedback import course_with_subject, enrol, items
from tests.functional.feedback.pages import forget_csrf, form_token, launch_headers


def test_subject_runs_a_cycle_through_the_pages(app, client, db_session) -> None:
    setup = course_with_subject()
    colleague = enrol(setup.course)
    db_session.commit()
    me = launch_headers(app, setup.subject_actor)

    home = client.get("/feedback", headers=me)
    assert home.status_code == 200 and "Start a feedback cycle" in home.get_data(as_text=True)
    form_page = client.get("/feedback/cycles/new", headers=me)
    assert form_page.status_code == 200 and "Anonymity (trainers only)" not in form_page.get_data(
        as_text=True
    )
    closes = (date.today() + timedelta(days=10)).isoformat()
    created = client.post(
        "/feedback/cycles/new",
        data={
            "csrf_token": form_token(form_page),
            "title": "My 360",
            "closes_on": closes,
            "phase": "standalone",
        },
        headers=me,
    )
    assert created.status_code == 303
    cycle = db_session.scalars(select(FeedbackCycle)).one()
    assert (
        f"/feedback/cycles/{cycle.id}" in created.headers["Location"]
        and "done=created" in created.headers["Location"]
    )
    assert cycle.closes_at.date().isoformat() == (date.today() + timedelta(days=11)).isoformat()

    page = client.get(created.headers["Location"], headers=me)
    html = page.get_data(as_text=True)
    assert (
        "Now ask the people" in html
        and colleague.display_name in html
        and "Answer your self-assessment" in html
    )
    token = form_token(page)
    nominated = client.post(
        f"/feedback/cycles/{cycle.id}/nominations",
        data={"csrf_token": token, "person_id": str(colleague.id), "group": "peer"},
        headers=me,
    )
    assert nominated.status_code == 303
    outsider = client.post(
        f"/feedback/cycles/{cycle.id}/nominations",
        data={"csrf_token": token, "email": "mentor@example.org", "name": "Old boss", "group": "manager"},
        headers=me,
    )
    assert outsider.status_code == 303
    html = client.get(f"/feedback/cycles/{cycle.id}", headers=me).get_data(as_text=True)
    assert "Old boss" in html and "by email" in html

    bad_group = client.post(
        f"/feedback/cycles/{cycle.id}/nominations",
        data={"csrf_token": token, "person_id": str(colleague.id), "group": "boss"},
        headers=me,
    )
    assert bad_group.status_code == 422 and b"group" in bad_group.data
    no_csrf = client.post(f"/feedback/cycles/{cycle.id}/nominations", data={"group": "peer"}, headers=me)
    assert no_csrf.status_code == 400

    # The self-assessment, a reminder, then closing.
    own = db_session.scalars(select(FeedbackRequest).where(FeedbackRequest.rater_group == "self")).one()
    answer = client.get(f"/feedback/requests/{own.id}/answer", headers=me)
    assert answer.status_code == 200 and "Your self-assessment" in answer.get_data(as_text=True)
    partial = client.post(
        f"/feedback/requests/{own.id}/answer",
        data={"csrf_token": form_token(answer), "action": "submit", f"rating-{items(cycle)[0].id}": "5"},
        headers=me,
    )
    assert partial.status_code == 422 and "Please answer this question." in partial.get_data(as_text=True)
    assert 'value="5" checked' in partial.get_data(as_text=True)  # what was chosen is kept
    form = {"csrf_token": form_token(answer), "action": "submit"}
    form.update({f"rating-{i.id}": "4" for i in items(cycle)})
    assert client.post(f"/feedback/requests/{own.id}/answer", data=form, headers=me).status_code == 303
    reminded = client.post(f"/feedback/cycles/{cycle.id}/reminders", data={"csrf_token": token}, headers=me)
    # Two people asked, below the threshold of 3: the notice does not say how many were reminded.
    assert reminded.status_code == 303 and "done=reminders_sent" in reminded.headers["Location"]
    closed = client.post(f"/feedback/cycles/{cycle.id}/close", data={"csrf_token": token}, headers=me)
    assert closed.status_code == 303 and "/report" in closed.headers["Location"]
    report = client.get(closed.headers["Location"], headers=me)
    assert report.status_code == 200
    assert "Not enough people answered" in report.get_data(as_text=True)


def test_trainer_pages(app, client, db_session) -> None:
    setup = course_with_subject()
    db_session.commit()
    trainer = launch_headers(app, setup.trainer_actor)
    form_page = client.get("/feedback/cycles/new", headers=trainer)
    assert "Anonymity (trainers only)" in form_page.get_data(as_text=True)
    closes = (date.today() + timedelta(days=10)).isoformat()
    created = client.post(
        "/feedback/cycles/new",
        data={
            "csrf_token": form_token(form_page),
            "subject_id": str(setup.subject.id),
            "closes_on": closes,
            "trainer_settings": "1",
            "anonymity_threshold": "4",
            "comment_threshold": "5",
            "allow_single_self": "1",
            "nominations_need_approval": "1",
        },
        headers=trainer,
    )
    assert created.status_code == 303
    cycle = db_session.scalars(select(FeedbackCycle)).one()
    assert (cycle.subject_id, cycle.anonymity_threshold, cycle.comment_threshold) == (setup.subject.id, 4, 5)
    assert cycle.nominations_need_approval and not cycle.allow_single_manager

    me = launch_headers(app, setup.subject_actor)
    colleague = enrol(setup.course)
    db_session.commit()
    forget_csrf()
    page = client.get(f"/feedback/cycles/{cycle.id}", headers=me)
    nominated = client.post(
        f"/feedback/cycles/{cycle.id}/nominations",
        data={"csrf_token": form_token(page), "person_id": str(colleague.id), "group": "peer"},
        headers=me,
    )
    assert nominated.status_code == 303
    assert "nominated_pending" in nominated.headers["Location"]
    db_session.commit()
    pending = db_session.scalars(select(FeedbackRequest).where(FeedbackRequest.rater_group == "peer")).one()
    assert pending.approval == "pending"
    forget_csrf()
    trainer_page = client.get(f"/feedback/cycles/{cycle.id}", headers=trainer)
    assert "Approve" in trainer_page.get_data(as_text=True)
    approved = client.post(
        f"/feedback/nominations/{pending.id}/decision",
        data={"csrf_token": form_token(trainer_page), "decision": "approve"},
        headers=trainer,
    )
    assert approved.status_code == 303
    db_session.expire_all()
    assert db_session.get(FeedbackRequest, pending.id).status == "invited"

    lowered = client.post(
        f"/feedback/cycles/{cycle.id}/settings",
        data={"csrf_token": form_token(trainer_page), "trainer_settings": "1", "anonymity_threshold": "1"},
        headers=trainer,
    )
    assert lowered.status_code == 422
    listing = client.get("/feedback", headers=trainer).get_data(as_text=True)
    assert setup.subject.display_name in listing and "Feedback cycles in this course" in listing
    templates_page = client.get("/feedback/templates", headers=trainer)
    assert templates_page.status_code == 200 and "shipped with Tandem" in templates_page.get_data(
        as_text=True
    )


def test_invalid_cycle_form_is_a_422_page_and_writes_nothing(app, client, db_session) -> None:
    setup = course_with_subject()
    db_session.commit()
    me = launch_headers(app, setup.subject_actor)
    token = form_token(client.get("/feedback/cycles/new", headers=me))
    for data in (
        {},
        {"closes_on": "not a date"},
        {"closes_on": "2001-01-01"},
        {"closes_on": "2999-01-01", "phase": "x"},
    ):
        response = client.post("/feedback/cycles/new", data={"csrf_token": token, **data}, headers=me)
        assert response.status_code == 422, data
        assert b"<html" in response.data
    assert db_session.scalar(select(func.count()).select_from(FeedbackCycle)) == 0
    assert client.get("/feedback", headers={}).status_code == 401
