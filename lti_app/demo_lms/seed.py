"""Tandem's side of the demo: what the demo course looks like after a few weeks of use, so the first launch
shows the product working instead of an empty page.

Everything goes through the code a real course goes through. The demo LMS's launch claims are built by the
platform core and recorded by ``services.launch.record_launch``, exactly as ``/lti/launch`` records them
(course, people, enrolments, the resource link's placement); profiles are filled by their owners, the
programme is created and put on the placement by the trainer, mentors opt in themselves, a mentee asks and
the mentor accepts, each writes a diary entry the other confirms. So every rule (roles, opt-in, capacity,
request policy, diary writers, goal ownership) holds, and the completion evaluator sees the events.

The story is left open for whoever tries the demo: Lena has a profile but no mentor (she finds and asks
Marco), Marco mentors Jonas and has Priya's request waiting, Tara trains the course, Ada administers it.

Idempotent, and careful with what people did meanwhile (``make run`` runs it every time): people are
launched only when they are not in the course yet, a profile is filled only while it is empty, and the
programme's story is written only when the demo's resource link has no programme; otherwise it is left as
it is. No Flask here.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import Settings
from lti_app.models.base import utcnow
from lti_app.models.course import Course, Placement
from lti_app.models.demo import DemoCourse, DemoLink, DemoPerson
from lti_app.models.person import Enrolment, Person
from lti_app.models.programme import Programme
from lti_app.models.registration import Deployment
from lti_app.services import diary, goals, notifications, profiles, programmes, relationships
from lti_app.services.access import Actor
from lti_app.services.completion import overview as completion
from lti_app.services.completion import placements
from lti_app.services.launch import record_launch

from . import store
from .platform import Launch, build_id_token_claims

LENA, MARCO, TARA, ADA = "demo-learner", "demo-mentor", "demo-trainer", "demo-admin"
JONAS, PRIYA, AISHA, DIEGO = "demo-jonas", "demo-priya", "demo-aisha", "demo-diego"

PROGRAMME = {
    "title": "Career mentoring",
    "description": (
        "Three months with a more experienced colleague: agree one or two goals, meet every two weeks and "
        "keep a diary of what you agreed. Completion reaches the course gradebook by itself."
    ),
    "relationship_type": "mentoring",
    "model": "one_to_one",
    "request_policy": "mentee",
    "default_capacity": 3,
    "request_expiry_days": 14,
    "meeting_cadence_days": 14,
    "matching_mode": "both",
}
# Three meetings the other member confirmed, and every agreed goal achieved: pass or fail.
COMPLETION_RULE = {
    "conditions": [{"kind": "meetings", "count": 3, "confirmed": True}, {"kind": "goals", "mode": "all"}],
    "score_mode": "pass_fail",
}
# Mentors offer mentoring in the programme, each with the number of mentees they take.
MENTORS = {MARCO: 3, AISHA: 2, DIEGO: 2}
MENTEES = (JONAS, PRIYA)

PROFILES: dict[str, dict[str, Any]] = {
    LENA: {
        "headline": "Data analyst moving into product management",
        "skills": ["SQL", "Data analysis", "Dashboards"],
        "skills_wanted": ["Product management", "Stakeholder management", "Public speaking"],
        "interests": ["Climbing", "Podcasts"],
        "languages": ["English", "Yoruba"],
        "department": "Analytics", "location": "Manchester", "time_zone": "Europe/London",
        "goals": "Lead a product discovery this year and present it to the leadership team.",
        "availability": "Tuesday and Thursday afternoons",
    },
    MARCO: {
        "headline": "Product lead, ten years in B2B software",
        "bio": "I moved from support into product and have hired and coached product managers since.",
        "skills": ["Product management", "Stakeholder management", "Roadmapping", "Public speaking"],
        "skills_wanted": ["Coaching"],
        "interests": ["Cycling", "Podcasts"],
        "languages": ["English", "Italian"],
        "department": "Product", "location": "Milan", "time_zone": "Europe/Rome",
        "availability": "Monday and Wednesday mornings",
    },
    TARA: {
        "headline": "Learning and development lead",
        "skills": ["Coaching", "Facilitation"],
        "languages": ["English", "Vietnamese"],
        "department": "People and Learning", "location": "London", "time_zone": "Europe/London",
    },
    ADA: {
        "headline": "LMS administrator",
        "languages": ["English", "Swedish"],
        "department": "IT", "location": "Stockholm", "time_zone": "Europe/Stockholm",
    },
    JONAS: {
        "headline": "Junior product manager",
        "skills": ["User interviews", "Backlog management"],
        "skills_wanted": ["Product discovery", "Stakeholder management"],
        "languages": ["English", "German"],
        "department": "Product", "location": "Berlin", "time_zone": "Europe/Berlin",
        "goals": "Run a product discovery from start to finish.",
        "availability": "Friday mornings",
    },
    PRIYA: {
        "headline": "Software engineer curious about product",
        "skills": ["Python", "API design"],
        "skills_wanted": ["Product management", "Roadmapping"],
        "languages": ["English", "Hindi"],
        "department": "Engineering", "location": "Pune", "time_zone": "Asia/Kolkata",
        "goals": "Find out whether product management is the right next step for me.",
    },
    AISHA: {
        "headline": "Engineering manager, twelve years leading teams",
        "bio": "I help new leads find their feet: one-to-ones, feedback, hiring, career plans.",
        "skills": ["Leadership", "Engineering management", "Career planning"],
        "languages": ["English", "Arabic"],
        "department": "Engineering", "location": "Amsterdam", "time_zone": "Europe/Amsterdam",
        "availability": "Thursdays",
    },
    DIEGO: {
        "headline": "UX research lead",
        "bio": "Research, workshops and talks: happy to help you find your voice in front of a room.",
        "skills": ["User research", "Design thinking", "Public speaking"],
        "languages": ["English", "Spanish"],
        "department": "Design", "location": "Madrid", "time_zone": "Europe/Madrid",
        "availability": "Wednesday afternoons",
    },
}


@dataclass(frozen=True)
class SeedResult:
    programme: Programme
    launched: int  # people recorded in Tandem by this run
    profiles_filled: int
    story_written: bool  # False: the demo's resource link already had its programme, left as it was


def seed_mentoring(session: Session, setup: store.DemoSetup, settings: Settings) -> SeedResult:
    """Bring Tandem's side of the demo course to its starting point (see the module docstring). Flushes,
    never commits; a refusal from any service (``TandemError``) leaves the caller's transaction to roll
    back."""
    course, link = setup.platform.courses[0], setup.platform.courses[0].links[0]
    actors, launched = _launch_everyone(session, setup, settings, course, link)
    filled = sum(_fill_profile(session, actors[user_id], data) for user_id, data in PROFILES.items())
    placement = session.get_one(Placement, actors[TARA].placement_id)
    existing = placements.programme_for_placement(session, placement)
    if existing is not None:
        return SeedResult(existing, launched, filled, story_written=False)
    programme = _set_up_programme(session, actors, placement)
    _tell_the_story(session, actors, programme.id)
    return SeedResult(programme, launched, filled, story_written=True)


# ------------------------------------------------------------------------------------------- people


def _launch_everyone(
    session: Session, setup: store.DemoSetup, settings: Settings, course: DemoCourse, link: DemoLink
) -> tuple[dict[str, Actor], int]:
    """Record a launch of the demo's first link for everyone not (actively) in the course yet, with the
    claims the demo LMS would sign for them; then everyone's ``Actor``, as their launch token would give."""
    registration = setup.registration
    config = store.platform_config(setup.platform, settings)
    deployment = session.scalar(
        select(Deployment).where(
            Deployment.registration_id == registration.id,
            Deployment.deployment_id == setup.platform.deployment_id,
        )
    )
    enrolled, placement_id = _course_state(session, registration.id, course.context_id, link.resource_link_id)
    launched = 0
    for person in setup.platform.people:
        if person.user_id in enrolled and placement_id is not None:
            continue
        claims = build_id_token_claims(
            config, store.to_user(person), _launch_of(course, link, person), nonce=secrets.token_urlsafe(16)
        )
        result = record_launch(session, registration=registration, deployment=deployment, claims=claims)
        placement_id = result.placement.id if result.placement else placement_id
        launched += 1
    enrolled, placement_id = _course_state(session, registration.id, course.context_id, link.resource_link_id)
    actors = {
        sub: Actor(person_id, registration.id, course_id, frozenset(roles), placement_id)
        for sub, (person_id, course_id, roles) in enrolled.items()
    }
    return actors, launched


