"""The full-text index over people and their profiles: SQLite FTS5 or a PostgreSQL tsvector table.

Neither fits the ORM, so the table is made by raw DDL when the metadata is created (and listed in
``EXTRA_TABLES`` so tests empty it and migrations leave it alone; a migration runs ``SEARCH_DDL``). It is
kept in sync by an ``after_flush`` hook: whoever changes a profile or a person's name (a form, the API, a
launch, a roster sync), the index follows in the same transaction. Queries go through
``lti_app.services.search``.

Three weighted parts on both databases, so ranks agree in spirit: strong (headline, skills), medium
(interests, languages, location, department), weak (name, bio, goals, availability).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, event, select, text
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm import attributes as orm_attributes

from lti_app.models.base import EXTRA_TABLES, Base
from lti_app.models.person import Person
from lti_app.models.profile import Profile

INDEX_TABLE = "profile_search"
# PostgreSQL text-search configuration ('english', written into the statements below); SQLite uses the
# Porter stemmer, its closest match.
PG_CONFIG = "english"

SEARCH_DDL: dict[str, list[str]] = {
    "sqlite": [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {INDEX_TABLE} USING fts5("
        "strong, medium, weak, tokenize = 'porter unicode61 remove_diacritics 2')"
    ],
    "postgresql": [
        f"CREATE TABLE IF NOT EXISTS {INDEX_TABLE} ("
        "person_id integer PRIMARY KEY REFERENCES person (id) ON DELETE CASCADE, "
        "document tsvector NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS ix_{INDEX_TABLE}_document ON {INDEX_TABLE} USING gin (document)",
    ],
}
SEARCH_DROP: dict[str, list[str]] = {
    "sqlite": [f"DROP TABLE IF EXISTS {INDEX_TABLE}"],
    "postgresql": [f"DROP TABLE IF EXISTS {INDEX_TABLE}"],
}

for _names in EXTRA_TABLES.values():
    if INDEX_TABLE not in _names:
        _names.append(INDEX_TABLE)

_PROFILE_FIELDS = (
    "headline",
    "skills",
    "interests",
    "languages",
    "location",
    "department",
    "bio",
    "goals",
    "availability",
)
_PERSON_FIELDS = ("name", "given_name", "family_name")


@event.listens_for(Base.metadata, "after_create")
def _create_index(target: Any, connection: Connection, **_kw: Any) -> None:
    for statement in SEARCH_DDL.get(connection.dialect.name, []):
        connection.execute(text(statement))


@event.listens_for(Base.metadata, "before_drop")
def _drop_index(target: Any, connection: Connection, **_kw: Any) -> None:
    # Before the ORM tables: on PostgreSQL the index references person.
    for statement in SEARCH_DROP.get(connection.dialect.name, []):
        connection.execute(text(statement))


def _join(values: Iterable[Any]) -> str:
    return " ".join(str(v) for v in values if v)


def document_parts(row: Any) -> tuple[str, str, str]:
    """(strong, medium, weak) text for one person; the profile columns are None when there is none."""
    name = row.name or _join((row.given_name, row.family_name))
    if row.profile_id is None:
        return "", "", name
    strong = _join([row.headline or "", *(row.skills or [])])
    medium = _join([*(row.interests or []), *(row.languages or []), row.location, row.department])
    weak = _join([name, row.bio, row.goals, row.availability])
    return strong, medium, weak


# Statements are literals (the table and configuration names are constants), values always bound.
_PG_UPSERT = text(
    "INSERT INTO profile_search (person_id, document) VALUES (:id, "
    "setweight(to_tsvector('english', :a), 'A') || setweight(to_tsvector('english', :b), 'B') || "
    "setweight(to_tsvector('english', :c), 'C')) "
    "ON CONFLICT (person_id) DO UPDATE SET document = EXCLUDED.document"
)
_PG_DELETE = text("DELETE FROM profile_search WHERE person_id = :id")
_SQLITE_DELETE = text("DELETE FROM profile_search WHERE rowid = :id")
_SQLITE_INSERT = text("INSERT INTO profile_search (rowid, strong, medium, weak) VALUES (:id, :a, :b, :c)")

_ready: set[str] = set()


def ensure_index(connection: Connection) -> None:
    """Create the index if this database lacks it (a schema built by migrations that do not create it).

    Remembered per database only once it existed before this call: a table created here belongs to the
    current transaction and would vanish with a rollback, so the next call looks again (one cheap query).
    """
    key = connection.engine.url.render_as_string(hide_password=True)
    if key in _ready:
        return
    if connection.dialect.name == "postgresql":
        exists = connection.scalar(text("SELECT to_regclass('profile_search') IS NOT NULL"))
    else:
        found = connection.scalar(text("SELECT 1 FROM sqlite_master WHERE name = 'profile_search'"))
        exists = found is not None
    if exists:
        _ready.add(key)
        return
    for statement in SEARCH_DDL.get(connection.dialect.name, []):
        connection.execute(text(statement))


def reindex(connection: Connection, person_ids: Iterable[int]) -> int:
    """Rebuild the index rows of these people from the database; returns how many were written."""
    ids = sorted({int(i) for i in person_ids})
    if not ids:
        return 0
    ensure_index(connection)
    rows = connection.execute(
        select(
            Person.id,
            Person.name,
            Person.given_name,
            Person.family_name,
            Profile.id.label("profile_id"),
            *(getattr(Profile, f) for f in _PROFILE_FIELDS),
        )
        .outerjoin(Profile, Profile.person_id == Person.id)
        .where(Person.id.in_(ids))
    ).all()
    docs = [{"id": row.id, **dict(zip(("a", "b", "c"), document_parts(row), strict=True))} for row in rows]
    found = {d["id"] for d in docs}
    gone = [i for i in ids if i not in found]
    if connection.dialect.name == "postgresql":
        if docs:
            connection.execute(_PG_UPSERT, docs)
        if gone:
            connection.execute(_PG_DELETE, [{"id": i} for i in gone])
        return len(docs)
    connection.execute(_SQLITE_DELETE, [{"id": i} for i in ids])
    if docs:
        connection.execute(_SQLITE_INSERT, docs)
    return len(docs)


def reindex_all(connection: Connection, batch: int = 1000) -> int:
    """Rebuild the whole index (``tandem search reindex``), in batches so memory stays flat."""
    ensure_index(connection)
    total, last = 0, 0
    while True:
        query = select(Person.id).where(Person.id > last).order_by(Person.id).limit(batch)
        ids = connection.scalars(query).all()
        if not ids:
            return total
        total += reindex(connection, ids)
        last = ids[-1]


def _changed(obj: Any, fields: tuple[str, ...]) -> bool:
    state = orm_attributes.instance_state(obj)
    return any(state.attrs[f].history.has_changes() for f in fields)


def _touched_people(session: Session) -> set[int]:
    ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Person):
            ids.add(obj.id)
        elif isinstance(obj, Profile):
            ids.add(obj.person_id)
    for obj in session.dirty:
        if isinstance(obj, Person) and _changed(obj, _PERSON_FIELDS):
            ids.add(obj.id)
        elif isinstance(obj, Profile) and _changed(obj, _PROFILE_FIELDS + ("person_id",)):
            ids.add(obj.person_id)
    for obj in session.deleted:
        if isinstance(obj, Person):
            ids.add(obj.id)
        elif isinstance(obj, Profile):
            ids.add(obj.person_id)
    return {i for i in ids if i is not None}


@event.listens_for(Session, "after_flush")
def _keep_index_in_sync(session: Session, _flush: UOWTransaction) -> None:
    ids = _touched_people(session)
    if ids:
        reindex(session.connection(), ids)
