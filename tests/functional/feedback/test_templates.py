"""Templates: the shipped default, trainers' own, and versioning that never changes a running cycle."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lti_app.errors import PermissionDenied, ValidationFailed
from lti_app.models.feedback import FeedbackItem, FeedbackTemplate, FeedbackTemplateVersion
from lti_app.services.feedback import answering, templates
from lti_app.services.feedback.definitions import parse_definition
from tests.factories.feedback import add_raters, course_with_subject, enrol, start_cycle

DEFINITION = {
    "title": "Team lead 360",
    "scale": {"min": 1, "max": 4, "labels": ["Never", "Sometimes", "Often", "Always"], "not_observed": None},
    "competencies": [
        {
            "title": "Coaching",
            "items": [{"prompt": "Asks good questions"}, {"kind": "open", "prompt": "Example?"}],
        },
        {"key": "delivery", "title": "Delivery", "items": [{"prompt": "Ships on time"}]},
    ],
    "open_questions": [{"prompt": "Anything else?"}],
}


def test_default_template_is_loaded_once_on_first_use(db_session) -> None:
    setup = course_with_subject()
    assert db_session.scalar(select(func.count()).select_from(FeedbackTemplate)) == 0
    first = templates.list_templates(db_session, setup.subject_actor, setup.course.id)
    again = templates.list_templates(db_session, setup.subject_actor, setup.course.id)
    assert [t.id for t in first] == [t.id for t in again]
    (default,) = first
    assert default.builtin_key == templates.DEFAULT_KEY and default.course_id is None
    version = default.latest
    assert [c.key for c in version.competencies] == [
        "communication",
        "leadership",
        "problem_solving",
        "collaboration",
    ]
    assert version.not_observed_label == "Not observed" and (version.scale_min, version.scale_max) == (1, 5)


def test_a_changed_default_file_adds_a_version(db_session, monkeypatch) -> None:
    default = templates.ensure_default_template(db_session)
    shipped = templates.default_definition()
    changed = shipped.to_json()
    changed["open_questions"].append({"prompt": "A new question"})
    monkeypatch.setattr(templates, "default_definition", lambda: parse_definition(changed))
    again = templates.ensure_default_template(db_session)
    assert again.id == default.id and [v.number for v in again.versions] == [1, 2]


def test_trainer_builds_a_template(db_session) -> None:
    setup = course_with_subject()
    template = templates.create_template(db_session, setup.trainer_actor, setup.course.id, DEFINITION)
    version = template.latest
    assert [c.key for c in version.competencies] == ["coaching", "delivery"]
    assert [(i.kind, i.prompt) for i in version.items] == [
        ("open", "Anything else?"),
        ("rating", "Asks good questions"),
        ("open", "Example?"),
        ("rating", "Ships on time"),
    ]
    assert templates.definition_of(version).to_json()["scale"]["labels"] == [
        "Never",
        "Sometimes",
        "Often",
        "Always",
    ]
    with pytest.raises(PermissionDenied):
        templates.create_template(db_session, setup.subject_actor, setup.course.id, DEFINITION)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"title": ""}, "title"),
        ({"competencies": []}, "competencies"),
        ({"scale": {"min": 1, "max": 2}}, "scale"),
        ({"scale": {"min": 1, "max": 5, "labels": ["a", "b"]}}, "scale.labels"),
        (
            {"competencies": [{"title": "Only open", "items": [{"kind": "open", "prompt": "Why?"}]}]},
            "competencies.0.items",
        ),
        (
            {
                "competencies": [
                    {"title": "A", "items": [{"prompt": "x"}]},
                    {"title": "a", "items": [{"prompt": "y"}]},
                ]
            },
            "competencies.1.key",
        ),
    ],
)
def test_invalid_definitions_name_the_problem(db_session, change, field) -> None:
    setup = course_with_subject()
    with pytest.raises(ValidationFailed) as refused:
        templates.create_template(db_session, setup.trainer_actor, setup.course.id, {**DEFINITION, **change})
    assert field in refused.value.details
    assert db_session.scalar(select(func.count()).select_from(FeedbackTemplate)) == 0


def test_template_in_use_is_versioned_never_edited(db_session) -> None:
    setup = course_with_subject()
    template = templates.create_template(db_session, setup.trainer_actor, setup.course.id, DEFINITION)
    # Not used yet: edits happen in place.
    edited = templates.revise_template(
        db_session, setup.trainer_actor, template.id, {**DEFINITION, "title": "Team lead 360 (draft 2)"}
    )
    assert edited.number == 1 and not edited.frozen

    cycle = start_cycle(setup, template_id=template.id)
    (rater,) = add_raters(setup, cycle, "peer", 1)
    v1 = db_session.get(FeedbackTemplateVersion, cycle.template_version_id)
    assert v1.frozen and v1.number == 1
    v1_prompts = [i.prompt for i in v1.items]

    changed = {**DEFINITION, "competencies": [{"title": "Coaching", "items": [{"prompt": "Listens first"}]}]}
    v2 = templates.revise_template(db_session, setup.trainer_actor, template.id, changed)
    assert v2.number == 2 and v2.id != v1.id
    db_session.expire_all()
    assert [i.prompt for i in db_session.get(FeedbackTemplateVersion, v1.id).items] == v1_prompts

    # The running cycle's raters still answer version 1; a new cycle gets version 2.
    questionnaire = answering.questionnaire_for_person(db_session, rater.actor, rater.request.id)
    assert [i.prompt for i in questionnaire.version.items] == v1_prompts
    other_setup_cycle = start_cycle(
        setup, template_id=template.id, title="Second", subject=enrol(setup.course)
    )
    assert other_setup_cycle.template_version_id == v2.id
    item_versions = set(db_session.scalars(select(FeedbackItem.version_id)))
    assert item_versions == {v1.id, v2.id}


def test_shipped_template_cannot_be_edited(db_session) -> None:
    setup = course_with_subject()
    default = templates.ensure_default_template(db_session)
    with pytest.raises(PermissionDenied):
        templates.revise_template(db_session, setup.trainer_actor, default.id, DEFINITION)


def test_template_pages_for_trainers(app, client, db_session) -> None:
    from tests.functional.feedback.pages import form_token, launch_headers

    setup = course_with_subject()
    db_session.commit()
    headers = launch_headers(app, setup.trainer_actor)
    page = client.get("/feedback/templates/new", headers=headers)
    assert page.status_code == 200 and b"# Communication" in page.data
    text = "? Anything else?\n# Coaching\nAsks good questions\n? Example?\n# Delivery\nShips on time\n"
    form = {
        "csrf_token": form_token(page),
        "title": "Team lead",
        "scale_min": "1",
        "scale_max": "4",
        "scale_labels": "Never\nSometimes\nOften\nAlways",
        "not_observed": "",
        "questions": text,
    }
    assert client.post("/feedback/templates/new", data=form, headers=headers).status_code == 303
    template = db_session.scalars(
        select(FeedbackTemplate).where(FeedbackTemplate.course_id == setup.course.id)
    ).one()
    assert [c.title for c in template.latest.competencies] == ["Coaching", "Delivery"]
    assert template.latest.not_observed_label is None

    bad = client.post(
        "/feedback/templates/new", data={**form, "questions": "No heading first"}, headers=headers
    )
    assert bad.status_code == 422 and b"No heading first" in bad.data  # the trainer's text is kept

    edit = client.get(f"/feedback/templates/{template.id}/edit", headers=headers)
    assert edit.status_code == 200 and b"# Delivery" in edit.data
    participant = client.get("/feedback/templates/new", headers=launch_headers(app, setup.subject_actor))
    assert participant.status_code == 403
