"""``/api/v1``: diary entries (with versions, confirmation, delete/restore/purge and action items), goals,
check-ins, pairing-fit alerts and momentum. Same services, same rules as the pages."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from lti_app.errors import StaleVersion
from lti_app.extensions import db
from lti_app.schemas.diary import (
    ActionItemOut,
    CheckInIn,
    CheckInOut,
    DoneIn,
    DueArgs,
    EntriesArgs,
    EntryIn,
    EntryOut,
    EntryUpdateIn,
    EntryVersionOut,
    GoalIn,
    GoalOut,
    GoalUpdateIn,
    MeetingMarkOut,
    MilestoneOut,
    MomentumArgs,
    MomentumOut,
    PairingAlertOut,
    ProgressIn,
)
from lti_app.services import checkins, diary, goals, momentum
from lti_app.services.checkins import CheckInInput
from lti_app.services.diary import EntryInput
from lti_app.services.goals import GoalInput
from lti_app.web.auth import current_actor

bp = Blueprint(
    "diary_api", __name__, url_prefix="/api/v1",
    description="Diary entries, action items, goals, check-ins and momentum of mentoring relationships.",
)

STALE = "Someone saved a newer version first; details.current is the saved entry, nothing was overwritten."


# --- diary ----------------------------------------------------------------------------------------------


@bp.get("/relationships/<int:relationship_id>/diary")
@bp.arguments(EntriesArgs, location="query")
@bp.response(200, EntryOut(many=True))
def list_entries(args: dict[str, Any], relationship_id: int):  # type: ignore[no-untyped-def]
    """The entries you may read, newest first: private notes are their author's alone; shared entries
    follow the programme's reader rules."""
    return diary.list_entries(db.session, current_actor(), relationship_id, **args)


@bp.post("/relationships/<int:relationship_id>/diary")
@bp.arguments(EntryIn)
@bp.response(201, EntryOut)
def create_entry(data: EntryInput, relationship_id: int):  # type: ignore[no-untyped-def]
    entry = diary.create_entry(db.session, current_actor(), relationship_id, data)
    db.session.commit()
    return entry


@bp.get("/relationships/<int:relationship_id>/meetings")
@bp.response(200, MeetingMarkOut(many=True))
def meetings(relationship_id: int):  # type: ignore[no-untyped-def]
    """Dates and lengths of shared meetings, without content: what trainers who may not read the diary see."""
    return diary.meeting_log(db.session, current_actor(), relationship_id)


@bp.get("/relationships/<int:relationship_id>/action-items")
@bp.arguments(DueArgs, location="query")
@bp.response(200, ActionItemOut(many=True))
def action_items_due(args: dict[str, Any], relationship_id: int):  # type: ignore[no-untyped-def]
    """Open action items that are overdue or due within ``within_days``, of the entries you may read."""
    actor = current_actor()
    return diary.action_items_due(db.session, actor, relationship_id, within_days=args["within_days"])


@bp.get("/diary/<int:entry_id>")
@bp.response(200, EntryOut)
def get_entry(entry_id: int):  # type: ignore[no-untyped-def]
    return diary.get_entry(db.session, current_actor(), entry_id)


@bp.put("/diary/<int:entry_id>")
@bp.arguments(EntryUpdateIn)
@bp.response(200, EntryOut)
@bp.alt_response(409, description=STALE)
def update_entry(data: tuple[int, EntryInput], entry_id: int):  # type: ignore[no-untyped-def]
    """Save a new version. ``version`` names the version the edit is based on: if someone saved since, the
    save is refused with 409 ``stale_version`` and ``details.current`` carries the saved entry."""
    actor = current_actor()
    based_on, entry_input = data
    try:
        entry = diary.update_entry(db.session, actor, entry_id, based_on, entry_input)
    except StaleVersion as exc:
        db.session.rollback()
        current = diary.get_entry(db.session, actor, entry_id)
        raise StaleVersion(
            exc.message, details={**(exc.details or {}), "current": EntryOut().dump(current)}
        ) from exc
    db.session.commit()
    return entry


@bp.get("/diary/<int:entry_id>/versions")
@bp.response(200, EntryVersionOut(many=True))
def versions(entry_id: int):  # type: ignore[no-untyped-def]
    """Every saved state, newest first, with who saved it and when."""
    return diary.entry_versions(db.session, current_actor(), entry_id)


def _entry_change(entry_id: int, action: Any) -> Any:
    entry = action(db.session, current_actor(), entry_id)
    db.session.commit()
    return entry


@bp.post("/diary/<int:entry_id>/confirm")
@bp.response(200, EntryOut)
def confirm(entry_id: int):  # type: ignore[no-untyped-def]
    """The other member confirms a shared meeting happened as written."""
    return _entry_change(entry_id, diary.confirm_meeting)


@bp.delete("/diary/<int:entry_id>")
@bp.response(204)
def delete(entry_id: int):  # type: ignore[no-untyped-def]
    """Soft delete, by the author; the author can restore it."""
    _entry_change(entry_id, diary.delete_entry)


@bp.post("/diary/<int:entry_id>/restore")
@bp.response(200, EntryOut)
def restore(entry_id: int):  # type: ignore[no-untyped-def]
    return _entry_change(entry_id, diary.restore_entry)


@bp.post("/diary/<int:entry_id>/purge")
@bp.response(204)
def purge(entry_id: int):  # type: ignore[no-untyped-def]
    """Erase the entry's content and history for a privacy request (platform admins only)."""
    _entry_change(entry_id, diary.purge_entry)


