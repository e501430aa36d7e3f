"""The relationship diary: who may write and read what, edits that keep their history, meeting
confirmation, soft delete and purge, and action items.

Visibility, decided here and nowhere else:

* a **private** entry is visible to its author only, whatever the programme's rules;
* a **shared** entry is visible to the relationship's members always, to trainers of the course only when
  ``Programme.diary_readable_by_trainers``, to admins of the platform only when
  ``Programme.diary_readable_by_admins``;
* an entry's **history** (its earlier versions) is for the relationship's members, and a version saved while
  the entry was private stays its author's, also once the entry is shared;
* trainers and admins who may not read content still see *that* meetings happened (date, length,
  confirmed), through ``meeting_log`` and the momentum figures, so momentum is visible without exposing
  what was said.

Writing: any member may keep private notes; shared entries follow ``Programme.diary_writers``. Only active
or paused relationships take new words; a closed relationship's diary is read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from lti_app.domain.tags import normalise_tags
from lti_app.errors import NotFound, PermissionDenied, RuleViolation, StaleVersion, ValidationFailed
from lti_app.models.audit import AuditEvent
from lti_app.models.base import utcnow
from lti_app.models.checkin import CheckIn
from lti_app.models.diary import (
    ACTION_TEXT_MAX,
    ENTRY_KINDS,
    MEETING,
    PRIVATE,
    SHARED,
    TITLE_MAX,
    VISIBILITIES,
    ActionItem,
    DiaryEntry,
    DiaryEntryVersion,
)
from lti_app.models.goal import Goal
from lti_app.models.person import ADMIN, TRAINER, Person
from lti_app.models.programme import Programme
from lti_app.models.relationship import ACTIVE, PAUSED, Relationship, RelationshipMember
from lti_app.services import events
from lti_app.services.access import Actor, course_roles, load_relationship

WRITABLE_STATUSES = (ACTIVE, PAUSED)
# Ids are INTEGER columns: PostgreSQL refuses a larger number even to compare with one ("integer out of
# range"), SQLite cannot bind one past 64 bits. Such an id names no row, so it is never sent.
ROW_ID_MAX = 2**31 - 1
BODY_MAX = 20_000
MAX_TOPICS = 20
MAX_ACTION_ITEMS = 50
MAX_MEETING_MINUTES = 24 * 60
T = TypeVar("T")
# The date an entry happened may be "tomorrow" in UTC for someone east of Greenwich, never later.
FUTURE_LEEWAY = timedelta(days=1)


@dataclass(frozen=True)
class ActionItemInput:
    text: str
    owner_id: int | None = None
    due_on: date | None = None
    done: bool = False
    id: int | None = None  # an existing item being edited; None for a new one


@dataclass(frozen=True)
class EntryInput:
    kind: str
    occurred_on: date
    title: str
    body: str = ""
    visibility: str = SHARED
    duration_minutes: int | None = None
    topics: Sequence[str] = ()
    action_items: Sequence[ActionItemInput] = ()
    goal_ids: Sequence[int] = ()


@dataclass(frozen=True)
class DiaryAccess:
    """What one actor may do with one relationship's diary."""

    relationship: Relationship
    programme: Programme
    person_id: int
    member_role: str | None
    is_trainer: bool
    is_admin: bool

    @property
    def is_member(self) -> bool:
        return self.member_role is not None

    @property
    def reads_shared(self) -> bool:
        return (
            self.is_member
            or (self.is_trainer and self.programme.diary_readable_by_trainers)
            or (self.is_admin and self.programme.diary_readable_by_admins)
        )

    @property
    def writes_shared(self) -> bool:
        return self.is_member and self.programme.diary_writers in ("both", self.member_role)

    @property
    def relationship_open(self) -> bool:
        return self.relationship.status in WRITABLE_STATUSES

    def can_read(self, entry: DiaryEntry) -> bool:
        if entry.purged_at is not None:
            return False
        if entry.visibility == PRIVATE or entry.deleted_at is not None:
            # Deleted entries stay with their author, who alone may restore them.
            return entry.author_id == self.person_id
        return self.reads_shared

    def can_edit(self, entry: DiaryEntry) -> bool:
        if entry.deleted_at is not None or not self.can_read(entry) or not self.is_member:
            return False
        if entry.visibility == PRIVATE:
            return entry.author_id == self.person_id
        return self.writes_shared

    def can_see_history(self, entry: DiaryEntry) -> bool:
        return self.is_member and self.can_read(entry)

    def versions_clause(self, entry: DiaryEntry) -> ColumnElement[bool]:
        """Which saved states of ``entry`` the actor may read. Making a note shared shares what it says
        *now*: what it said while private stays with its author, as the note itself did."""
        if entry.author_id == self.person_id:
            return true()
        return DiaryEntryVersion.visibility == SHARED

    def readable_clause(self) -> ColumnElement[bool]:
        """The same rule as ``can_read``, as SQL, for lists (deleted entries excluded)."""
        own_private = and_(DiaryEntry.visibility == PRIVATE, DiaryEntry.author_id == self.person_id)
        shared = DiaryEntry.visibility == SHARED if self.reads_shared else false()
        return and_(DiaryEntry.deleted_at.is_(None), or_(own_private, shared))


