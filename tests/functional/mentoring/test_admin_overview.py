"""The admin's "who mentors whom" across every course of their platform, and nothing of another platform."""

from __future__ import annotations

from tests.factories.core import CourseFactory, ProgrammeFactory, actor_for, pair
from tests.factories.mentoring import enrol, mentee, mentor
from tests.functional.mentoring.pages import Browser, text


def test_admins_see_every_course_of_their_platform(app, client, db_session) -> None:
    first = ProgrammeFactory(title="Career mentoring")
    registration = first.course.registration
    second = ProgrammeFactory(title="Onboarding peers", course=CourseFactory(registration=registration))
    foreign = ProgrammeFactory(title="Foreign mentoring")
    pairs = [(p, mentor(p), mentee(p)) for p in (first, second, foreign)]
    for programme, m, n in pairs:
        pair(programme, m, n)
    admin = enrol(first.course, "admin")
    db_session.commit()
    page = Browser(app, client, actor_for(admin, first.course, "admin"))

    overview = page.get("/admin/overview")
    assert overview.status_code == 200
    shown = text(overview)
    assert "Career mentoring" in shown and "Onboarding peers" in shown and "Foreign mentoring" not in shown
    for _, m, n in pairs[:2]:
        assert m.display_name in shown and n.display_name in shown
    assert pairs[2][1].display_name not in shown
    assert "Who mentors whom" in shown  # the navigation bar offers it to admins

    one_course = text(page.get("/admin/overview", course_id=second.course_id))
    assert "Onboarding peers" in one_course and "Career mentoring" not in one_course

    csv = page.get("/admin/overview", format="csv")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert lines[0] == "course,programme,relationship_id,status,mentors,mentees" and len(lines) == 3


def test_trainers_and_learners_are_refused(app, client, db_session) -> None:
    programme = ProgrammeFactory()
    for role in ("trainer", "participant"):
        person = enrol(programme.course, role)
        db_session.commit()
        response = Browser(app, client, actor_for(person, programme.course, role)).get("/admin/overview")
        assert response.status_code == 403
        assert "Only administrators of this platform" in text(response)


def test_the_platform_csv_is_built_by_the_service_with_cells_neutralised(app, db_session) -> None:
    from lti_app.services.overview import platform_overview, platform_overview_csv

    programme = ProgrammeFactory(title="=HYPERLINK(1)")
    pair(programme, mentor(programme), mentee(programme))
    admin = enrol(programme.course, "admin")
    view = platform_overview(db_session, actor_for(admin, programme.course, "admin"))
    lines = platform_overview_csv(view).strip().splitlines()
    assert lines[0] == "course,programme,relationship_id,status,mentors,mentees"
    assert lines[1].split(",")[1] == "'=HYPERLINK(1)"


def test_a_course_id_that_is_not_an_id_is_refused(app, client, db_session) -> None:
    programme = ProgrammeFactory()
    admin = enrol(programme.course, "admin")
    db_session.commit()
    page = Browser(app, client, actor_for(admin, programme.course, "admin"))
    for bad in ("9" * 25, "\u00b2", "x"):
        assert page.get("/admin/overview", course_id=bad).status_code == 422
