"""Questionnaire templates and their versions.

A version is frozen the first time a cycle uses it. Revising a template whose latest version is frozen adds
a new version; cycles keep the version they started with, so nobody's questionnaire changes mid-cycle.
The default template ships as data and is loaded (or brought up to date) on first use.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from lti_app.errors import NotFound, PermissionDenied
from lti_app.models.base import utcnow
from lti_app.models.feedback import (
    OPEN,
    FeedbackCompetency,
    FeedbackItem,
    FeedbackTemplate,
    FeedbackTemplateVersion,
)
from lti_app.services.access import Actor, load_course, require_trainer
from lti_app.services.feedback.definitions import CompetencyDef, ItemDef, TemplateDef, parse_definition

DEFAULT_KEY = "tandem-default"
DEFAULT_FILE = "feedback_default_template.json"


def default_definition() -> TemplateDef:
    raw = resources.files("lti_app.data").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")
    return parse_definition(json.loads(raw))


def ensure_default_template(session: Session) -> FeedbackTemplate:
    """The shipped template, created on first use; a new version when a release changed the file."""
    definition = default_definition()
    template = session.scalar(
        select(FeedbackTemplate)
        .where(FeedbackTemplate.builtin_key == DEFAULT_KEY)
        .options(selectinload(FeedbackTemplate.versions))
    )
    if template is None:
        try:
            with session.begin_nested():
                template = FeedbackTemplate(builtin_key=DEFAULT_KEY, title=definition.title)
                _add_version(session, template, definition)
                session.flush()
        except IntegrityError:  # another worker created it at the same moment
            template = session.scalars(
                select(FeedbackTemplate).where(FeedbackTemplate.builtin_key == DEFAULT_KEY)
            ).one()
        return template
    if template.latest.content_hash != definition.content_hash:
        template.title = definition.title
        _add_version(session, template, definition)
        session.flush()
    return template


def _add_version(
    session: Session, template: FeedbackTemplate, definition: TemplateDef
) -> FeedbackTemplateVersion:
    number = template.versions[-1].number + 1 if template.versions else 1
    version = FeedbackTemplateVersion(template=template, number=number)
    _fill(version, definition)
    session.add(version)
    return version


def _fill(version: FeedbackTemplateVersion, definition: TemplateDef) -> None:
    version.title = definition.title
    version.description = definition.description
    version.scale_min = definition.scale_min
    version.scale_max = definition.scale_max
    version.scale_labels = list(definition.scale_labels)
    version.not_observed_label = definition.not_observed
    version.content_hash = definition.content_hash
    version.competencies.clear()
    version.items.clear()
    position = 0
    for question in definition.open_questions:
        position += 1
        version.items.append(FeedbackItem(kind=OPEN, prompt=question.prompt, position=position))
    for index, competency in enumerate(definition.competencies):
        row = FeedbackCompetency(
            key=competency.key, title=competency.title, description=competency.description, position=index
        )
        version.competencies.append(row)
        for item in competency.items:
            position += 1
            version.items.append(
                FeedbackItem(kind=item.kind, prompt=item.prompt, position=position, competency=row)
            )


def definition_of(version: FeedbackTemplateVersion) -> TemplateDef:
    competencies = []
    for competency in version.competencies:
        items = tuple(ItemDef(i.kind, i.prompt) for i in version.items if i.competency_id == competency.id)
        competencies.append(CompetencyDef(competency.key, competency.title, competency.description, items))
    general = tuple(ItemDef(OPEN, i.prompt) for i in version.items if i.competency_id is None)
    return TemplateDef(
        version.title, version.description, version.scale_min, version.scale_max,
        tuple(version.scale_labels or ()), version.not_observed_label, tuple(competencies), general,
    )


def freeze(version: FeedbackTemplateVersion, now: datetime | None = None) -> None:
    if version.frozen_at is None:
        version.frozen_at = now or utcnow()


def list_templates(session: Session, actor: Actor, course_id: int) -> list[FeedbackTemplate]:
    """Templates anyone in the course may run a cycle with: the course's own and the shipped default."""
    load_course(session, actor, course_id)
    ensure_default_template(session)
    return list(
        session.scalars(
            select(FeedbackTemplate)
            .where(
                or_(FeedbackTemplate.course_id == course_id, FeedbackTemplate.builtin_key.is_not(None)),
                FeedbackTemplate.archived.is_(False),
            )
            .options(selectinload(FeedbackTemplate.versions))
            .order_by(FeedbackTemplate.builtin_key.is_(None), FeedbackTemplate.title, FeedbackTemplate.id)
        )
    )


def load_template(
    session: Session, actor: Actor, template_id: int, course_id: int | None
) -> FeedbackTemplate:
    template = session.get(FeedbackTemplate, template_id)
    if template is None:
        raise NotFound("No such feedback template.")
    if template.builtin_key is not None:
        return template
    if template.course_id is None or (course_id is not None and template.course_id != course_id):
        raise NotFound("No such feedback template.")
    load_course(session, actor, template.course_id)
    return template


def create_template(session: Session, actor: Actor, course_id: int, raw: dict[str, Any]) -> FeedbackTemplate:
    require_trainer(session, actor, course_id)
    definition = parse_definition(raw)
    template = FeedbackTemplate(course_id=course_id, title=definition.title, created_by_id=actor.person_id)
    session.add(template)
    _add_version(session, template, definition)
    session.flush()
    return template


def revise_template(
    session: Session, actor: Actor, template_id: int, raw: dict[str, Any]
) -> FeedbackTemplateVersion:
    """Edit in place while no cycle uses the latest version; otherwise add a new version."""
    template = load_template(session, actor, template_id, None)
    if template.course_id is None:
        raise PermissionDenied("The shipped template cannot be changed; create your own from it instead.")
    require_trainer(session, actor, template.course_id)
    definition = parse_definition(raw)
    template.title = definition.title
    latest = template.latest
    if latest.frozen:
        latest = _add_version(session, template, definition)
    else:
        # Delete the old questions first: the unit of work would insert the new ones before deleting, and
        # trip over the (version, competency key) unique constraint.
        latest.items.clear()
        latest.competencies.clear()
        session.flush()
        _fill(latest, definition)
    session.flush()
    return latest


def archive_template(session: Session, actor: Actor, template_id: int) -> FeedbackTemplate:
    template = load_template(session, actor, template_id, None)
    if template.course_id is None:
        raise PermissionDenied("The shipped template cannot be archived.")
    require_trainer(session, actor, template.course_id)
    template.archived = True
    session.flush()
    return template
