"""Roster sync: a course's enrolments brought in line with the LMS's membership list (NRPS 2.0).

Runs outside any launch, from the stored registration and the ``Course.memberships_url`` the last launch
left. Members are read page by page and written in batches: per batch one query reads the people (and
their enrolment in this course) already known, then a constant number of bulk statements insert and
update the rest. So the number of queries grows with the number of batches, never with the number of
members, and memory stays bounded by one page plus one batch whatever the course size.

People the LMS no longer lists, or lists as ``Inactive``/``Deleted`` (NRPS 2.0 member status), get an
inactive enrolment (source ``roster``); nothing of theirs is deleted, so their relationships, diaries and
feedback are still there if they come back. A sync that fails half way never deactivates anyone: only a
roster read to its last page says who is gone.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from lms_clients import LMSHttp, Member, NamesRolesClient, ServiceRegistration, TokenClient
from lti_app.crypto import SecretBox
from lti_app.errors import Conflict
from lti_app.lti.roles import MEMBERSHIP, parse_role, tandem_roles
from lti_app.models.base import utcnow
from lti_app.models.course import Course
from lti_app.models.person import Enrolment, Person
from lti_app.models.registration import Registration
from lti_app.services.keys import signing_key
from lti_app.services.moodle_profiles import ProfileEnricher, enricher_for

logger = logging.getLogger(__name__)

BATCH_SIZE = 200  # members written per batch (one read query, a few bulk writes)
PAGE_LIMIT = 100  # members asked per NRPS page (the platform may send fewer)
ANALYSE_AFTER = 1000  # people added by one sync before PostgreSQL's statistics are refreshed
MAX_ID = 255  # LTI Core §5.3.6: a longer user id is refused, never truncated into someone else's
MAX_ROLES = 100

NO_ROSTER_SERVICE = (
    "The LMS has not offered its roster service (Names and Role Provisioning) for this course. "
    "Enable it for Tandem in the LMS, then open Tandem from the course once."
)
INACTIVE_PLATFORM = "This platform's registration is inactive: its roster cannot be read."
UNSEALABLE = (
    "Profiles were not enriched: the Moodle web service token was sealed with another secret key. "
    "An administrator must enter it again."
)

ACTIVE = "active"
INACTIVE = "inactive"
SOURCE = "roster"

# (person column, Member attribute, length limit)
_PERSON_FIELDS = (
    ("name", "name", 300),
    ("given_name", "given_name", 200),
    ("family_name", "family_name", 200),
    ("email", "email", 320),
    ("picture", "picture", 1000),
    ("lis_person_sourcedid", "lis_person_sourcedid", 255),
)
_NULLABLE = {"email", "picture", "lis_person_sourcedid"}
_ENROLMENT_FIELDS = ("roles", "lti_roles", "status", "source", "last_synced_at")

P = cast(Table, Person.__table__)
E = cast(Table, Enrolment.__table__)


@dataclass
class RosterSummary:
    """What a sync did so far; handed to the progress callback after every batch and at the end."""

    processed: int = 0  # members read from the LMS
    added: int = 0  # new enrolments in the course
    updated: int = 0  # people or enrolments changed (names, roles, reactivated)
    deactivated: int = 0  # enrolments made inactive: listed Inactive/Deleted, or no longer listed
    unchanged: int = 0
    skipped: int = 0  # unusable ids, and people listed as inactive whom Tandem never knew
    enriched: int = 0  # profiles filled from Moodle web services
    notice: str | None = None  # a problem that did not stop the sync (e.g. enrichment unavailable)


ProgressCallback = Callable[[RosterSummary], None]


@dataclass(frozen=True)
class RosterServices:
    """The LMS clients one course's sync needs."""

    nrps: NamesRolesClient
    enricher: ProfileEnricher | None = None
    notice: str | None = None  # why profiles will not be enriched, when they should have been


