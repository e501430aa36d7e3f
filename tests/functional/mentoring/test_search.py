"""Mentor search: one full-text interface over SQLite FTS5 and PostgreSQL tsvector, filters, ranking by fit
to the searcher's goals, and only eligible mentors with a free place."""

from __future__ import annotations

from sqlalchemy import select, text

from lti_app.models.person import Enrolment
from lti_app.models.profile import Profile
from lti_app.services import profiles, search
from lti_app.services.search import MentorFilters, search_mentors
from tests.factories.core import CourseFactory, ProgrammeFactory, actor_for, pair
from tests.factories.mentoring import enrol, mentee, mentor


def _names(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.person.display_name for m in result.results]


def test_full_text_matches_stems_and_prefixes_on_both_databases(app, db_session) -> None:
    programme = ProgrammeFactory()
    ada = mentor(programme, skills=["data visualisation"], bio="I love mentoring analysts")
    mentor(programme, skills=["woodwork"], bio="Carpentry and joinery")
    ranked = search.ranked_people(db_session, "visualis")
    assert list(ranked) == [ada.id]
    assert list(search.ranked_people(db_session, "analysts mentoring")) == [ada.id]  # every word must match
    assert search.ranked_people(db_session, "analysts woodwork") == {}
    assert list(search.ranked_people(db_session, "analysts woodwork", any_word=True)) != []
    assert search.ranked_people(db_session, 'AND OR NOT " * ( )') == {}  # operators are not syntax here


def test_the_index_follows_profile_and_name_changes(app, db_session) -> None:
    programme = ProgrammeFactory()
    ada = mentor(programme, skills=["python"])
    actor = actor_for(ada, programme.course)
    profiles.update_profile(db_session, actor, {"skills": "Kubernetes"})
    assert list(search.ranked_people(db_session, "kubernetes")) == [ada.id]
    assert search.ranked_people(db_session, "python") == {}
    ada.name = "Augusta Lovelace"
    db_session.flush()
    assert list(search.ranked_people(db_session, "lovelace")) == [ada.id]
    db_session.delete(db_session.scalar(select(Profile).where(Profile.person_id == ada.id)))
    db_session.flush()
    assert search.ranked_people(db_session, "kubernetes") == {}


def test_tables_are_emptied_between_tests(app, db_session, dialect) -> None:
    rows = db_session.execute(text("SELECT count(*) FROM profile_search")).scalar()
    assert rows == 0


def test_filters(app, db_session) -> None:
    programme = ProgrammeFactory()
    seeker = mentee(programme)
    ada = mentor(
        programme,
        skills=["python", "public speaking"],
        languages=["french"],
        location="Lyon",
        department="Finance",
        availability="Tuesday afternoons",
        interests=["climbing"],
    )
    mentor(programme, skills=["python"], languages=["english"], location="Leeds", department="HR")
    actor = actor_for(seeker, programme.course)
    for filters in (
        MentorFilters(skill="Public-Speaking"),
        MentorFilters(language="French"),
        MentorFilters(location="lyon"),
        MentorFilters(department="fin"),
        MentorFilters(availability="tuesday"),
        MentorFilters(interest="climb"),
        MentorFilters(text="speaking"),
    ):
        assert _names(search_mentors(db_session, actor, programme.id, filters)) == [ada.display_name], filters
    assert search_mentors(db_session, actor, programme.id, MentorFilters(skill="python")).total == 2


def test_only_eligible_mentors_with_room_in_the_course(app, db_session) -> None:
    programme = ProgrammeFactory(default_capacity=1)
    seeker = mentee(programme)
    free = mentor(programme, skills=["python"])
    full = mentor(programme, skills=["python"])
    pair(programme, full, mentee(programme))
    not_opted_in = mentee(programme, skills=["python"])
    elsewhere = mentor(
        programme, skills=["python"], course=CourseFactory(registration=programme.course.registration)
    )
    left = mentor(programme, skills=["python"])
    db_session.scalar(select(Enrolment).where(Enrolment.person_id == left.id)).status = "inactive"
    db_session.flush()
    found = search_mentors(db_session, actor_for(seeker, programme.course), programme.id, MentorFilters())
    assert _names(found) == [free.display_name]
    assert {not_opted_in.display_name, elsewhere.display_name, full.display_name}.isdisjoint(_names(found))