@dataclass(frozen=True)
class MeetingMark:
    """That a meeting happened, without what was said: what a trainer without reading rights sees."""

    entry_id: int
    occurred_on: date
    duration_minutes: int | None
    confirmed: bool


@dataclass
class Journal:
    """Everything the relationship journal page shows, gathered in one service call."""

    access: DiaryAccess
    entries: list[DiaryEntry]
    deleted: list[DiaryEntry]
    meetings: list[MeetingMark]
    action_items_due: list[ActionItem]
    goals: list[Goal] = field(default_factory=list)
    checkin_due: bool = False
    members: list[RelationshipMember] = field(default_factory=list)
    checkins: list[CheckIn] = field(default_factory=list)  # own answers; everyone's for trainers


# --- access ---------------------------------------------------------------------------------------------


def diary_access(session: Session, actor: Actor, relationship_id: int) -> DiaryAccess:
    """Members, trainers of the course and admins of the platform get an answer; anyone else NotFound."""
    relationship = load_relationship(session, actor, relationship_id)
    programme = session.get(Programme, relationship.programme_id)
    assert programme is not None  # load_relationship checked it
    role = next((m.role for m in relationship.members if m.person_id == actor.person_id), None)
    roles = course_roles(session, actor, programme.course_id)
    return DiaryAccess(
        relationship=relationship, programme=programme, person_id=actor.person_id, member_role=role,
        is_trainer=TRAINER in roles, is_admin=ADMIN in roles,
    )


def find(session: Session, model: type[T], row_id: int) -> T | None:
    """``session.get`` for an id a client sent: one beyond any row is simply not found."""
    return session.get(model, row_id) if 0 < row_id <= ROW_ID_MAX else None


def _load_entry(session: Session, actor: Actor, entry_id: int) -> tuple[DiaryEntry, DiaryAccess]:
    entry = find(session, DiaryEntry, entry_id)
    if entry is None:
        raise NotFound("No such diary entry.")
    access = diary_access(session, actor, entry.relationship_id)
    if not access.can_read(entry):
        # Whether it exists is none of the reader's business either.
        raise NotFound("No such diary entry.")
    return entry, access


def _require_open(access: DiaryAccess) -> None:
    if not access.relationship_open:
        raise RuleViolation("This relationship is closed: its diary can be read but no longer changed.")


def _require_may_write(access: DiaryAccess, visibility: str) -> None:
    if not access.is_member:
        raise PermissionDenied("Only the people in this relationship write its diary.")
    if visibility == SHARED and not access.writes_shared:
        raise PermissionDenied(
            f"In this programme only the {access.programme.diary_writers} writes shared diary entries; "
            "you can still keep private notes."
        )
    _require_open(access)


# --- reading --------------------------------------------------------------------------------------------


