"""The mentoring JSON API under ``/api/v1``: programmes, profiles, mentor search, requests,
relationships, notifications and the trainer overview. Authenticated by the launch token as a Bearer
token; every rule is checked by the services, exactly as for the pages."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from lti_app.extensions import db
from lti_app.schemas import mentoring as s
from lti_app.services import notifications, overview, profiles, programmes, relationships
from lti_app.services.relationship_queries import detail, for_person
from lti_app.services.search import MentorFilters, search_mentors
from lti_app.views.pages.blueprint import course_of
from lti_app.web.auth import current_actor

bp = Blueprint(
    "mentoring_api",
    __name__,
    url_prefix="/api/v1",
    description="Programmes, profiles, mentor search, requests, relationships and notifications.",
)


def _committed(value: Any) -> Any:
    db.session.commit()
    return value


# ----------------------------------------------------------------------------------------------- programmes


@bp.get("/programmes")
@bp.response(200, s.ProgrammeOut(many=True))
def list_programmes():  # type: ignore[no-untyped-def]
    """Programmes of the course you launched from (drafts only for its trainers)."""
    actor = current_actor()
    return programmes.list_programmes(db.session, actor, course_of(actor))


@bp.post("/programmes")
@bp.arguments(s.ProgrammeIn)
@bp.response(201, s.ProgrammeOut)
def create_programme(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Create a programme in the course you launched from (trainers)."""
    actor = current_actor()
    data.pop("confirm_exposure", None)
    return _committed(programmes.create_programme(db.session, actor, course_of(actor), data))


@bp.get("/programmes/<int:programme_id>")
@bp.response(200, s.ProgrammeOut)
def get_programme(programme_id: int):  # type: ignore[no-untyped-def]
    return programmes.get_programme(db.session, current_actor(), programme_id)


