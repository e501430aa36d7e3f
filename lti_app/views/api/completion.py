"""The completion JSON API: a programme's rule, everyone's progress and gradebook sync status (trainers and
admins), your own progress, and the retry and resend actions. Same services, same checks as the pages."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from lti_app.extensions import db
from lti_app.schemas import completion as s
from lti_app.services.completion import overview
from lti_app.web.auth import current_actor

bp = Blueprint(
    "completion_api",
    __name__,
    url_prefix="/api/v1/programmes",
    description="Completion rules, progress, and the sync of completion to the LMS gradebook.",
)


@bp.get("/<int:programme_id>/completion")
@bp.response(200, s.ProgrammeCompletionOut)
def programme_completion(programme_id: int) -> Any:
    """Every participant's progress against the rule and the sync status of their score (trainers)."""
    return overview.programme_completion(db.session, current_actor(), programme_id)


@bp.get("/<int:programme_id>/completion/me")
@bp.response(200, s.MyProgressOut)
def my_completion(programme_id: int) -> Any:
    """Your own progress against the programme's rule."""
    return overview.my_progress(db.session, current_actor(), programme_id)


@bp.get("/<int:programme_id>/completion/rule")
@bp.response(200, s.CompletionRuleSchema)
def get_rule(programme_id: int) -> Any:
    _, rule = overview.rule_of(db.session, current_actor(), programme_id)
    return rule.to_json()


@bp.put("/<int:programme_id>/completion/rule")
@bp.arguments(s.CompletionRuleSchema)
@bp.response(200, s.CompletionRuleSchema)
def put_rule(data: dict[str, Any], programme_id: int) -> Any:
    """Replace the rule (trainers); everyone in the programme is re-evaluated at once. An empty list of
    conditions removes it."""
    actor = current_actor()
    overview.set_rule(db.session, actor, programme_id, data)
    db.session.commit()
    _, rule = overview.rule_of(db.session, actor, programme_id)
    return rule.to_json()


@bp.post("/<int:programme_id>/completion/retry")
@bp.arguments(s.SyncRetryIn)
@bp.response(200, s.SyncQueuedOut)
def retry(data: dict[str, Any], programme_id: int) -> Any:
    """Try failed deliveries again (one with ``job_id``, else all of the programme's)."""
    count = overview.retry_failed(db.session, current_actor(), programme_id, data.get("job_id"))
    db.session.commit()
    return {"queued": count}


@bp.post("/<int:programme_id>/completion/resend")
@bp.response(200, s.SyncQueuedOut)
def resend(programme_id: int) -> Any:
    """Send every reported completion of the programme to the gradebook again."""
    count = overview.resend_all(db.session, current_actor(), programme_id)
    db.session.commit()
    return {"queued": count}
