"""``tandem demo`` seeds Tandem's side of the demo course through the services: the first launch as Lena shows
the programme and Marco in "Find a mentor", Marco has a request waiting, and running it again changes
nothing (nor undoes what people did in the demo meanwhile)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from lti_app.cli import main
from lti_app.demo_lms import seed
from lti_app.errors import RuleViolation
from lti_app.extensions import db
from lti_app.models.completion import Completion
from lti_app.models.course import Placement
from lti_app.models.diary import DiaryEntry
from lti_app.models.goal import Goal
from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.models.relationship import Relationship
from lti_app.services import profiles, relationships
from lti_app.services.access import Actor

from .conftest import follow, launch_in_browser, serving

STORY_PEOPLE = ("demo-learner", "demo-mentor", "demo-trainer", "demo-admin")


def run_demo(app) -> str:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return str(result.output)


def people(db_session) -> dict[str, Person]:  # type: ignore[no-untyped-def]
    return {p.sub: p for p in db_session.scalars(select(Person))}


def actor_of(db_session, person: Person) -> Actor:  # type: ignore[no-untyped-def]
    enrolment = db_session.scalars(select(Enrolment).where(Enrolment.person_id == person.id)).one()
    placement = db_session.scalars(select(Placement)).one()
    return Actor(person.id, person.registration_id, enrolment.course_id, frozenset(enrolment.roles), placement.id)


def members(rel: Relationship) -> dict[str, int]:
    return {m.role: m.person_id for m in rel.members}


def test_the_command_seeds_the_programme_people_and_a_story_under_way(app, db_session) -> None:
    output = run_demo(app)
    assert "What to try" in output
    for step in ("Launch as Lena", "Launch as Marco", "Launch as Tara", "Launch as Ada"):
        assert step in output
    assert "Career mentoring" in output

    found = people(db_session)
    assert set(found) == {"demo-learner", "demo-mentor", "demo-trainer", "demo-admin", "demo-jonas",
                          "demo-priya", "demo-aisha", "demo-diego"}
    roles = {
        sub: db_session.scalars(select(Enrolment.roles).where(Enrolment.person_id == person.id)).one()
        for sub, person in found.items()
    }
    assert roles["demo-learner"] == ["participant"] and roles["demo-mentor"] == ["participant"]
    assert "trainer" in roles["demo-trainer"] and "admin" in roles["demo-admin"]

    # The programme is bound to the demo link's placement (so its "not set up yet" notice goes), with the
    # link's gradebook column and a pass/fail rule of 3 confirmed meetings and every goal achieved.
    programme = db_session.scalars(select(Programme)).one()
    placement = db_session.get(Placement, programme.placement_id)
    assert (programme.title, placement.resource_link_id) == ("Career mentoring", "demo-link-1")
    assert programme.lineitem_url and programme.lineitem_url == placement.lineitem_url
    assert programme.completion_rule["score_mode"] == "pass_fail"
    assert {c["kind"] for c in programme.completion_rule["conditions"]} == {"meetings", "goals"}
    assert programme.created_by_id == found["demo-trainer"].id

    lena = db_session.scalars(select(Profile).where(Profile.person_id == found["demo-learner"].id)).one()
    assert "product management" in lena.skills_wanted and lena.time_zone == "Europe/London"
    assert profiles.completeness(lena) >= 50, "Lena is not told her profile is empty"
    marco_choice = db_session.scalars(
        select(ProgrammeMembership).where(ProgrammeMembership.person_id == found["demo-mentor"].id)
    ).one()
    assert marco_choice.open_to_mentor and marco_choice.capacity_override == 3
    mentors = db_session.scalars(
        select(ProgrammeMembership.person_id).where(ProgrammeMembership.open_to_mentor.is_(True))
    ).all()
    assert len(mentors) == 3

    rels = {r.status: r for r in db_session.scalars(select(Relationship))}
    assert set(rels) == {"active", "pending"}
    assert members(rels["active"]) == {"mentor": found["demo-mentor"].id, "mentee": found["demo-jonas"].id}
    assert members(rels["pending"]) == {"mentor": found["demo-mentor"].id, "mentee": found["demo-priya"].id}
    assert rels["pending"].requested_by_id == found["demo-priya"].id
    lena_id = found["demo-learner"].id
    assert all(lena_id not in r.person_ids() for r in rels.values()), "Lena is left free to ask Marco"

    entries = db_session.scalars(select(DiaryEntry).where(DiaryEntry.relationship_id == rels["active"].id)).all()
    assert len(entries) == 2 and all(e.confirmed_at is not None for e in entries)
    goal = db_session.scalars(select(Goal)).one()
    assert (goal.owner_id, goal.status, goal.progress) == (found["demo-jonas"].id, "in_progress", 40)

    # The completion evaluator saw it all: Jonas is on his way, not there yet.
    jonas = db_session.scalars(select(Completion).where(Completion.person_id == found["demo-jonas"].id)).one()
    assert not jonas.met and jonas.conditions_total == 2


def snapshot(db_session) -> dict[str, list[Any]]:  # type: ignore[no-untyped-def]
    """Every row of every table, in primary key order."""
    return {
        table.name: [tuple(row) for row in db_session.execute(
            select(table).order_by(*table.primary_key.columns)
        )]
        for table in db.metadata.sorted_tables
    }


def test_running_it_again_changes_nothing(app, db_session) -> None:
    run_demo(app)
    before = snapshot(db_session)
    db_session.remove()
    again = run_demo(app)
    db_session.remove()
    assert "left as it is" in again and "What to try" in again
    after = snapshot(db_session)
    assert {t: rows for t, rows in after.items() if rows != before[t]} == {}


def test_running_it_again_keeps_what_people_did_in_the_demo(app, db_session) -> None:
    run_demo(app)
    found = people(db_session)
    lena, marco = actor_of(db_session, found["demo-learner"]), actor_of(db_session, found["demo-mentor"])
    profiles.update_profile(db_session, lena, {"headline": "My own words"})
    pending = db_session.scalars(select(Relationship).where(Relationship.status == "pending")).one()
    relationships.decline(db_session, marco, pending.id)
    db_session.commit()
    run_demo(app)
    headline = db_session.scalars(select(Profile.headline).where(Profile.person_id == lena.person_id)).one()
    assert headline == "My own words"
    statuses = sorted(db_session.scalars(select(Relationship.status)))
    assert statuses == ["active", "declined"], "the seeded request is not sent again"


def test_a_demo_that_people_already_used_is_completed_not_replaced(app, db_session) -> None:
    """A demo database from before seeding existed: people launched (empty profiles), nothing else."""
    from lti_app.demo_lms import store

    setup = store.ensure_demo(db_session, app.extensions["tandem.settings"])
    first = seed._launch_everyone(db_session, setup, app.extensions["tandem.settings"],
                                  setup.platform.courses[0], setup.platform.courses[0].links[0])
    db_session.commit()
    assert first[1] == len(store.PEOPLE)
    output = run_demo(app)
    assert "0 people added to the course" in output and f"{len(seed.PROFILES)} profiles filled" in output
    assert db_session.scalars(select(Programme.title)).one() == "Career mentoring"
    assert db_session.query(Person).count() == len(store.PEOPLE)


def test_a_refusal_half_way_saves_nothing(app, db_session, monkeypatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuleViolation("This programme is not taking requests.")

    monkeypatch.setattr(seed.relationships, "request_mentoring", refuse)
    result = app.test_cli_runner().invoke(main, ["demo"])
    assert result.exit_code != 0 and "nothing was saved" in result.output
    db_session.remove()
    assert db_session.query(Programme).count() == 0 and db_session.query(Person).count() == 0


# ------------------------------------------------------------------------------------- real launches


@pytest.fixture()
def seeded(app, database_url, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The demo served on loopback after ``tandem demo`` ran, as ``make run`` leaves it."""
    with serving(database_url, tmp_path, run_demo) as base_url:
        yield base_url


