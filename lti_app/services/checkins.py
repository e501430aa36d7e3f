"""Check-ins: a member's short answer about their relationship ("How useful was it this month?" 1-5, "Is
the pairing working?" yes / not sure / no, a comment), monthly or after a meeting.

Answers are private to the person answering and the course's trainers (and admins). The other member never
sees them, also when that member happens to be a trainer of the course: membership wins, so nobody reads
what their own mentee said about them.

Two "no" answers in a row from one member raise a pairing-fit alert for the trainers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lti_app.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from lti_app.models.base import utcnow
from lti_app.models.checkin import COMMENT_MAX, PAIRING_ANSWERS, PAIRING_NO, CheckIn, PairingAlert
from lti_app.models.diary import MEETING, SHARED, DiaryEntry
from lti_app.models.programme import Programme
from lti_app.models.relationship import ACTIVE, PAUSED, Relationship, RelationshipMember
from lti_app.services import events, notifications
from lti_app.services.access import (
    Actor,
    course_trainer_ids,
    is_course_trainer,
    load_relationship,
    require_programme_trainer,
)
from lti_app.services.diary import find

PAIRING_ALERT_KIND = "pairing.alert"
# Registered with the notification texts from here, so the notification service needs no diary knowledge.
notifications.KINDS.setdefault(
    PAIRING_ALERT_KIND,
    (
        "Pairing alert",
        "A member of a pair in {programme} answered twice in a row that the pairing is not working.",
    ),
)


@dataclass(frozen=True)
class CheckInInput:
    usefulness: int
    pairing: str
    comment: str = ""
    entry_id: int | None = None  # answering after this meeting rather than for the month


def _month(now: datetime) -> str:
    return f"month:{now:%Y-%m}"


def _member_role(relationship: Relationship, person_id: int) -> str | None:
    return next((m.role for m in relationship.members if m.person_id == person_id), None)


def _validate(session: Session, relationship: Relationship, person_id: int, answer: CheckInInput) -> None:
    errors: dict[str, list[str]] = {}
    if not 1 <= answer.usefulness <= 5:
        errors["usefulness"] = ["Choose from 1 (not useful) to 5 (very useful)."]
    if answer.pairing not in PAIRING_ANSWERS:
        errors["pairing"] = ["Answer yes, not sure or no."]
    if len(answer.comment or "") > COMMENT_MAX:
        errors["comment"] = [f"At most {COMMENT_MAX} characters."]
    if answer.entry_id is not None:
        entry = find(session, DiaryEntry, answer.entry_id)
        usable = (
            entry is not None
            and entry.relationship_id == relationship.id
            and entry.kind == MEETING
            and entry.deleted_at is None
            # Someone else's private note answers "no such meeting", like any other id.
            and (entry.visibility == SHARED or entry.author_id == person_id)
        )
        if not usable:
            errors["entry_id"] = ["Name a meeting of this relationship."]
    if errors:
        raise ValidationFailed("Some fields are missing or invalid.", details=errors)


def answer_checkin(
    session: Session, actor: Actor, relationship_id: int, answer: CheckInInput, *, now: datetime | None = None
) -> CheckIn:
    """Record (or, for the same month or meeting, replace) the actor's check-in; raise a pairing alert
    after a second "no" in a row."""
    relationship = load_relationship(session, actor, relationship_id)
    if _member_role(relationship, actor.person_id) is None:
        raise PermissionDenied("Only the people in this relationship check in on it.")
    if relationship.status not in (ACTIVE, PAUSED):
        raise RuleViolation("This relationship is closed: check-ins are for running relationships.")
    _validate(session, relationship, actor.person_id, answer)
    now = now or utcnow()
    period = f"meeting:{answer.entry_id}" if answer.entry_id is not None else _month(now)
    fields = {"usefulness": answer.usefulness, "pairing": answer.pairing, "comment": answer.comment or ""}
    checkin = _upsert(session, relationship_id, actor.person_id, period, answer.entry_id, fields, now)
    _maybe_alert(session, relationship, actor.person_id, checkin, now)
    events.publish(
        session,
        events.DomainEvent(
            events.CHECKIN_ANSWERED, programme_id=relationship.programme_id, relationship_id=relationship_id,
            person_ids=(actor.person_id,),
        ),
    )
    return checkin


def _upsert(
    session: Session, relationship_id: int, person_id: int, period: str, entry_id: int | None,
    fields: dict[str, object], now: datetime,
) -> CheckIn:
    """One row per person, relationship and period, also when a double submit races itself: an
    INSERT ... ON CONFLICT DO UPDATE, which SQLite and PostgreSQL spell alike."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(CheckIn).values(
        relationship_id=relationship_id, person_id=person_id, period=period, entry_id=entry_id,
        created_at=now, updated_at=now, **fields,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["relationship_id", "person_id", "period"], set_={**fields, "updated_at": now}
        )
    )
    checkin = session.scalars(
        select(CheckIn)
        .where(CheckIn.relationship_id == relationship_id, CheckIn.person_id == person_id)
        .where(CheckIn.period == period)
        .execution_options(populate_existing=True)
    ).one()
    return checkin


