"""Programmes (rules, placement, several per course, privacy warnings) and profiles (normalised tags,
visibility, own edits only)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from lti_app.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from lti_app.models.audit import AuditEvent
from lti_app.services import events, profiles, programmes
from tests.factories.core import CourseFactory, PlacementFactory, ProgrammeFactory, actor_for, pair
from tests.factories.mentoring import enrol, mentee, mentor
from tests.functional.mentoring.pages import Browser, text


def test_a_programme_launched_from_a_placement_belongs_to_it(app, db_session) -> None:
    placement = PlacementFactory()
    tess = enrol(placement.course, "trainer")
    actor = replace(actor_for(tess, placement.course, "trainer"), placement_id=placement.id)
    created = programmes.create_programme(
        db_session, actor, placement.course_id, {"title": "Onboarding peers", "model": "peer"}
    )
    second = programmes.create_programme(
        db_session, replace(actor, placement_id=None), placement.course_id, {"title": "Career mentoring"}
    )
    assert created.placement_id == placement.id and second.placement_id is None
    assert created.created_by_id == tess.id
    listed = programmes.list_programmes(db_session, actor, placement.course_id)
    assert [p.title for p in listed] == ["Onboarding peers", "Career mentoring"]  # this activity's first


def test_drafts_are_for_trainers_only(app, db_session) -> None:
    draft = ProgrammeFactory(status="draft")
    learner, tess = enrol(draft.course), enrol(draft.course, "trainer")
    assert programmes.list_programmes(db_session, actor_for(learner, draft.course), draft.course_id) == []
    with pytest.raises(NotFound):
        programmes.get_programme(db_session, actor_for(learner, draft.course), draft.id)
    assert programmes.list_programmes(db_session, actor_for(tess, draft.course, "trainer"), draft.course_id)


def test_rule_changes_publish_an_event_and_are_audited(app, db_session) -> None:
    programme = ProgrammeFactory()
    tess = enrol(programme.course, "trainer")
    seen = []
    events.subscribe(handler := lambda session, event: seen.append(event))
    try:
        programmes.update_programme(
            db_session,
            actor_for(tess, programme.course, "trainer"),
            programme.id,
            {"default_capacity": 5, "description": "New words"},
        )
        programmes.update_programme(
            db_session,
            actor_for(tess, programme.course, "trainer"),
            programme.id,
            {"description": "Only words"},
        )
    finally:
        events._subscribers.remove(handler)
    assert [(e.kind, e.programme_id) for e in seen] == [(events.PROGRAMME_RULES_CHANGED, programme.id)]
    audit = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "programme.rules_changed"))
    assert audit.data == {"fields": ["default_capacity", "description"]} and audit.actor_id == tess.id


def test_no_warning_when_nothing_private_exists_yet(app, db_session) -> None:
    programme = ProgrammeFactory()
    tess = enrol(programme.course, "trainer")
    updated = programmes.update_programme(
        db_session,
        actor_for(tess, programme.course, "trainer"),
        programme.id,
        {"diary_readable_by_admins": True},
    )
    assert updated.diary_readable_by_admins


def test_the_warning_page_asks_for_confirmation(app, client, db_session) -> None:
    programme = ProgrammeFactory()
    tess = enrol(programme.course, "trainer")
    rel = pair(programme, mentor(programme), mentee(programme))
    rel.started_at = rel.requested_at
    db_session.commit()
    page = Browser(app, client, actor_for(tess, programme.course, "trainer"))
    form = {
        "title": programme.title,
        "mentor_roles": ["participant", "trainer"],
        "mentor_requires_opt_in": "1",
        "diary_readable_by_admins": "1",
        "default_capacity": "3",
    }
    warned = page.post(f"/programmes/{programme.id}/edit", form)
    assert warned.status_code == 409
    assert (
        "Platform administrators will be able to read the diary entries of 1 existing relationship"
        in text(warned)
    )
    db_session.refresh(programme)
    assert not programme.diary_readable_by_admins
    confirmed = page.post(f"/programmes/{programme.id}/edit", {**form, "confirm_exposure": "1"})
    assert confirmed.status_code == 303
    db_session.refresh(programme)
    assert programme.diary_readable_by_admins
    assert db_session.scalar(
        select(AuditEvent.data).where(AuditEvent.action == "programme.privacy_loosened")
    ) == {"fields": ["diary_readable_by_admins"]}


def test_cross_field_validation(app, db_session) -> None:
    course = CourseFactory()
    tess = actor_for(enrol(course, "trainer"), course, "trainer")
    with pytest.raises(ValidationFailed) as bad:
        programmes.create_programme(
            db_session,
            tess,
            course.id,
            {
                "title": " ",
                "relationship_type": "custom",
                "mentor_roles": ["wizard"],
                "request_expiry_days": 0,
            },
        )
    assert set(bad.value.details) == {"title", "custom_type_name", "mentor_roles", "request_expiry_days"}
    custom = programmes.create_programme(
        db_session,
        tess,
        course.id,
        {"title": "Buddies", "relationship_type": "custom", "custom_type_name": "Buddy"},
    )
    assert custom.type_label == "Buddy"


def test_preferences_follow_the_programme_rules(app, db_session) -> None:
    programme = ProgrammeFactory(mentor_roles=["trainer"])
    learner = enrol(programme.course)
    actor = actor_for(learner, programme.course)
    with pytest.raises(RuleViolation, match="only trainers can mentor"):
        programmes.set_preferences(db_session, actor, programme.id, open_to_mentor=True)
    row = programmes.set_preferences(db_session, actor, programme.id, open_to_be_mentored=True)
    assert row.open_to_be_mentored and not row.open_to_mentor
    tess = enrol(programme.course, "trainer")
    row = programmes.set_preferences(
        db_session,
        actor_for(tess, programme.course, "trainer"),
        programme.id,
        open_to_mentor=True,
        capacity=2,
    )
    assert row.open_to_mentor and row.capacity_override == 2
    with pytest.raises(PermissionDenied):
        programmes.set_capacity_override(db_session, actor, programme.id, tess.id, 9)


def test_profile_tags_are_normalised_and_validated(app, db_session) -> None:
    course = CourseFactory()
    ada = enrol(course)
    actor = actor_for(ada, course)
    saved = profiles.update_profile(
        db_session,
        actor,
        {
            "skills": "Public  Speaking, public-speaking; PYTHON",
            "languages": ["French ", "french"],
            "time_zone": "Europe/Paris",
            "headline": "  Analyst  ",
        },
    )
    assert saved.skills == ["public speaking", "python"] and saved.languages == ["french"]
    assert saved.headline == "Analyst" and saved.time_zone == "Europe/Paris"
    with pytest.raises(ValidationFailed) as bad:
        profiles.update_profile(db_session, actor, {"time_zone": "Mars/Olympus", "capacity": 500})
    assert set(bad.value.details) == {"time_zone", "capacity"}


def test_profiles_are_visible_to_classmates_only(app, db_session) -> None:
    course, elsewhere = CourseFactory(), CourseFactory()
    ada, bob = enrol(course), enrol(course)
    stranger = enrol(CourseFactory(registration=course.registration))
    foreign = enrol(elsewhere)
    actor = actor_for(ada, course)
    assert profiles.view_profile(db_session, actor, bob.id).person is bob
    for hidden in (stranger, foreign):
        with pytest.raises(NotFound):
            profiles.view_profile(db_session, actor, hidden.id)
    admin = actor_for(enrol(course, "admin"), course, "admin")
    assert profiles.view_profile(db_session, admin, stranger.id).person is stranger
    with pytest.raises(NotFound):
        profiles.view_profile(db_session, admin, foreign.id)


def test_profile_page_escapes_what_people_type(app, client, db_session) -> None:
    course = CourseFactory()
    ada, bob = enrol(course), enrol(course)
    db_session.commit()
    Browser(app, client, actor_for(ada, course)).post(
        "/profile", {"headline": "<script>alert(1)</script>", "skills": "<b>bold</b>"}
    )
    html = Browser(app, client, actor_for(bob, course)).get(f"/people/{ada.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html


def test_participation_says_what_the_person_may_do_in_the_programme(app, db_session) -> None:
    programme = ProgrammeFactory(mentor_roles=["trainer"])
    learner, tess = enrol(programme.course), enrol(programme.course, "trainer")
    mine = programmes.participation(db_session, actor_for(learner, programme.course), programme.id)
    assert (mine.programme, mine.membership, mine.can_offer, mine.is_trainer) == (programme, None, False, False)
    theirs = programmes.participation(db_session, actor_for(tess, programme.course, "trainer"), programme.id)
    assert theirs.can_offer and theirs.is_trainer
    choices = programmes.my_membership(db_session, actor_for(learner, programme.course), programme.id)
    assert (choices.open_to_mentor, choices.open_to_be_mentored, choices.capacity_override) == (False, True, None)
    assert choices.capacity == programme.default_capacity