def roster_services(
    session: Session, registration: Registration, box: SecretBox, http: LMSHttp
) -> RosterServices:
    """NRPS (and, when the admin configured it, Moodle web services) for ``registration``.

    The signing key is read once, here: the roster is read ahead in another thread, which must not use
    this session. A key rotated during the sync stays published for days, so tokens keep coming."""
    if not registration.is_active:
        raise Conflict(INACTIVE_PLATFORM, code="inactive")
    key = signing_key(session, box)
    tokens = TokenClient(
        ServiceRegistration(
            issuer=registration.issuer,
            client_id=registration.client_id,
            token_url=registration.auth_token_url,
            audience=registration.auth_audience,
        ),
        lambda: key,
        http,
    )
    nrps = NamesRolesClient(http, tokens)
    try:
        return RosterServices(nrps, enricher_for(registration, box, http))
    except ValueError:  # sealed under another TANDEM_SECRET_KEY: the roster can still be read
        logger.warning("Moodle web service token of registration %s cannot be opened", registration.id)
        return RosterServices(nrps, None, UNSEALABLE)


def enrolment_count(session: Session, course_id: int) -> int:
    """Active enrolments: the best guess of a roster's size before it is read (NRPS gives no total)."""
    return int(
        session.scalar(
            select(func.count(Enrolment.id))
            .where(Enrolment.course_id == course_id, Enrolment.status == ACTIVE)
        )
        or 0
    )


def sync_course(
    session: Session,
    course: Course,
    services: RosterServices,
    *,
    on_progress: ProgressCallback | None = None,
    batch_size: int = BATCH_SIZE,
    page_limit: int | None = PAGE_LIMIT,
    now: datetime | None = None,
) -> RosterSummary:
    """Read the whole roster of ``course`` and bring its enrolments in line; flushes, never commits.

    ``on_progress`` runs after each batch: the job runner commits there, so a trainer sees progress and
    a failure at page 80 keeps the 79 pages already written.
    """
    if not course.memberships_url:
        raise Conflict(NO_ROSTER_SERVICE, code="no_roster_service")
    # Plain values: the caller may commit between batches, which expires ORM objects.
    course_id, registration_id, url = course.id, course.registration_id, course.memberships_url
    stamp = now or utcnow()
    summary = RosterSummary()
    analysed = False
    members = services.nrps.members(url, limit=page_limit)
    for batch in _read_ahead(_batches(members, batch_size)):
        _sync_batch(session, course_id, registration_id, batch, stamp, summary, services.enricher)
        if not analysed and summary.added >= ANALYSE_AFTER:
            analysed = _refresh_statistics(session)
        if on_progress is not None:
            on_progress(summary)
    summary.deactivated += _deactivate_unlisted(session, course_id, stamp)
    summary.notice = services.notice or (services.enricher.failure if services.enricher else None)
    logger.info(
        "Roster of course %s synced: %d read, %d added, %d updated, %d deactivated, %d unchanged, %d skipped",
        course_id, summary.processed, summary.added, summary.updated, summary.deactivated,
        summary.unchanged, summary.skipped,
    )
    if on_progress is not None:
        on_progress(summary)
    return summary


