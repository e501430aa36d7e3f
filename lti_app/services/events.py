"""Domain events published inside the caller's transaction.

A diary entry, a goal, a check-in, a feedback response or a relationship state change may change someone's
completion; subscribers (the completion evaluator) run synchronously in the same session, so whatever they
write (e.g. an outbox row for grade sync) commits or rolls back together with the change that caused it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

RELATIONSHIP_CHANGED = "relationship.changed"
DIARY_CHANGED = "diary.changed"
GOAL_CHANGED = "goal.changed"
CHECKIN_ANSWERED = "checkin.answered"
FEEDBACK_COMPLETED = "feedback.completed"
PROGRAMME_RULES_CHANGED = "programme.rules_changed"


@dataclass(frozen=True)
class DomainEvent:
    kind: str
    programme_id: int | None = None
    relationship_id: int | None = None
    person_ids: tuple[int, ...] = field(default_factory=tuple)


Subscriber = Callable[[Session, DomainEvent], None]
_subscribers: list[Subscriber] = []


def subscribe(handler: Subscriber) -> Subscriber:
    if handler not in _subscribers:
        _subscribers.append(handler)
    return handler


def publish(session: Session, event: DomainEvent) -> None:
    for handler in list(_subscribers):
        handler(session, event)