def test_ranked_by_fit_with_reasons(app, db_session) -> None:
    programme = ProgrammeFactory()
    seeker = mentee(
        programme,
        skills_wanted=["python", "sql"],
        goals="Become a data engineer",
        interests=["chess"],
        languages=["german"],
    )
    partial = mentor(programme, skills=["python"])
    best = mentor(
        programme,
        skills=["python", "sql"],
        headline="Data engineer",
        interests=["chess"],
        languages=["german"],
    )
    goals_only = mentor(programme, skills=["cooking"], bio="I am a data engineer at heart")
    none = mentor(programme, skills=["pottery"])
    found = search_mentors(db_session, actor_for(seeker, programme.course), programme.id, MentorFilters())
    assert _names(found) == [
        best.display_name,
        partial.display_name,
        goals_only.display_name,
        none.display_name,
    ]
    top = found.results[0]
    assert top.reasons[0] == "Offers skills you want: python, sql"
    assert "Profile matches your goals" in top.reasons and "Shares interests: chess" in top.reasons
    assert "Speaks german" in top.reasons and found.results[-1].reasons == []


def test_lms_mentor_is_found_without_opting_in(app, db_session) -> None:
    programme = ProgrammeFactory()
    child = mentee(programme)
    parent = enrol(programme.course, "mentor")
    db_session.scalar(select(Enrolment).where(Enrolment.person_id == parent.id)).mentor_of_subs = [child.sub]
    stranger = mentee(programme)
    db_session.flush()
    found = search_mentors(db_session, actor_for(child, programme.course), programme.id, MentorFilters())
    assert _names(found) == [parent.display_name] and found.results[0].lms_mentor
    assert (
        search_mentors(db_session, actor_for(stranger, programme.course), programme.id, MentorFilters()).total
        == 0
    )


def test_existing_requests_are_flagged_and_paging_works(app, db_session) -> None:
    programme = ProgrammeFactory()
    seeker = mentee(programme)
    mentors = [mentor(programme, skills=["python"]) for _ in range(5)]
    rel = pair(programme, mentors[0], seeker, status="pending")
    actor = actor_for(seeker, programme.course)
    everyone = search_mentors(db_session, actor, programme.id, MentorFilters(limit=100))
    flagged = {m.person.id: m.open_relationship_id for m in everyone.results}
    assert flagged[mentors[0].id] == rel.id and flagged[mentors[1].id] is None
    page = search_mentors(db_session, actor, programme.id, MentorFilters(limit=2, offset=2))
    assert page.total == 5 and len(page.results) == 2


def test_a_database_built_without_the_index_gets_it_on_first_use(app, db_session) -> None:
    """Migrations are generated from the models and do not know the index: the first write creates it."""
    from lti_app.models import search_index

    db_session.execute(text("DROP TABLE profile_search"))
    search_index._ready.clear()
    programme = ProgrammeFactory()
    ada = mentor(programme, skills=["python"])
    assert list(search.ranked_people(db_session, "python")) == [ada.id]
    db_session.commit()  # keep the recreated index for the tests that follow


def test_the_full_text_query_reads_only_the_courses_people(app, db_session) -> None:
    """The index holds every platform's profiles: a search reads the rows of its own course's people, never
    another tenant's (counted by running each full-text statement the search sent again)."""
    from sqlalchemy import event

    from lti_app.extensions import db

    programme = ProgrammeFactory()
    seeker = mentee(programme, goals="python data", skills_wanted=["python"])
    ada = mentor(programme, skills=["python"], bio="python data")
    elsewhere = ProgrammeFactory()  # another platform, with many people whose profiles match too
    for _ in range(12):
        mentor(elsewhere, skills=["python"], bio="python data")
    db_session.flush()
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "profile_search" in statement and "count(" not in statement.lower():
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        found = search_mentors(
            db_session, actor_for(seeker, programme.course), programme.id, MentorFilters(text="python")
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert [m.person.id for m in found.results] == [ada.id]
    assert len(sent) == 2  # the search words, and the searcher's goals
    raw = db_session.connection().connection.driver_connection
    for statement, parameters in sent:
        cursor = raw.cursor()
        cursor.execute(statement, parameters)
        rows = cursor.fetchall()
        assert len(rows) <= 2, statement  # the seeker and Ada: the course's people only
