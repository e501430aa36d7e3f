"""The diary's access rules as a truth table, without a database: ``DiaryAccess`` decides from the
relationship, the programme's rule columns and who is asking."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lti_app.services.diary import DiaryAccess

AUTHOR, OTHER, TRAINER, ADMIN = 1, 2, 3, 4


def access(
    who: int,
    *,
    writers: str = "both",
    trainers_read: bool = False,
    admins_read: bool = False,
    status: str = "active",
) -> DiaryAccess:
    programme: Any = SimpleNamespace(
        diary_writers=writers, diary_readable_by_trainers=trainers_read, diary_readable_by_admins=admins_read
    )
    relationship: Any = SimpleNamespace(status=status, person_ids=lambda role=None: [AUTHOR, OTHER])
    role = {AUTHOR: "mentee", OTHER: "mentor"}.get(who)
    return DiaryAccess(relationship, programme, who, role, is_trainer=who == TRAINER, is_admin=who == ADMIN)


def entry(visibility: str = "shared", *, deleted: bool = False, purged: bool = False) -> Any:
    return SimpleNamespace(
        visibility=visibility,
        author_id=AUTHOR,
        deleted_at=1 if deleted else None,
        purged_at=1 if purged else None,
    )


@pytest.mark.parametrize("trainers_read", [False, True])
@pytest.mark.parametrize("admins_read", [False, True])
def test_read_matrix(trainers_read: bool, admins_read: bool) -> None:
    def reads(who: int, e: Any) -> bool:
        return access(who, trainers_read=trainers_read, admins_read=admins_read).can_read(e)

    assert [reads(w, entry("private")) for w in (AUTHOR, OTHER, TRAINER, ADMIN)] == [
        True,
        False,
        False,
        False,
    ]
    assert [reads(w, entry("shared")) for w in (AUTHOR, OTHER, TRAINER, ADMIN)] == [
        True,
        True,
        trainers_read,
        admins_read,
    ]
    assert [reads(w, entry(deleted=True)) for w in (AUTHOR, OTHER, TRAINER, ADMIN)] == [
        True,
        False,
        False,
        False,
    ]
    assert not reads(AUTHOR, entry(deleted=True, purged=True))


def test_writers_rule() -> None:
    assert (
        access(AUTHOR, writers="mentee").writes_shared and not access(OTHER, writers="mentee").writes_shared
    )
    assert (
        access(OTHER, writers="mentor").writes_shared and not access(AUTHOR, writers="mentor").writes_shared
    )
    assert not access(TRAINER, trainers_read=True).writes_shared


def test_edit_rules() -> None:
    assert access(AUTHOR).can_edit(entry("private")) and not access(OTHER).can_edit(entry("private"))
    assert access(OTHER).can_edit(entry("shared"))
    assert not access(OTHER, writers="mentee").can_edit(entry("shared"))
    assert not access(TRAINER, trainers_read=True).can_edit(entry("shared"))
    assert not access(AUTHOR).can_edit(entry(deleted=True))
    assert access(OTHER).can_see_history(entry()) and not access(TRAINER, trainers_read=True).can_see_history(
        entry()
    )


def test_closed_relationships_take_no_new_words() -> None:
    assert access(AUTHOR).relationship_open
    assert not access(AUTHOR, status="completed").relationship_open