def _entry_query(access: DiaryAccess) -> Select[tuple[DiaryEntry]]:
    return (
        select(DiaryEntry)
        .where(DiaryEntry.relationship_id == access.relationship.id)
        .options(
            selectinload(DiaryEntry.action_items).selectinload(ActionItem.owner),
            selectinload(DiaryEntry.goals),
            selectinload(DiaryEntry.author),
        )
        .order_by(DiaryEntry.occurred_on.desc(), DiaryEntry.id.desc())
    )


def list_entries(
    session: Session, actor: Actor, relationship_id: int, *, kind: str | None = None, limit: int = 200,
    offset: int = 0,
) -> list[DiaryEntry]:
    """The entries the actor may read, newest first (bounded: one page of ``limit``)."""
    access = diary_access(session, actor, relationship_id)
    return _readable_entries(session, access, kind=kind, limit=limit, offset=offset)


def _readable_entries(
    session: Session, access: DiaryAccess, *, kind: str | None = None, limit: int = 200, offset: int = 0
) -> list[DiaryEntry]:
    query = _entry_query(access).where(access.readable_clause())
    if kind:
        query = query.where(DiaryEntry.kind == kind)
    return list(session.scalars(query.limit(min(limit, 500)).offset(offset)))


def _own_deleted(session: Session, access: DiaryAccess) -> list[DiaryEntry]:
    query = _entry_query(access).where(
        DiaryEntry.author_id == access.person_id,
        DiaryEntry.deleted_at.is_not(None),
        DiaryEntry.purged_at.is_(None),
    )
    return list(session.scalars(query.limit(100)))


def get_entry(session: Session, actor: Actor, entry_id: int) -> DiaryEntry:
    return _load_entry(session, actor, entry_id)[0]


def entry_versions(session: Session, actor: Actor, entry_id: int) -> list[DiaryEntryVersion]:
    """The saved states of an entry, newest first, for the people in the relationship who can read it: its
    author sees every one; the others only those saved while the entry was shared."""
    entry, access = _load_entry(session, actor, entry_id)
    if not access.can_see_history(entry):
        raise PermissionDenied("Only the people in this relationship see an entry's earlier versions.")
    return list(
        session.scalars(
            select(DiaryEntryVersion)
            .where(DiaryEntryVersion.entry_id == entry.id, access.versions_clause(entry))
            .options(selectinload(DiaryEntryVersion.edited_by))
            .order_by(DiaryEntryVersion.version.desc())
        )
    )


def _shared_meetings() -> ColumnElement[bool]:
    return and_(
        DiaryEntry.kind == MEETING,
        DiaryEntry.visibility == SHARED,
        DiaryEntry.deleted_at.is_(None),
    )


def meeting_log(session: Session, actor: Actor, relationship_id: int) -> list[MeetingMark]:
    """Dates and lengths of the relationship's shared meetings, for everyone who oversees it."""
    access = diary_access(session, actor, relationship_id)
    return _meeting_marks(session, access)


def _meeting_marks(session: Session, access: DiaryAccess) -> list[MeetingMark]:
    rows = session.execute(
        select(DiaryEntry.id, DiaryEntry.occurred_on, DiaryEntry.duration_minutes, DiaryEntry.confirmed_at)
        .where(DiaryEntry.relationship_id == access.relationship.id, _shared_meetings())
        .order_by(DiaryEntry.occurred_on.desc(), DiaryEntry.id.desc())
        .limit(500)
    ).all()
    return [MeetingMark(r[0], r[1], r[2], r[3] is not None) for r in rows]


def count_meetings(session: Session, relationship_id: int, confirmed_only: bool) -> int:
    """For completion rules: the relationship's shared, not deleted meetings; with ``confirmed_only``, only
    those the other member confirmed. Private notes never count (nobody else may know they exist)."""
    query = select(func.count(DiaryEntry.id)).where(
        DiaryEntry.relationship_id == relationship_id, _shared_meetings()
    )
    if confirmed_only:
        query = query.where(DiaryEntry.confirmed_at.is_not(None))
    return int(session.scalar(query) or 0)