def _launch_of(course: DemoCourse, link: DemoLink, person: DemoPerson) -> Launch:
    """The launch the demo's "Open" button signs for this person (``views._launch_for``)."""
    return Launch(
        course=store.to_course(course), resource_link=store.to_link(link), roles=person.role,
        custom=dict(link.custom or {}),
    )


def _course_state(
    session: Session, registration_id: int, context_id: str, resource_link_id: str
) -> tuple[dict[str, tuple[int, int, list[str]]], int | None]:
    """Who is actively enrolled in the demo course (sub → person id, course id, Tandem roles), and its
    placement for the demo link: two queries."""
    rows = session.execute(
        select(Person.sub, Person.id, Course.id, Enrolment.roles)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .join(Course, Course.id == Enrolment.course_id)
        .where(
            Course.registration_id == registration_id,
            Course.context_id == context_id,
            Enrolment.status == "active",
        )
    ).all()
    placement_id = session.scalar(
        select(Placement.id)
        .join(Course, Course.id == Placement.course_id)
        .where(
            Course.registration_id == registration_id,
            Course.context_id == context_id,
            Placement.resource_link_id == resource_link_id,
        )
    )
    return {sub: (pid, cid, list(roles or ())) for sub, pid, cid, roles in rows}, placement_id


def _fill_profile(session: Session, actor: Actor, data: Mapping[str, Any]) -> bool:
    """The person fills their own profile, once: a profile with anything in it is theirs and stays."""
    if not profiles.own_profile(session, actor).is_empty:
        return False
    profiles.update_profile(session, actor, data)
    return True


