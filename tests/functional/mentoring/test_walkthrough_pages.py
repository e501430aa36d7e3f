"""The issue's "Done when", through the pages: a trainer creates a programme, two learners fill their
profiles, one finds the other by skill, asks, is accepted, both see the active relationship, a third request
beyond capacity is refused with a clear message, and the trainer's overview shows the pair."""

from __future__ import annotations

import re

from sqlalchemy import select

from lti_app.models.programme import Programme
from lti_app.models.relationship import Relationship
from tests.factories.core import CourseFactory, ProgrammeFactory, actor_for
from tests.factories.mentoring import enrol, mentee, mentor
from tests.functional.mentoring.pages import Browser, redirect_path, text


def test_done_when_through_the_pages(app, client, db_session) -> None:
    course = CourseFactory()
    tess, ada, bob, cy = enrol(course, "trainer"), enrol(course), enrol(course), enrol(course)
    db_session.commit()
    trainer = Browser(app, client, actor_for(tess, course, "trainer"))
    mentor_page = Browser(app, client, actor_for(ada, course))
    mentee_page = Browser(app, client, actor_for(bob, course))
    third = Browser(app, client, actor_for(cy, course))

    # The trainer lands on the programmes page and creates a programme where mentors take one mentee.
    assert "No mentoring programme in this course yet" in text(trainer.get("/course/programmes"))
    created = trainer.post(
        "/course/programmes/new",
        {
            "title": "Career mentoring",
            "description": "Grow with a colleague",
            "relationship_type": "mentoring",
            "model": "one_to_one",
            "status": "open",
            "request_policy": "mentee",
            "mentor_roles": ["participant"],
            "mentor_requires_opt_in": "1",
            "default_capacity": "1",
            "request_expiry_days": "14",
            "flash_duration_days": "14",
            "diary_writers": "both",
            "matching_mode": "self_selection",
        },
    )
    assert created.status_code == 303, text(created)
    programme = db_session.scalar(select(Programme))
    assert redirect_path(created) == f"/programmes/{programme.id}/overview"

    # Two learners fill their profiles; Ada offers to mentor.
    saved = mentor_page.post(
        "/profile",
        {
            "headline": "Data analyst",
            "skills": "Python, Data  Visualisation",
            "languages": "English",
            "goals": "Help others into analytics",
        },
    )
    assert saved.status_code == 303
    assert (
        mentor_page.post(
            f"/programmes/{programme.id}/preferences", {"open_to_mentor": "1", "open_to_be_mentored": "0"}
        ).status_code
        == 303
    )
    mentee_page.post("/profile", {"skills_wanted": "python", "goals": "Learn data visualisation"})

    # Bob finds Ada by skill and asks her.
    found = mentee_page.get(f"/programmes/{programme.id}/mentors", skill="python")
    assert found.status_code == 200
    assert ada.display_name in text(found) and "Offers skills you want: python" in text(found)
    assert "data visualisation" in text(found)
    asked = mentee_page.post(
        f"/programmes/{programme.id}/requests", {"person_id": ada.id, "message": "Hello!"}
    )
    assert asked.status_code == 303
    rel = db_session.scalar(select(Relationship))
    assert "Requests I sent" in text(mentee_page.get("/home"))
    home = mentor_page.get("/home")
    assert bob.display_name in re.search(r'id="inbound">(.*?)</ul>', home.get_data(as_text=True), re.S).group(
        1
    )
    assert 'data-unread="1"' in home.get_data(as_text=True)

    # Ada accepts; both see the active relationship.
    assert mentor_page.post(f"/relationships/{rel.id}/accept").status_code == 303
    for page, other in ((mentor_page, bob), (mentee_page, ada)):
        current = re.search(r'id="current">(.*?)</ul>', page.get("/home").get_data(as_text=True), re.S).group(
            1
        )
        assert other.display_name in current and 'data-status="active"' in current
    timeline = text(mentee_page.get(f"/relationships/{rel.id}"))
    assert "pending → active" in timeline and "Request accepted" in timeline

    # A third request beyond capacity is refused, clearly.
    third.post("/profile", {"skills_wanted": "python"})
    assert ada.display_name not in text(third.get(f"/programmes/{programme.id}/mentors"))
    refused = third.post(f"/programmes/{programme.id}/requests", {"person_id": ada.id})
    assert refused.status_code == 409
    assert f"{ada.display_name} has no free place in this programme: 1 of 1 mentee place taken." in text(
        refused
    )
    assert db_session.scalar(select(Relationship).where(Relationship.id != rel.id)) is None

    # The trainer's overview shows the pair.
    overview = trainer.get(f"/programmes/{programme.id}/overview")
    pairs = re.search(r'id="pairs">(.*?)</table>', overview.get_data(as_text=True), re.S).group(1)
    assert ada.display_name in pairs and bob.display_name in pairs
    csv = trainer.get(f"/programmes/{programme.id}/overview.csv", status="matched")
    assert csv.mimetype == "text/csv" and bob.display_name in csv.get_data(as_text=True)