def action_items_due(
    session: Session, actor: Actor, relationship_id: int, *, within_days: int = 14, today: date | None = None
) -> list[ActionItem]:
    access = diary_access(session, actor, relationship_id)
    return _items_due(session, access, within_days=within_days, today=today)


def _items_due(
    session: Session, access: DiaryAccess, *, within_days: int, today: date | None
) -> list[ActionItem]:
    """Open action items of readable entries that are overdue or due within ``within_days``."""
    horizon = (today or utcnow().date()) + timedelta(days=within_days)
    query = (
        select(ActionItem)
        .join(DiaryEntry, DiaryEntry.id == ActionItem.entry_id)
        .where(
            ActionItem.relationship_id == access.relationship.id,
            ActionItem.done.is_(False),
            ActionItem.due_on.is_not(None),
            ActionItem.due_on <= horizon,
            access.readable_clause(),
        )
        .options(selectinload(ActionItem.owner))
        .order_by(ActionItem.due_on, ActionItem.id)
        .limit(200)
    )
    return list(session.scalars(query))


def journal(session: Session, actor: Actor, relationship_id: int, *, today: date | None = None) -> Journal:
    """The journal page: readable entries, own deleted entries, meetings, action items due, goals and
    whether a check-in is due."""
    from lti_app.services import checkins, goals

    access = diary_access(session, actor, relationship_id)
    readable = access.reads_shared or access.is_member
    return Journal(
        access=access,
        entries=_readable_entries(session, access) if readable else [],
        deleted=_own_deleted(session, access) if access.is_member else [],
        meetings=_meeting_marks(session, access),
        action_items_due=_items_due(session, access, within_days=14, today=today) if readable else [],
        goals=goals.list_goals(session, actor, relationship_id),
        checkin_due=checkins.checkin_due(session, actor, relationship_id),
        checkins=checkins.list_checkins(session, actor, relationship_id, limit=24),
        members=list(
            session.scalars(
                select(RelationshipMember)
                .where(RelationshipMember.relationship_id == relationship_id)
                .options(selectinload(RelationshipMember.person))
                .order_by(RelationshipMember.id)
            )
        ),
    )


@dataclass
class Editor:
    """What the entry editor needs: the access (which visibilities may be chosen), the people who may own
    action items, the goals an entry may link to, and the entry being edited (None for a new one)."""

    access: DiaryAccess
    members: list[Person]
    goals: list[Goal]
    entry: DiaryEntry | None = None


def editor(
    session: Session, actor: Actor, *, relationship_id: int | None = None, entry_id: int | None = None
) -> Editor:
    """The editor for a new entry in ``relationship_id`` or for entry ``entry_id``; refused to whoever
    could not save it."""
    entry = None
    if entry_id is not None:
        entry, access = _load_entry(session, actor, entry_id)
        if not access.can_edit(entry):
            raise PermissionDenied("You cannot edit this entry.")
        _require_open(access)
    else:
        assert relationship_id is not None
        access = diary_access(session, actor, relationship_id)
        _require_may_write(access, SHARED if access.writes_shared else PRIVATE)
    members = list(
        session.scalars(
            select(Person)
            .join(RelationshipMember, RelationshipMember.person_id == Person.id)
            .where(RelationshipMember.relationship_id == access.relationship.id)
            .order_by(RelationshipMember.id)
        )
    )
    goals = list(
        session.scalars(
            select(Goal).where(Goal.relationship_id == access.relationship.id).order_by(Goal.id).limit(200)
        )
    )
    return Editor(access=access, members=members, goals=goals, entry=entry)


# --- writing --------------------------------------------------------------------------------------------


