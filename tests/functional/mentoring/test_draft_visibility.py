"""A draft programme exists for its course's trainers only: to anyone else it is missing, answered exactly
as a wrong id would be (404, never 403), on every trainer page and API and on a participant's own pages."""

from __future__ import annotations

import pytest

from lti_app.errors import NotFound, PermissionDenied
from lti_app.services import programmes
from lti_app.services.access import require_programme_trainer
from tests.factories.core import ProgrammeFactory, actor_for
from tests.factories.mentoring import enrol
from tests.support.launch import api_headers, launch_token

MISSING = 987654


@pytest.fixture()
def draft(app, db_session):
    programme = ProgrammeFactory(status="draft")
    learner, trainer = enrol(programme.course), enrol(programme.course, "trainer")
    db_session.commit()
    return programme, actor_for(learner, programme.course), actor_for(trainer, programme.course, "trainer")


def test_load_visible_programme_hides_drafts_from_learners(db_session, draft) -> None:
    programme, learner, trainer = draft
    assert programmes.load_visible_programme(db_session, trainer, programme.id) is programme
    with pytest.raises(NotFound, match="No such programme"):
        programmes.load_visible_programme(db_session, learner, programme.id)
    programme.status = "open"
    assert programmes.load_visible_programme(db_session, learner, programme.id) is programme


def test_a_learner_on_a_drafts_trainer_action_is_told_it_is_missing(db_session, draft) -> None:
    programme, learner, trainer = draft
    assert require_programme_trainer(db_session, trainer, programme.id) is programme
    with pytest.raises(NotFound, match="No such programme"):
        require_programme_trainer(db_session, learner, programme.id)
    programme.status = "open"  # an open programme is no secret: the learner is told they may not
    with pytest.raises(PermissionDenied):
        require_programme_trainer(db_session, learner, programme.id)


@pytest.mark.parametrize(
    "path",
    [
        "/programmes/{id}/overview",
        "/programmes/{id}/edit",
        "/programmes/{id}/completion",
        "/programmes/{id}/completion/me",
        "/programmes/{id}",
        "/programmes/{id}/mentors",
    ],
)
def test_pages_answer_a_draft_like_a_missing_programme(app, client, draft, path) -> None:
    programme, learner, trainer = draft
    lt = launch_token(app, learner)
    missing = client.get(path.format(id=MISSING), query_string={"lt": lt})
    hidden = client.get(path.format(id=programme.id), query_string={"lt": lt})
    assert missing.status_code == hidden.status_code == 404
    assert client.get(path.format(id=programme.id), query_string={"lt": launch_token(app, trainer)}).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/api/v1/programmes/{id}/overview", "/api/v1/programmes/{id}", "/api/v1/programmes/{id}/membership"],
)
def test_the_api_answers_a_draft_like_a_missing_programme(app, client, draft, path) -> None:
    programme, learner, _ = draft
    headers = api_headers(app, learner)
    missing = client.get(path.format(id=MISSING), headers=headers)
    hidden = client.get(path.format(id=programme.id), headers=headers)
    assert missing.status_code == hidden.status_code == 404
    assert missing.get_json()["message"] == hidden.get_json()["message"]