def _maybe_alert(
    session: Session, relationship: Relationship, person_id: int, checkin: CheckIn, now: datetime
) -> PairingAlert | None:
    last_two = session.scalars(
        select(CheckIn.pairing)
        .where(CheckIn.relationship_id == relationship.id, CheckIn.person_id == person_id)
        .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
        .limit(2)
    ).all()
    if len(last_two) < 2 or any(answer != PAIRING_NO for answer in last_two):
        return None
    already_open = session.scalar(
        select(PairingAlert.id).where(
            PairingAlert.relationship_id == relationship.id,
            PairingAlert.person_id == person_id,
            PairingAlert.resolved_at.is_(None),
        )
    )
    if already_open is not None:
        return None
    alert = PairingAlert(
        programme_id=relationship.programme_id, relationship_id=relationship.id, person_id=person_id,
        checkin_id=checkin.id, raised_at=now,
    )
    session.add(alert)
    session.flush()
    _notify_trainers(session, relationship, alert)
    return alert


def _notify_trainers(session: Session, relationship: Relationship, alert: PairingAlert) -> None:
    """Tell the course's trainers (not a trainer who is in the pair: the alert comes from the other
    member's private answers). The alert row itself is what the momentum page shows."""
    programme = session.get(Programme, relationship.programme_id)
    assert programme is not None
    members = set(relationship.person_ids())
    trainers = [pid for pid in course_trainer_ids(session, programme.course_id) if pid not in members]
    notifications.notify(
        session, trainers, PAIRING_ALERT_KIND, course_id=programme.course_id,
        params={"programme": programme.title}, link_endpoint="diary.momentum",
        link_values={"programme_id": programme.id},
    )


def list_checkins(session: Session, actor: Actor, relationship_id: int, *, limit: int = 200) -> list[CheckIn]:
    """A member sees their own answers; trainers and admins of the course who are not in the relationship
    see everyone's; nobody else sees any."""
    relationship = load_relationship(session, actor, relationship_id)
    query = select(CheckIn).where(CheckIn.relationship_id == relationship_id)
    if _member_role(relationship, actor.person_id) is not None:
        query = query.where(CheckIn.person_id == actor.person_id)
    elif not is_course_trainer(session, actor, relationship.programme.course_id):
        raise NotFound("No such relationship.")
    return list(session.scalars(query.order_by(CheckIn.created_at.desc(), CheckIn.id.desc()).limit(limit)))


def checkin_due(session: Session, actor: Actor, relationship_id: int, *, now: datetime | None = None) -> bool:
    """Whether to ask the actor for this month's check-in: a member of a running relationship who has not
    answered (for the month or after a meeting) since the month began."""
    relationship = load_relationship(session, actor, relationship_id)
    if _member_role(relationship, actor.person_id) is None or relationship.status not in (ACTIVE, PAUSED):
        return False
    now = now or utcnow()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    answered = session.scalar(
        select(CheckIn.id).where(
            CheckIn.relationship_id == relationship_id,
            CheckIn.person_id == actor.person_id,
            CheckIn.created_at >= month_start,
        ).limit(1)
    )
    return answered is None


def checkin_answered(session: Session, relationship_id: int, person_id: int) -> bool:
    """For completion rules: has this person answered at least one check-in about this relationship?"""
    return session.scalar(
        select(
            exists().where(CheckIn.relationship_id == relationship_id, CheckIn.person_id == person_id)
        )
    ) is True


def pairing_alerts(
    session: Session, actor: Actor, programme_id: int, *, open_only: bool = True
) -> list[PairingAlert]:
    """The programme's pairing-fit alerts, for its trainers."""
    require_programme_trainer(session, actor, programme_id)
    return alerts_seen_by(session, programme_id, actor.person_id, open_only=open_only)


def alerts_seen_by(
    session: Session, programme_id: int, trainer_id: int, *, open_only: bool = True
) -> list[PairingAlert]:
    """The alerts a trainer the caller has already checked may see: all of the programme's but those about
    relationships the trainer is in themselves (they come from the other member's private answers)."""
    own = exists().where(
        RelationshipMember.relationship_id == PairingAlert.relationship_id,
        RelationshipMember.person_id == trainer_id,
    )
    query = select(PairingAlert).where(PairingAlert.programme_id == programme_id, ~own)
    if open_only:
        query = query.where(PairingAlert.resolved_at.is_(None))
    query = query.order_by(PairingAlert.raised_at.desc(), PairingAlert.id.desc()).limit(500)
    return list(session.scalars(query))


def resolve_alert(session: Session, actor: Actor, alert_id: int) -> PairingAlert:
    alert = find(session, PairingAlert, alert_id)
    if alert is None:
        raise NotFound("No such alert.")
    require_programme_trainer(session, actor, alert.programme_id)
    relationship = session.get(Relationship, alert.relationship_id)
    if relationship is not None and _member_role(relationship, actor.person_id) is not None:
        raise NotFound("No such alert.")
    if alert.resolved_at is None:
        alert.resolved_at, alert.resolved_by_id = utcnow(), actor.person_id
        session.flush()
    return alert