def _validated(
    session: Session, access: DiaryAccess, data: EntryInput, today: date | None
) -> dict[str, object]:
    errors: dict[str, list[str]] = {}
    if data.kind not in ENTRY_KINDS:
        errors["kind"] = [f"Choose one of: {', '.join(ENTRY_KINDS)}."]
    if data.visibility not in VISIBILITIES:
        errors["visibility"] = ["Choose private or shared."]
    title = (data.title or "").strip()
    if not title:
        errors["title"] = ["Give the entry a title."]
    elif len(title) > TITLE_MAX:
        errors["title"] = [f"At most {TITLE_MAX} characters."]
    if len(data.body or "") > BODY_MAX:
        errors["body"] = [f"At most {BODY_MAX} characters."]
    if data.occurred_on > (today or utcnow().date()) + FUTURE_LEEWAY:
        errors["occurred_on"] = ["The date it happened cannot be in the future."]
    duration = data.duration_minutes if data.kind == MEETING else None
    if duration is not None and not 0 < duration <= MAX_MEETING_MINUTES:
        errors["duration_minutes"] = [f"Between 1 and {MAX_MEETING_MINUTES} minutes."]
    topics = normalise_tags(list(data.topics))
    if len(topics) > MAX_TOPICS:
        errors["topics"] = [f"At most {MAX_TOPICS} topics."]
    item_errors = _action_item_errors(access, data.action_items)
    if item_errors:
        errors["action_items"] = item_errors
    goals = _linkable_goals(session, access, data.goal_ids)
    if len(goals) != len(set(data.goal_ids)):
        errors["goal_ids"] = ["Link only goals of this relationship."]
    if errors:
        raise ValidationFailed("Some fields are missing or invalid.", details=errors)
    return {
        "kind": data.kind, "visibility": data.visibility, "occurred_on": data.occurred_on,
        "duration_minutes": duration, "title": title, "body": data.body or "", "topics": topics,
        "goals": goals,
    }


def _action_item_errors(access: DiaryAccess, items: Sequence[ActionItemInput]) -> list[str]:
    members = set(access.relationship.person_ids())
    errors = []
    if len(items) > MAX_ACTION_ITEMS:
        errors.append(f"At most {MAX_ACTION_ITEMS} action items.")
    for n, item in enumerate(items, start=1):
        text = (item.text or "").strip()
        if not text:
            errors.append(f"Action item {n}: say what is to be done.")
        elif len(text) > ACTION_TEXT_MAX:
            errors.append(f"Action item {n}: at most {ACTION_TEXT_MAX} characters.")
        if item.owner_id is not None and item.owner_id not in members:
            errors.append(f"Action item {n}: the owner must be someone in this relationship.")
    return errors


def _linkable_goals(session: Session, access: DiaryAccess, goal_ids: Sequence[int]) -> list[Goal]:
    wanted = {i for i in goal_ids if 0 < i <= ROW_ID_MAX}
    if not wanted:
        return []
    return list(
        session.scalars(
            select(Goal)
            .where(Goal.id.in_(wanted), Goal.relationship_id == access.relationship.id)
            .order_by(Goal.id)
        )
    )


def _apply_action_items(entry: DiaryEntry, items: Sequence[ActionItemInput], person_id: int) -> None:
    """Replace the entry's action items with ``items``; an item named by id keeps its row (and its done
    time); items no longer listed are removed."""
    existing = {item.id: item for item in entry.action_items}
    kept: list[ActionItem] = []
    for position, data in enumerate(items):
        item = existing.get(data.id) if data.id is not None else None
        if item is None:
            item = ActionItem(relationship_id=entry.relationship_id)
        was_done = item.done
        item.position, item.text = position, data.text.strip()
        item.owner_id, item.due_on, item.done = data.owner_id, data.due_on, bool(data.done)
        if item.done and not was_done:
            item.done_at, item.done_by_id = utcnow(), person_id
        elif not item.done:
            item.done_at = item.done_by_id = None
        kept.append(item)
    entry.action_items = kept