# ------------------------------------------------------------------------------------------ the story


def _set_up_programme(session: Session, actors: Mapping[str, Actor], placement: Placement) -> Programme:
    """Tara creates the programme, puts it on the demo's resource link (as the setup page does, so it takes
    the link's gradebook column) and sets its completion rule; the mentors and mentees join it."""
    tara = actors[TARA]
    assert tara.course_id is not None
    programme = programmes.create_programme(session, tara, tara.course_id, PROGRAMME)
    programme = placements.attach_programme(session, tara, placement.id, programme_id=programme.id)
    completion.set_rule(session, tara, programme.id, COMPLETION_RULE)
    for user_id, capacity in MENTORS.items():
        programmes.set_preferences(
            session, actors[user_id], programme.id, open_to_mentor=True, open_to_be_mentored=False,
            capacity=capacity,
        )
    for user_id in MENTEES:
        programmes.set_preferences(session, actors[user_id], programme.id, open_to_be_mentored=True)
    return programme


def _tell_the_story(session: Session, actors: Mapping[str, Actor], programme_id: int) -> None:
    """Jonas asked Marco a month ago and Marco accepted; they have met twice and agreed a goal. Priya asked
    Marco yesterday: her request waits in his inbox."""
    marco, jonas, priya = actors[MARCO], actors[JONAS], actors[PRIYA]
    now = utcnow()
    today = now.date()
    asked = relationships.request_mentoring(
        session, jonas, programme_id, marco.person_id, now=now - timedelta(days=30),
        message="I have just started as a product manager and would love help with my first discovery.",
    )
    relationships.accept(session, marco, asked.id, now=now - timedelta(days=29))
    goal = goals.create_goal(
        session, jonas,
        goals.GoalInput(
            title="Run my first product discovery",
            success_measure="A discovery readout presented to the product team",
            due_on=today + timedelta(days=60),
            milestones=[
                goals.MilestoneInput("Write a one-page discovery plan", done=True),
                goals.MilestoneInput("Interview five customers", due_on=today + timedelta(days=21)),
                goals.MilestoneInput("Present the findings", due_on=today + timedelta(days=56)),
            ],
        ),
        relationship_id=asked.id,
    )
    goals.record_progress(session, jonas, goal.id, progress=40)
    _meeting(session, jonas, marco, asked.id, today, diary.EntryInput(
        kind="meeting", occurred_on=today - timedelta(days=21), duration_minutes=45,
        title="First meeting: where I want to be in a year",
        body="We talked about what a good discovery looks like and agreed to start with a one-page plan.",
        topics=("career goals", "product discovery"),
        action_items=(
            diary.ActionItemInput("Draft a one-page discovery plan", owner_id=jonas.person_id, done=True),
            diary.ActionItemInput("Share two stakeholder maps from past projects", owner_id=marco.person_id,
                                  done=True),
        ),
    ))
    _meeting(session, marco, jonas, asked.id, today, diary.EntryInput(
        kind="meeting", occurred_on=today - timedelta(days=7), duration_minutes=30,
        title="Reviewing the discovery plan",
        body="The plan is clear; the open question is who to interview first. Jonas will book three calls.",
        topics=("stakeholder management",),
        action_items=(
            diary.ActionItemInput("Book interviews with three customers", owner_id=jonas.person_id,
                                  due_on=today + timedelta(days=7)),
        ),
        goal_ids=(goal.id,),
    ))
    # A month on, Marco and Jonas have read what Tandem told them then; Priya's request is news.
    for actor in (marco, jonas):
        notifications.mark_read(session, actor, now=now - timedelta(days=7))
    relationships.request_mentoring(
        session, priya, programme_id, marco.person_id, now=now - timedelta(days=1),
        message="I am an engineer thinking about a move into product. Could you help me test the idea?",
    )


def _meeting(
    session: Session, author: Actor, other: Actor, relationship_id: int, today: date, data: diary.EntryInput
) -> None:
    """A shared meeting entry, confirmed by the other member (only confirmed meetings count here)."""
    entry = diary.create_entry(session, author, relationship_id, data, today=today)
    diary.confirm_meeting(session, other, entry.id)
