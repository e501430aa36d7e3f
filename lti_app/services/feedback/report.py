"""A cycle's report: loads what the arithmetic needs and hands it to ``scoring``.

Everyone allowed to see the report (the subject, trainers and admins of the course) sees the same
aggregates under the same thresholds. Reports exist only for closed cycles (see ``cycles``). The report
never carries response ids, times or orderings: responses are read as an unordered set and comments are
re-ordered by ``scoring.shuffled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from lti_app.errors import Conflict
from lti_app.models.feedback import (
    AFTER,
    BEFORE,
    CYCLE_CLOSED,
    OPEN,
    RATING,
    FeedbackComment,
    FeedbackCycle,
    FeedbackResponse,
    FeedbackTemplateVersion,
)
from lti_app.services.access import Actor
from lti_app.services.feedback.cycles import load_cycle, policy_of
from lti_app.services.feedback.scoring import (
    Change,
    Comment,
    CompetencySpec,
    Figures,
    ItemSpec,
    Policy,
    Response,
    Results,
    Scale,
    Stat,
    compare,
    compute_results,
    rounded,
)


@dataclass(frozen=True)
class CycleReport:
    cycle: FeedbackCycle
    subject_name: str
    course_title: str
    scale: Scale
    policy: Policy
    results: Results
    counterpart: FeedbackCycle | None
    changes: tuple[Change, ...]
    viewer_is_subject: bool


def scale_of(version: FeedbackTemplateVersion) -> Scale:
    labels = tuple(version.scale_labels or ())
    return Scale(version.scale_min, version.scale_max, labels, version.not_observed_label)


def results_for(session: Session, cycle: FeedbackCycle) -> tuple[Results, Scale]:
    version = session.scalars(
        select(FeedbackTemplateVersion)
        .where(FeedbackTemplateVersion.id == cycle.template_version_id)
        .options(
            selectinload(FeedbackTemplateVersion.competencies), selectinload(FeedbackTemplateVersion.items)
        )
    ).one()
    rating_items = [i for i in version.items if i.kind == RATING]
    competencies = tuple(
        CompetencySpec(
            c.key, c.title,
            tuple(ItemSpec(i.id, i.prompt) for i in rating_items if i.competency_id == c.id),
        )
        for c in version.competencies
    )
    # Open questions: general ones first, then those of each competency, in questionnaire order.
    open_items = tuple(ItemSpec(i.id, i.prompt) for i in version.items if i.kind == OPEN)
    responses = [
        Response(group, {int(k): v for k, v in ratings.items()})
        for group, ratings in session.execute(
            select(FeedbackResponse.rater_group, FeedbackResponse.ratings).where(
                FeedbackResponse.cycle_id == cycle.id
            )
        )
    ]
    comments = [
        Comment(item_id, body, from_self)
        for item_id, body, from_self in session.execute(
            select(FeedbackComment.item_id, FeedbackComment.body, FeedbackComment.from_self).where(
                FeedbackComment.cycle_id == cycle.id
            )
        )
    ]
    scale = scale_of(version)
    results = compute_results(
        competencies, open_items, responses, comments, scale, policy_of(cycle), seed=f"cycle-{cycle.id}"
    )
    return results, scale


def counterpart_of(session: Session, cycle: FeedbackCycle) -> FeedbackCycle | None:
    """The closed cycle on the other side of the same relationship (or programme) for the same person."""
    if cycle.phase not in (BEFORE, AFTER) or cycle.programme_id is None:
        return None
    other = AFTER if cycle.phase == BEFORE else BEFORE
    query = select(FeedbackCycle).where(
        FeedbackCycle.subject_id == cycle.subject_id, FeedbackCycle.course_id == cycle.course_id,
        FeedbackCycle.programme_id == cycle.programme_id, FeedbackCycle.phase == other,
        FeedbackCycle.status == CYCLE_CLOSED,
    )
    if cycle.relationship_id is not None:
        query = query.where(
            (FeedbackCycle.relationship_id == cycle.relationship_id) | FeedbackCycle.relationship_id.is_(None)
        )
    return session.scalar(query.order_by(FeedbackCycle.closed_at.desc(), FeedbackCycle.id.desc()).limit(1))


def build_report(session: Session, actor: Actor, cycle_id: int, now: datetime | None = None) -> CycleReport:
    access = load_cycle(session, actor, cycle_id, now)
    cycle = access.cycle
    if cycle.status != CYCLE_CLOSED:
        raise Conflict(
            "The report is ready once the cycle closes: until then nobody, you included, can see any answer.",
            code="report_not_ready",
        )
    results, scale = results_for(session, cycle)
    counterpart = counterpart_of(session, cycle)
    changes: tuple[Change, ...] = ()
    if counterpart is not None:
        other, _ = results_for(session, counterpart)
        before, after = (other, results) if cycle.phase == AFTER else (results, other)
        changes = compare(before, after)
    return CycleReport(
        cycle=cycle, subject_name=cycle.subject.display_name, course_title=cycle.course.title, scale=scale,
        policy=policy_of(cycle), results=results, counterpart=counterpart, changes=changes,
        viewer_is_subject=access.is_subject,
    )


_r = rounded


def _stat(stat: Stat) -> dict[str, Any]:
    return {
        "n": stat.n, "mean": _r(stat.mean), "sd": _r(stat.sd), "not_observed": stat.not_observed,
        "hidden": stat.hidden,
    }


def _figures(f: Figures) -> dict[str, Any]:
    return {
        "self": _r(f.self_score),
        "others": _stat(f.others),
        "groups": [
            {"key": g.key, "label": g.label, "responses": g.responses, **_stat(g.stat)} for g in f.groups
        ],
        "gap": _r(f.gap),
        "flag": f.flag,
    }


def report_to_dict(report: CycleReport) -> dict[str, Any]:
    """The JSON shape of the API (numbers rounded to two decimals, as on the page and in the PDF)."""
    cycle, results = report.cycle, report.results
    return {
        "cycle": {
            "id": cycle.id, "title": cycle.title, "phase": cycle.phase, "subject": report.subject_name,
            "opens_at": cycle.opens_at.isoformat(), "closes_at": cycle.closes_at.isoformat(),
            "completed": cycle.completed_at is not None,
        },
        "scale": {
            "min": report.scale.minimum, "max": report.scale.maximum, "labels": list(report.scale.labels),
            "not_observed": report.scale.not_observed,
            "gap_threshold": round(float(report.scale.gap_threshold), 4),
        },
        "anonymity": {
            "threshold": report.policy.threshold, "comment_threshold": report.policy.comment_threshold,
            "manager_shown_alone": report.policy.allow_single_manager,
        },
        "self_shown": results.plan.self_shown,
        "others_responses": results.others_responses,
        "groups": [{"key": b.key, "label": b.label, "responses": b.responses} for b in results.plan.buckets],
        "overall": _figures(results.overall),
        "competencies": [
            {
                "key": c.key, "title": c.title, **_figures(c.figures),
                "items": [{"id": i.item_id, "prompt": i.prompt, **_figures(i.figures)} for i in c.items],
            }
            for c in results.competencies
        ],
        "comments": [
            {
                "question": b.prompt, "shown": b.shown, "comments": list(b.comments),
                "self": list(b.self_comments),
            }
            for b in results.comments
        ],
        "comparison": None if report.counterpart is None else {
            "other_cycle_id": report.counterpart.id,
            "competencies": [
                {
                    "key": ch.key, "title": ch.title,
                    "self_before": _r(ch.self_before), "self_after": _r(ch.self_after),
                    "self_change": _r(ch.self_change),
                    "others_before": _r(ch.others_before), "others_after": _r(ch.others_after),
                    "others_change": _r(ch.others_change),
                }
                for ch in report.changes
            ],
        },
    }
