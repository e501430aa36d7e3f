"""The mentoring facts completion conditions read, from the services that own them (diary, goals,
check-ins, 360 feedback), memoised for one evaluation pass so members of one relationship share queries."""

from __future__ import annotations

from sqlalchemy.orm import Session

from lti_app.services.checkins import checkin_answered
from lti_app.services.diary import count_meetings
from lti_app.services.feedback.cycles import after_cycle_completed
from lti_app.services.goals import goal_counts


class DomainMetrics:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._meetings: dict[tuple[int, bool], int] = {}
        self._goals: dict[int, tuple[int, int]] = {}
        self._checkins: dict[tuple[int, int], bool] = {}
        self._feedback: dict[tuple[int, int], bool] = {}

    def meetings(self, relationship_id: int, confirmed_only: bool) -> int:
        key = (relationship_id, confirmed_only)
        if key not in self._meetings:
            self._meetings[key] = count_meetings(self._session, relationship_id, confirmed_only)
        return self._meetings[key]

    def goals(self, relationship_id: int) -> tuple[int, int]:
        """``(achieved, total)`` over the relationship's agreed goals."""
        if relationship_id not in self._goals:
            self._goals[relationship_id] = goal_counts(self._session, relationship_id)
        return self._goals[relationship_id]

    def checkin_answered(self, relationship_id: int, person_id: int) -> bool:
        key = (relationship_id, person_id)
        if key not in self._checkins:
            self._checkins[key] = checkin_answered(self._session, relationship_id, person_id)
        return self._checkins[key]

    def feedback_after_done(self, person_id: int, programme_id: int) -> bool:
        """An "after" 360 cycle about this person in this programme is complete (any of their
        relationships there: the cycle describes the person, not one pairing)."""
        key = (person_id, programme_id)
        if key not in self._feedback:
            self._feedback[key] = after_cycle_completed(self._session, person_id, programme_id=programme_id)
        return self._feedback[key]
