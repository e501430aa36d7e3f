"""A draft programme is missing to learners in 360 feedback too: not offered, and refused like a wrong id."""

import pytest

from lti_app.errors import NotFound
from lti_app.services.feedback import cycles
from tests.factories.core import ProgrammeFactory
from tests.factories.feedback import course_with_subject, start_cycle


def test_learners_are_not_offered_a_draft_programme_nor_can_name_one(db_session) -> None:
    setup = course_with_subject()
    draft = ProgrammeFactory(course=setup.course, status="draft", title="Not yet announced")
    live = ProgrammeFactory(course=setup.course, status="open", title="Career mentoring")
    db_session.flush()

    offered = [label for _, label in cycles.start_options(db_session, setup.subject_actor, setup.course.id).contexts]
    assert "Programme: Career mentoring" in offered
    assert "Programme: Not yet announced" not in offered
    for_trainer = cycles.start_options(db_session, setup.trainer_actor, setup.course.id).contexts
    assert (f"programme:{draft.id}", "Programme: Not yet announced") in for_trainer

    with pytest.raises(NotFound, match="No such programme"):
        start_cycle(setup, programme_id=draft.id)
    assert start_cycle(setup, programme_id=live.id).programme_id == live.id