@bp.patch("/programmes/<int:programme_id>")
@bp.arguments(s.ProgrammePatch(partial=True))
@bp.response(200, s.ProgrammeOut)
def update_programme(data: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Change a programme's description or rules (trainers). A change that lets more people read existing
    diary entries answers 409 ``confirmation_required`` with the warnings, until sent with
    ``confirm_exposure: true``."""
    confirm = data.pop("confirm_exposure", False)
    updated = programmes.update_programme(
        db.session, current_actor(), programme_id, data, confirm_exposure=confirm
    )
    return _committed(updated)


@bp.get("/programmes/<int:programme_id>/membership")
@bp.response(200, s.MembershipOut)
def get_membership(programme_id: int):  # type: ignore[no-untyped-def]
    """Your own choices in a programme (defaults when you have not made any): ``capacity_override`` is
    your own figure, ``trainer_capacity`` a trainer's limit, ``capacity`` the smaller one that applies."""
    return programmes.my_membership(db.session, current_actor(), programme_id)


@bp.put("/programmes/<int:programme_id>/membership")
@bp.arguments(s.MembershipIn)
@bp.response(200, s.MembershipOut)
def put_membership(data: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Offer mentoring, look for a mentor, and set how many mentees you take in this programme (at most a
    trainer's limit; ``capacity: null`` clears your own figure, an absent ``capacity`` keeps it)."""
    actor = current_actor()
    programmes.set_preferences(
        db.session,
        actor,
        programme_id,
        open_to_mentor=data.get("open_to_mentor"),
        open_to_be_mentored=data.get("open_to_be_mentored"),
        capacity=data.get("capacity"),
        clear_capacity="capacity" in data and data["capacity"] is None,
    )
    db.session.commit()
    return programmes.my_membership(db.session, actor, programme_id)


@bp.get("/programmes/<int:programme_id>/mentors")
@bp.arguments(s.MentorSearchArgs, location="query")
@bp.response(200, s.MentorSearchOut)
def find_mentors(args: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Mentors with a free place, best fit first, with the reasons."""
    filters = MentorFilters(
        text=args["q"],
        skill=args["skill"],
        interest=args["interest"],
        language=args["language"],
        location=args["location"],
        department=args["department"],
        availability=args["availability"],
        limit=args["limit"],
        offset=args["offset"],
    )
    return search_mentors(db.session, current_actor(), programme_id, filters)


@bp.get("/programmes/<int:programme_id>/overview")
@bp.arguments(s.OverviewArgs, location="query")
@bp.response(200, s.OverviewOut)
def programme_overview(args: dict[str, Any], programme_id: int):  # type: ignore[no-untyped-def]
    """Who mentors whom in a programme (trainers and admins)."""
    return overview.programme_overview(
        db.session,
        current_actor(),
        programme_id,
        status=args["status"],
        query=args["q"],
        stale_days=args["stale_days"],
    )


# ------------------------------------------------------------------------------------------------- profiles


@bp.get("/profiles/me")
@bp.response(200, s.OwnProfileOut)
def my_profile():  # type: ignore[no-untyped-def]
    return profiles.own_profile(db.session, current_actor())


@bp.patch("/profiles/me")
@bp.arguments(s.ProfileIn)
@bp.response(200, s.OwnProfileOut)
def update_my_profile(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    actor = current_actor()
    profiles.update_profile(db.session, actor, data)
    db.session.commit()
    return profiles.own_profile(db.session, actor)


@bp.get("/profiles/<int:person_id>")
@bp.response(200, s.ProfileOut)
def get_profile(person_id: int):  # type: ignore[no-untyped-def]
    """A public profile of someone in one of your courses."""
    return profiles.view_profile(db.session, current_actor(), person_id)


# ------------------------------------------------------------------------------------------------- requests


@bp.get("/requests")
@bp.arguments(s.RequestListArgs, location="query")
@bp.response(200, s.RequestListOut)
def list_requests(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Your pending requests: inbound (to answer) and outbound (waiting for an answer)."""
    mine = for_person(db.session, current_actor(), course_id=args["course_id"])
    return {
        "inbound": mine.inbound if args["direction"] in ("inbound", "all") else [],
        "outbound": mine.outbound if args["direction"] in ("outbound", "all") else [],
    }


@bp.post("/requests")
@bp.arguments(s.RequestIn)
@bp.response(201, s.RelationshipOut)
def create_request(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Ask someone to mentor you (``as_role: mentee``) or offer to mentor them (``as_role: mentor``)."""
    rel = relationships.request_mentoring(
        db.session,
        current_actor(),
        data["programme_id"],
        data["person_id"],
        as_role=data["as_role"],
        message=data["message"],
    )
    return _committed(rel)


# -------------------------------------------------------------------------------------------- relationships


@bp.get("/relationships")
@bp.arguments(s.RelationshipListArgs, location="query")
@bp.response(200, s.RelationshipOut(many=True))
def list_relationships(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Your relationships (not pending requests), current first."""
    mine = for_person(db.session, current_actor(), course_id=args["course_id"])
    found = [*mine.current, *mine.past]
    return [r for r in found if args["status"] in (None, r.status)]


@bp.post("/relationships")
@bp.arguments(s.TrainerRelationshipIn)
@bp.response(201, s.RelationshipOut)
def create_relationship(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Pair people directly (trainers and admins); the relationship starts at once."""
    rel = relationships.create_relationship(
        db.session,
        current_actor(),
        data["programme_id"],
        mentor_ids=data["mentor_ids"],
        mentee_ids=data["mentee_ids"],
        note=data["note"],
    )
    return _committed(rel)


@bp.get("/relationships/<int:relationship_id>")
@bp.response(200, s.RelationshipDetailOut)
def get_relationship(relationship_id: int):  # type: ignore[no-untyped-def]
    """A relationship with its timeline and the actions open to you."""
    return detail(db.session, current_actor(), relationship_id)


def _simple(action: str, call: Any, doc: str) -> None:
    def view(relationship_id: int):  # type: ignore[no-untyped-def]
        return _committed(call(db.session, current_actor(), relationship_id))

    view.__name__ = f"{action}_relationship"
    view.__doc__ = doc
    bp.post(f"/relationships/<int:relationship_id>/{action}")(bp.response(200, s.RelationshipOut)(view))


def _with_reason(action: str, call: Any, doc: str) -> None:
    def view(data: dict[str, Any], relationship_id: int):  # type: ignore[no-untyped-def]
        return _committed(call(db.session, current_actor(), relationship_id, reason=data["reason"]))

    view.__name__ = f"{action}_relationship"
    view.__doc__ = doc
    bp.post(f"/relationships/<int:relationship_id>/{action}")(
        bp.arguments(s.ReasonIn)(bp.response(200, s.RelationshipOut)(view))
    )


_simple("accept", relationships.accept, "Accept a request you received (capacity is re-checked).")
_simple("withdraw", relationships.withdraw, "Withdraw a request you sent.")
_simple("approve", relationships.approve, "Approve a request (trainers, when the programme asks for it).")
_simple("resume", relationships.resume, "Resume a paused relationship (trainers).")
_simple("complete", relationships.complete, "Mark a relationship completed (trainers).")
_with_reason("decline", relationships.decline, "Decline a request you received, with an optional reason.")
_with_reason("pause", relationships.pause, "Pause a relationship (trainers).")
_with_reason("end", relationships.end, "End a relationship, with a reason (members or trainers).")


@bp.post("/relationships/<int:relationship_id>/reassign")
@bp.arguments(s.ReassignIn)
@bp.response(200, s.RelationshipOut)
def reassign_relationship(data: dict[str, Any], relationship_id: int):  # type: ignore[no-untyped-def]
    """Replace one member by another in the same role (trainers)."""
    return _committed(relationships.reassign(db.session, current_actor(), relationship_id, **data))


# -------------------------------------------------------------------------------------------- notifications


@bp.get("/notifications")
@bp.response(200, s.NotificationListOut)
def list_notifications():  # type: ignore[no-untyped-def]
    actor = current_actor()
    return {
        "unread": notifications.unread_count(db.session, actor),
        "items": notifications.for_person(db.session, actor, limit=50),
    }


@bp.post("/notifications/read")
@bp.arguments(s.MarkReadIn)
@bp.response(200, s.NotificationListOut)
def read_notifications(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Mark notifications read (all of them when ``ids`` is omitted)."""
    actor = current_actor()
    notifications.mark_read(db.session, actor, data.get("ids"))
    db.session.commit()
    return {
        "unread": notifications.unread_count(db.session, actor),
        "items": notifications.for_person(db.session, actor, limit=50),
    }


@bp.put("/notifications/email")
@bp.arguments(s.EmailPreferenceIn)
@bp.response(200, s.OwnProfileOut)
def email_preference(data: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Turn notification emails on or off."""
    actor = current_actor()
    notifications.set_email_notifications(db.session, actor, data["email_notifications"])
    db.session.commit()
    return profiles.own_profile(db.session, actor)
