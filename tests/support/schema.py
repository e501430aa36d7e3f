"""Schema helpers for tests: build once per run, empty between tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text


def empty_all_tables(db: Any) -> None:
    from lti_app.models.base import extra_tables

    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for table in reversed(tables):
                conn.execute(text(f'DELETE FROM "{table}"'))
            conn.execute(text("PRAGMA foreign_keys=ON"))
        for table in extra_tables(conn.dialect.name):
            conn.execute(text(f'DELETE FROM "{table}"'))