def _snapshot(session: Session, entry: DiaryEntry, person_id: int) -> DiaryEntryVersion:
    version = DiaryEntryVersion(
        entry_id=entry.id, version=entry.version, edited_by_id=person_id, edited_at=utcnow(),
        kind=entry.kind, visibility=entry.visibility, occurred_on=entry.occurred_on,
        duration_minutes=entry.duration_minutes, title=entry.title, body=entry.body,
        topics=list(entry.topics),
        action_items=[
            {"text": i.text, "owner_id": i.owner_id, "due_on": i.due_on.isoformat() if i.due_on else None,
             "done": i.done}
            for i in entry.action_items
        ],
    )
    session.add(version)
    return version


def _publish(session: Session, access: DiaryAccess) -> None:
    events.publish(
        session,
        events.DomainEvent(
            events.DIARY_CHANGED, programme_id=access.programme.id, relationship_id=access.relationship.id,
            person_ids=tuple(access.relationship.person_ids()),
        ),
    )


def create_entry(
    session: Session, actor: Actor, relationship_id: int, data: EntryInput, *, today: date | None = None
) -> DiaryEntry:
    access = diary_access(session, actor, relationship_id)
    _require_may_write(access, data.visibility)
    fields = _validated(session, access, data, today)
    entry = DiaryEntry(
        relationship_id=relationship_id, author_id=actor.person_id, version=1,
        last_edited_by_id=actor.person_id, **fields,
    )
    session.add(entry)
    _apply_action_items(entry, data.action_items, actor.person_id)
    session.flush()
    _snapshot(session, entry, actor.person_id)
    session.flush()
    _publish(session, access)
    return entry


def stale_version_error(entry: DiaryEntry, based_on: int) -> StaleVersion:
    return StaleVersion(
        f"Someone saved this entry after you opened it (you edited version {based_on}; the saved one is "
        f"version {entry.version}). Nothing was overwritten: compare your text with the saved version, "
        "then save again.",
        details={"current_version": entry.version, "your_version": based_on},
    )


def update_entry(
    session: Session, actor: Actor, entry_id: int, based_on_version: int, data: EntryInput, *,
    today: date | None = None,
) -> DiaryEntry:
    """Save a new version of an entry. ``based_on_version`` is the version the editor was opened on; a
    save based on anything older is refused (``StaleVersion``), never merged or overwritten."""
    entry, access = _load_entry(session, actor, entry_id)
    if not access.can_edit(entry):
        raise PermissionDenied("You cannot edit this entry.")
    _require_open(access)
    if data.visibility == PRIVATE and entry.visibility == SHARED and entry.author_id != actor.person_id:
        raise PermissionDenied("Only its author can make a shared entry private.")
    _require_may_write(access, data.visibility)
    if entry.version != based_on_version:
        raise stale_version_error(entry, based_on_version)
    fields = _validated(session, access, data, today)
    meeting_facts = (entry.kind, entry.occurred_on, entry.duration_minutes, entry.visibility)
    for name, value in fields.items():
        setattr(entry, name, value)
    if (entry.kind, entry.occurred_on, entry.duration_minutes, entry.visibility) != meeting_facts:
        # The other member confirmed a meeting as it was described then, not as it is now.
        entry.confirmed_at = entry.confirmed_by_id = None
    _apply_action_items(entry, data.action_items, actor.person_id)
    entry.version = based_on_version + 1
    entry.last_edited_by_id = actor.person_id
    try:
        # The UPDATE carries "AND version = <based_on>": a concurrent save that won the race makes it match
        # no row, and this one is refused instead of overwriting.
        session.flush()
    except StaleDataError as exc:
        raise StaleVersion(
            "Someone saved this entry at the same moment. Nothing was overwritten: reload it and save again.",
            details={"your_version": based_on_version},
        ) from exc
    _snapshot(session, entry, actor.person_id)
    session.flush()
    _publish(session, access)
    return entry