def token_of(page: requests.Response) -> str:
    return parse_qs(urlsplit(page.url).query)["lt"][0]


def test_lena_launches_into_the_programme_and_finds_marco(seeded) -> None:
    home = launch_in_browser(seeded, "demo-learner")
    assert home.status_code == 200, home.text[:1000]
    assert "Career mentoring" in home.text
    assert 'id="placement-notice"' not in home.text and "not set up yet" not in home.text
    assert "% complete" not in home.text, "her profile is filled enough not to nag"

    with requests.Session() as browser:
        found = follow(browser, browser.get(f"{seeded}/find", params={"lt": token_of(home)},
                                            allow_redirects=False, timeout=30))
    assert found.status_code == 200, found.text[:1000]
    assert "/mentors" in found.url
    cards = found.text.split('data-person-id="')[1:]
    assert cards and "Marco Rossi" in cards[0], "Marco, who offers every skill Lena wants, comes first"
    assert "Offers skills you want" in cards[0]
    assert "Ask to be my mentor" in cards[0]
    assert len(cards) == 3, "the three mentors who opted in, nobody else"


def test_marco_launches_and_sees_priyas_request_waiting(seeded) -> None:
    home = launch_in_browser(seeded, "demo-mentor")
    assert home.status_code == 200, home.text[:1000]
    inbound = home.text.split('id="inbound"')[1].split("</ul>")[0]
    assert "Priya Shah" in inbound
    current = home.text.split('id="current"')[1].split("</ul>")[0]
    assert "Jonas Weber" in current
    assert 'id="unread-count">1<' in home.text, "only Priya's request is news; Jonas's was read long ago"