@bp.patch("/action-items/<int:item_id>")
@bp.arguments(DoneIn)
@bp.response(200, ActionItemOut)
def set_action_item(data: dict[str, Any], item_id: int):  # type: ignore[no-untyped-def]
    item = diary.set_action_item_done(db.session, current_actor(), item_id, data["done"])
    db.session.commit()
    return item


# --- goals ----------------------------------------------------------------------------------------------


@bp.get("/relationships/<int:relationship_id>/goals")
@bp.response(200, GoalOut(many=True))
def list_goals(relationship_id: int):  # type: ignore[no-untyped-def]
    return goals.list_goals(db.session, current_actor(), relationship_id)


@bp.post("/relationships/<int:relationship_id>/goals")
@bp.arguments(GoalIn)
@bp.response(201, GoalOut)
def create_goal(data: GoalInput, relationship_id: int):  # type: ignore[no-untyped-def]
    """A mentee's goal is agreed at once; a mentor's is a proposal until the mentee accepts it."""
    goal = goals.create_goal(db.session, current_actor(), data, relationship_id=relationship_id)
    db.session.commit()
    return goal


@bp.get("/programmes/<int:programme_id>/personal-goals")
@bp.response(200, GoalOut(many=True))
def list_personal_goals(programme_id: int):  # type: ignore[no-untyped-def]
    return goals.personal_goals(db.session, current_actor(), programme_id)


@bp.post("/programmes/<int:programme_id>/personal-goals")
@bp.arguments(GoalIn)
@bp.response(201, GoalOut)
def create_personal_goal(data: GoalInput, programme_id: int):  # type: ignore[no-untyped-def]
    goal = goals.create_goal(db.session, current_actor(), data, programme_id=programme_id)
    db.session.commit()
    return goal


@bp.get("/goals/<int:goal_id>")
@bp.response(200, GoalOut)
def get_goal(goal_id: int):  # type: ignore[no-untyped-def]
    return goals.get_goal(db.session, current_actor(), goal_id)


@bp.put("/goals/<int:goal_id>")
@bp.arguments(GoalUpdateIn)
@bp.response(200, GoalOut)
@bp.alt_response(409, description="Someone changed the goal since the given version.")
def update_goal(data: tuple[int | None, GoalInput], goal_id: int):  # type: ignore[no-untyped-def]
    based_on, goal_input = data
    goal = goals.update_goal(db.session, current_actor(), goal_id, goal_input, based_on)
    db.session.commit()
    return goal


@bp.post("/goals/<int:goal_id>/progress")
@bp.arguments(ProgressIn)
@bp.response(200, GoalOut)
def record_progress(data: dict[str, Any], goal_id: int):  # type: ignore[no-untyped-def]
    goal = goals.record_progress(
        db.session, current_actor(), goal_id, progress=data["progress"], status=data["status"]
    )
    db.session.commit()
    return goal


@bp.post("/goals/<int:goal_id>/accept")
@bp.response(200, GoalOut)
def accept_goal(goal_id: int):  # type: ignore[no-untyped-def]
    goal = goals.accept_goal(db.session, current_actor(), goal_id)
    db.session.commit()
    return goal


@bp.patch("/milestones/<int:milestone_id>")
@bp.arguments(DoneIn)
@bp.response(200, MilestoneOut)
def set_milestone(data: dict[str, Any], milestone_id: int):  # type: ignore[no-untyped-def]
    milestone = goals.set_milestone_done(db.session, current_actor(), milestone_id, data["done"])
    db.session.commit()
    return milestone


# --- check-ins, alerts, momentum ------------------------------------------------------------------------


@bp.get("/relationships/<int:relationship_id>/checkins")
@bp.response(200, CheckInOut(many=True))
def list_checkins(relationship_id: int):  # type: ignore[no-untyped-def]
    """Your own answers; trainers of the course (not in the relationship) see everyone's."""
    return checkins.list_checkins(db.session, current_actor(), relationship_id)


@bp.post("/relationships/<int:relationship_id>/checkins")
@bp.arguments(CheckInIn)
@bp.response(201, CheckInOut)
def answer_checkin(data: CheckInInput, relationship_id: int):  # type: ignore[no-untyped-def]
    """This month's check-in (or, with ``entry_id``, after that meeting); answering again replaces it."""
    checkin = checkins.answer_checkin(db.session, current_actor(), relationship_id, data)
    db.session.commit()
    return checkin


@bp.get("/programmes/<int:programme_id>/pairing-alerts")
@bp.response(200, PairingAlertOut(many=True))
def pairing_alerts(programme_id: int):  # type: ignore[no-untyped-def]
    return checkins.pairing_alerts(db.session, current_actor(), programme_id)


@bp.post("/pairing-alerts/<int:alert_id>/resolve")
@bp.response(200, PairingAlertOut)
def resolve_alert(alert_id: int):  # type: ignore[no-untyped-def]
    alert = checkins.resolve_alert(db.session, current_actor(), alert_id)
    db.session.commit()
    return alert


@bp.get("/programmes/<int:programme_id>/momentum")
@bp.arguments(MomentumArgs, location="query")
@bp.response(200, MomentumOut)
def programme_momentum(args: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Meetings per pair per month, days since the last meeting, open action items, open alerts."""
    return momentum.programme_momentum(db.session, current_actor(), programme_id, months=args["months"])
