"""Suggestions for self-selection: the mentors the programme's questionnaire rates best for one mentee,
with the reasons, for the mentor search page. The same scores as admin-led matching, so a trainer's
weights mean the same thing in both modes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.errors import ValidationFailed
from lti_app.matching import BreakdownItem, Participant, suggest
from lti_app.models.base import utcnow
from lti_app.models.person import Person
from lti_app.services.access import Actor
from lti_app.services.matching.pool import load_pool
from lti_app.services.programmes import get_programme

MAX_SUGGESTIONS = 50


@dataclass(frozen=True)
class MentorSuggestion:
    person: Person
    score: float
    breakdown: tuple[BreakdownItem, ...]
    free_places: int

    @property
    def reasons(self) -> str:
        """E.g. "skills 40/50, time zone 10/10, languages 0/10"."""
        return ", ".join(item.display() for item in self.breakdown)


def suggest_mentors(
    session: Session, actor: Actor, programme_id: int, n: int = 5, *, now: datetime | None = None
) -> list[MentorSuggestion]:
    """The actor's ``n`` best mentors with a free place, best first; empty when the programme has no
    scoring criteria (then the search page's own ranking is all there is). Mentors the actor already has
    an open relationship with, was declined by, or whom a trainer banned for them are left out."""
    if not 1 <= n <= MAX_SUGGESTIONS:
        raise ValidationFailed(
            f"Ask for 1 to {MAX_SUGGESTIONS} suggestions.", details={"n": ["Out of range."]}
        )
    programme = get_programme(session, actor, programme_id)
    pool = load_pool(session, programme, now=now or utcnow())
    if not any(c.scores for c in pool.criteria):
        return []
    me = Participant(actor.person_id, pool.attributes.get(actor.person_id, {}))
    exclude = {r for e, r in pool.active | pool.forbidden if e == actor.person_id}
    found = suggest(me, pool.mentors, pool.criteria, n, exclude=exclude)
    if not found:
        return []
    people = {
        p.id: p for p in session.scalars(select(Person).where(Person.id.in_([s.mentor_id for s in found])))
    }
    return [
        MentorSuggestion(people[int(s.mentor_id)], s.score, s.breakdown, s.remaining_capacity)
        for s in found
        if int(s.mentor_id) in people
    ]
