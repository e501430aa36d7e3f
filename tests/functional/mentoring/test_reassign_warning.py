"""Reassigning a member lets the newcomer read the relationship's history: the trainer is told so on the
form, and the timeline records it."""

from __future__ import annotations

from sqlalchemy import select

from lti_app.models.relationship import RelationshipEvent
from tests.factories.core import ProgrammeFactory, actor_for, pair
from tests.factories.mentoring import enrol, mentee, mentor
from tests.functional.mentoring.pages import Browser, text

WARNING = "will be able to read the shared diary entries and goals of this relationship written so far"


def test_the_reassign_form_warns_and_the_timeline_records_it(app, client, db_session) -> None:
    programme = ProgrammeFactory()
    course = programme.course
    ada, bob, cleo = mentor(programme), mentee(programme), mentor(programme)
    trainer = enrol(course, "trainer")
    rel = pair(programme, ada, bob, "active")
    db_session.commit()

    page = Browser(app, client, actor_for(trainer, course, "trainer"))
    assert WARNING in text(page.get(f"/relationships/{rel.id}"))
    assert WARNING not in text(Browser(app, client, actor_for(bob, course)).get(f"/relationships/{rel.id}"))

    moved = page.post(
        f"/relationships/{rel.id}/reassign", {"remove_person_id": ada.id, "add_person_id": cleo.id}
    )
    assert moved.status_code == 303
    notes = db_session.scalars(select(RelationshipEvent.note).where(RelationshipEvent.relationship_id == rel.id))
    assert any("a new mentor joined" in n and "shared diary and goals so far" in n for n in notes)