def test_forms_without_csrf_are_refused(app, client, db_session) -> None:
    course = CourseFactory()
    bob = enrol(course)
    db_session.commit()
    page = Browser(app, client, actor_for(bob, course))
    response = page.post("/profile", {"headline": "x"}, csrf=False)
    assert response.status_code == 400 and "csrf_failed" in response.get_data(as_text=True)


def test_invalid_programme_form_names_the_fields(app, client, db_session) -> None:
    course = CourseFactory()
    tess = enrol(course, "trainer")
    db_session.commit()
    trainer = Browser(app, client, actor_for(tess, course, "trainer"))
    response = trainer.post(
        "/course/programmes/new",
        {
            "title": "",
            "relationship_type": "custom",
            "default_capacity": "-1",
            "starts_on": "2030-02-01",
            "ends_on": "2030-01-01",
        },
    )
    assert response.status_code == 422
    page = text(response)
    assert "Some settings are missing or invalid" in page
    assert db_session.scalar(select(Programme)) is None


def test_trainer_pairs_reassigns_pauses_and_ends_through_the_pages(app, client, db_session) -> None:
    programme = ProgrammeFactory(model="one_to_one")
    course = programme.course
    tess, ada, cy, bob = enrol(course, "trainer"), mentor(programme), mentor(programme), mentee(programme)
    db_session.commit()
    trainer = Browser(app, client, actor_for(tess, course, "trainer"))
    form = trainer.get(f"/programmes/{programme.id}/relationships/new")
    assert ada.display_name in text(form) and bob.display_name in text(form)
    created = trainer.post(
        f"/programmes/{programme.id}/relationships/new",
        {"mentor_ids": ada.id, "mentee_ids": bob.id, "note": "Matched at the kick-off"},
    )
    assert created.status_code == 303
    rel = db_session.scalar(select(Relationship))
    page = trainer.get(f"/relationships/{rel.id}").get_data(as_text=True)
    assert f'<option value="{cy.id}">{cy.display_name}</option>' in page  # the reassign picker
    if "diary.journal" in app.view_functions:
        assert f"/relationships/{rel.id}/journal" in page
    assert (
        trainer.post(
            f"/relationships/{rel.id}/reassign", {"remove_person_id": ada.id, "add_person_id": cy.id}
        ).status_code
        == 303
    )
    assert trainer.post(f"/relationships/{rel.id}/pause", {"reason": "Holidays"}).status_code == 303
    no_reason = trainer.post(f"/relationships/{rel.id}/end", {"reason": ""})
    assert no_reason.status_code == 422 and "Give a reason." in text(no_reason)
    assert trainer.post(f"/relationships/{rel.id}/end", {"reason": "Cy moved team"}).status_code == 303
    timeline = text(trainer.get(f"/relationships/{rel.id}"))
    assert "Created by a trainer" in timeline and "Reassigned: a new mentor joined" in timeline
    assert "active → paused" in timeline and "paused → ended" in timeline and "Cy moved team" in timeline
    assert trainer.post(f"/relationships/{rel.id}/explode").status_code == 404