def _refresh_statistics(session: Session) -> bool:
    """Let PostgreSQL's planner see the people a large first sync is adding.

    Until autovacuum analyses the tables, the planner believes a new platform has next to no people, so
    it looks people up by registration and filters on ``sub``: every batch then reads every person of the
    platform, and a 10,000-member first sync becomes quadratic. A sampled ANALYZE of the two tables takes
    milliseconds and puts the lookup back on the (registration, sub) index. Best effort: a database user
    not allowed to analyse simply keeps the slower plan."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    try:
        with session.begin_nested():
            session.execute(text("ANALYZE person, enrolment"))
    except DBAPIError:
        logger.info("Could not refresh table statistics during roster sync (insufficient privilege?)")
    return True


def _batches(members: Iterable[Member], size: int) -> Iterator[list[Member]]:
    batch: list[Member] = []
    for member in members:
        batch.append(member)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _read_ahead(batches: Iterator[list[Member]]) -> Iterator[list[Member]]:
    """Yield ``batches`` while a thread already reads the next one from the LMS, so the platform's
    answer time and the database writes overlap instead of adding up. One batch waits at most: memory
    stays at three batches (being read, waiting, being written). An error on the LMS side comes out
    here, in the caller's thread; if the caller stops early the reader stops after its current page."""
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put(("batch", batch)):
                    return
            put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
            put(("error", exc))

    reader = threading.Thread(target=read, name="roster-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


# ------------------------------------------------------------------------------------------------ batch


def _sync_batch(
    session: Session,
    course_id: int,
    registration_id: int,
    members: Sequence[Member],
    stamp: datetime,
    summary: RosterSummary,
    enricher: ProfileEnricher | None,
) -> None:
    summary.processed += len(members)
    listed: dict[str, Member] = {}
    for member in members:
        if not member.user_id or len(member.user_id) > MAX_ID:
            summary.skipped += 1
        else:
            listed[member.user_id] = member  # listed twice: the later entry wins
    if not listed:
        return
    known = {
        row.sub: row
        for row in session.execute(
            select(
                P.c.id, P.c.sub, *(P.c[f] for f, _, _ in _PERSON_FIELDS),
                E.c.id.label("enrolment_id"), E.c.roles, E.c.lti_roles, E.c.status,
            )
            .select_from(P.outerjoin(E, (E.c.person_id == P.c.id) & (E.c.course_id == course_id)))
            .where(P.c.registration_id == registration_id, P.c.sub.in_(list(listed)))
        )
    }

    new_people: list[dict[str, Any]] = []
    person_changes: list[dict[str, Any]] = []
    for sub, member in listed.items():
        row = known.get(sub)
        if row is None:
            if member.is_active:  # nobody to deactivate: an inactive stranger is not worth a record
                new_people.append({"registration_id": registration_id, "sub": sub, **_person_values(member)})
            continue
        values = _person_values(member, row)
        if any(values[field] != row._mapping[field] for field, _, _ in _PERSON_FIELDS):
            person_changes.append({"b_id": row.id, **{f"v_{k}": v for k, v in values.items()}})
    person_ids = {sub: row.id for sub, row in known.items()}
    person_ids.update(_insert_people(session, registration_id, new_people))
    if person_changes:
        session.execute(
            update(P)
            .where(P.c.id == bindparam("b_id"))
            .values({f: bindparam(f"v_{f}") for f, _, _ in _PERSON_FIELDS}),
            person_changes,
        )
    changed_people = {change["b_id"] for change in person_changes}

    new_enrolments: list[dict[str, Any]] = []
    enrolment_changes: list[dict[str, Any]] = []
    seen: list[int] = []
    for sub, member in listed.items():
        person_id = person_ids.get(sub)
        if person_id is None:
            summary.skipped += 1
            continue
        row = known.get(sub)
        status = ACTIVE if member.is_active else INACTIVE
        if row is None or row.enrolment_id is None:
            if status == ACTIVE:
                roles, lti_roles = _roles(member, None)
                new_enrolments.append({
                    "course_id": course_id, "person_id": person_id, "roles": roles, "lti_roles": lti_roles,
                    "mentor_of_subs": [], "status": ACTIVE, "source": SOURCE, "last_synced_at": stamp,
                })
            else:
                summary.skipped += 1
            continue
        roles, lti_roles = _roles(member, row.lti_roles)
        if (roles, lti_roles, status) != (list(row.roles or []), list(row.lti_roles or []), row.status):
            enrolment_changes.append(
                {"b_id": row.enrolment_id, "v_roles": roles, "v_lti_roles": lti_roles, "v_status": status,
                 "v_source": SOURCE, "v_last_synced_at": stamp}
            )
            if row.status == ACTIVE and status == INACTIVE:
                summary.deactivated += 1
            else:
                summary.updated += 1
        else:
            seen.append(row.enrolment_id)
            if row.id in changed_people:
                summary.updated += 1
            else:
                summary.unchanged += 1

    summary.added += _insert_enrolments(session, new_enrolments)
    if enrolment_changes:
        session.execute(
            update(E)
            .where(E.c.id == bindparam("b_id"))
            .values({k: bindparam(f"v_{k}") for k in _ENROLMENT_FIELDS}),
            enrolment_changes,
        )
    if seen:
        # Only the sync stamp: ``updated_at`` keeps saying when something last really changed.
        session.execute(
            update(E).where(E.c.id.in_(seen)).values(last_synced_at=stamp, updated_at=E.c.updated_at)
        )
    if enricher is not None:
        active = [(person_ids[sub], sub) for sub, m in listed.items() if m.is_active and sub in person_ids]
        summary.enriched += enricher.enrich(session, active)


def _person_values(member: Member, current: Any = None) -> dict[str, Any]:
    """Person columns from a member. A platform may withhold names or email (privacy settings): a value
    it leaves out keeps what Tandem already has."""
    values: dict[str, Any] = {}
    for field, attr, limit in _PERSON_FIELDS:
        raw = getattr(member, attr)
        text = raw.strip()[:limit] if isinstance(raw, str) else ""
        if field == "name" and not text and (member.given_name or member.family_name):
            text = " ".join(p for p in (member.given_name, member.family_name) if p)[:limit]
        if text:
            values[field] = text
        elif current is not None:
            values[field] = current._mapping[field]
        else:
            values[field] = None if field in _NULLABLE else ""
    return values


def _roles(member: Member, current_lti_roles: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """Tandem roles and LTI roles for a member. NRPS lists context roles only; institution and system
    roles (a platform administrator) come from launches and are kept."""
    lti_roles = list(dict.fromkeys(member.role_uris))[:MAX_ROLES]
    for role in current_lti_roles or ():
        parsed = parse_role(role)
        if parsed is not None and parsed.scope != MEMBERSHIP and role not in lti_roles:
            lti_roles.append(role)
    return tandem_roles(lti_roles), lti_roles


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _insert_people(session: Session, registration_id: int, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert people (a person a concurrent launch inserted first is left as the launch wrote it) and
    read back the ids of everyone inserted.

    A plain executemany rather than INSERT … RETURNING: PostgreSQL drivers then prepare one short statement
    for the whole batch, where a multi-row RETURNING statement is a new, long text to parse each time."""
    if not rows:
        return {}
    now = utcnow()
    for row in rows:
        row.update(created_at=now, updated_at=now)
    statement = _insert(session)(P).on_conflict_do_nothing(index_elements=["registration_id", "sub"])
    session.execute(statement, rows)
    subs = [row["sub"] for row in rows]
    inserted = select(P.c.sub, P.c.id).where(P.c.registration_id == registration_id, P.c.sub.in_(subs))
    return {sub: pid for sub, pid in session.execute(inserted)}


def _insert_enrolments(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert enrolments, leaving any a concurrent launch inserted first as the launch wrote it.

    The count: SQLite reports the rows really inserted; psycopg's pipelined executemany reports none
    (-1), and then every row counts, since a person whose launch won the race was added to the course
    during this sync all the same."""
    if not rows:
        return 0
    now = utcnow()
    for row in rows:
        row.update(created_at=now, updated_at=now)
    statement = _insert(session)(E).on_conflict_do_nothing(index_elements=["course_id", "person_id"])
    inserted = int(session.execute(statement, rows).rowcount)  # type: ignore[attr-defined]
    return inserted if inserted >= 0 else len(rows)


def _deactivate_unlisted(session: Session, course_id: int, stamp: datetime) -> int:
    """Enrolments the roster did not list this time (and no launch touched since the sync began)."""
    result = session.execute(
        update(E)
        .where(
            E.c.course_id == course_id,
            E.c.status == ACTIVE,
            or_(E.c.last_synced_at.is_(None), E.c.last_synced_at < stamp),
        )
        .values(status=INACTIVE, source=SOURCE)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