def confirm_meeting(session: Session, actor: Actor, entry_id: int) -> DiaryEntry:
    """The other member says the meeting happened as written; completion rules may count only these."""
    entry, access = _load_entry(session, actor, entry_id)
    if entry.kind != MEETING or entry.visibility != SHARED or entry.deleted_at is not None:
        raise RuleViolation("Only a shared meeting entry can be confirmed.")
    if not access.is_member or entry.author_id == actor.person_id:
        raise PermissionDenied("The other person in the relationship confirms a meeting, not its author.")
    if entry.confirmed_at is None:
        entry.confirmed_at, entry.confirmed_by_id = utcnow(), actor.person_id
        session.flush()
        _publish(session, access)
    return entry


def _audit(session: Session, access: DiaryAccess, actor: Actor, action: str, entry: DiaryEntry) -> None:
    session.add(
        AuditEvent(
            registration_id=actor.registration_id, course_id=access.programme.course_id,
            actor_id=actor.person_id, action=action, subject_type="diary_entry", subject_id=entry.id,
            data={"relationship_id": entry.relationship_id},
        )
    )


def delete_entry(session: Session, actor: Actor, entry_id: int) -> DiaryEntry:
    """A soft delete by the author: the entry leaves everyone's diary but its author can restore it."""
    entry, access = _load_entry(session, actor, entry_id)
    if entry.author_id != actor.person_id or not access.is_member:
        raise PermissionDenied("Only its author can delete a diary entry.")
    if entry.deleted_at is None:
        entry.deleted_at, entry.deleted_by_id = utcnow(), actor.person_id
        _audit(session, access, actor, "diary_entry.deleted", entry)
        session.flush()
        _publish(session, access)
    return entry


def restore_entry(session: Session, actor: Actor, entry_id: int) -> DiaryEntry:
    """Undo a delete. Only the author may: a trainer or admin cannot bring back what someone removed."""
    entry = find(session, DiaryEntry, entry_id)
    if entry is None or entry.purged_at is not None:
        raise NotFound("No such diary entry.")
    access = diary_access(session, actor, entry.relationship_id)
    if entry.author_id != actor.person_id:
        if entry.visibility == PRIVATE:
            raise NotFound("No such diary entry.")
        raise PermissionDenied("Only its author can restore a deleted entry.")
    if entry.deleted_at is not None:
        entry.deleted_at = entry.deleted_by_id = None
        _audit(session, access, actor, "diary_entry.restored", entry)
        session.flush()
        _publish(session, access)
    return entry


def purge_entry(session: Session, actor: Actor, entry_id: int) -> DiaryEntry:
    """Erase an entry's content for a privacy request (admins of the platform only, whatever the reading
    rules). The row stays as a tombstone (ids, dates) so the audit trail still makes sense; its words, its
    earlier versions, its action items and goal links are gone for good."""
    entry = find(session, DiaryEntry, entry_id)
    if entry is None:
        raise NotFound("No such diary entry.")
    access = diary_access(session, actor, entry.relationship_id)
    if not access.is_admin:
        raise PermissionDenied("Only an admin of the platform can purge a diary entry.")
    if entry.purged_at is None:
        now = utcnow()
        entry.title, entry.body, entry.topics = "", "", []
        entry.action_items, entry.goals, entry.versions = [], [], []
        entry.deleted_at = entry.deleted_at or now
        entry.deleted_by_id = entry.deleted_by_id or actor.person_id
        entry.purged_at, entry.purged_by_id = now, actor.person_id
        _audit(session, access, actor, "diary_entry.purged", entry)
        session.flush()
        _publish(session, access)
    return entry


def set_action_item_done(session: Session, actor: Actor, item_id: int, done: bool) -> ActionItem:
    """Tick an action item (or untick it) without making a new version of its entry."""
    item = find(session, ActionItem, item_id)
    if item is None:
        raise NotFound("No such action item.")
    entry, access = _load_entry(session, actor, item.entry_id)
    if not access.is_member or entry.deleted_at is not None:
        raise PermissionDenied("Only the people in this relationship tick off its action items.")
    _require_open(access)
    if item.done != done:
        item.done = done
        item.done_at, item.done_by_id = (utcnow(), actor.person_id) if done else (None, None)
        session.flush()
        _publish(session, access)
    return item
