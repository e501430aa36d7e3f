"""Registers the completion evaluator on the domain events, so every diary, goal, check-in, feedback or
relationship change re-evaluates the people it touches in the same transaction (and queues the outbox row
with it). Imported by ``lti_app.services``: whoever uses a service, the app, the worker or a script, gets it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from lti_app.services import events


def on_domain_event(session: Session, event: events.DomainEvent) -> None:
    # Imported on first use: registering must not load the mentoring services (and their imports) while
    # ``lti_app.services`` itself is still being imported.
    from lti_app.services.completion.tracker import handle_event

    handle_event(session, event)


events.subscribe(on_domain_event)
