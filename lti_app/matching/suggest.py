"""Suggestions for self-selection: one mentee's best mentors, with the reasons, for them to choose from.

Scored one pair at a time with the exact scorer: a single mentee against a programme's mentors is small,
and every suggestion needs its breakdown anyway.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from lti_app.matching.criteria import Criterion, Participant, ParticipantId
from lti_app.matching.pair import SCORE_SLACK, score_pair
from lti_app.matching.result import Suggestion


def suggest(
    mentee: Participant,
    mentors: Sequence[Participant],
    criteria: Sequence[Criterion],
    n: int = 5,
    *,
    exclude: Collection[ParticipantId] = (),
    min_score: float = 0.0,
) -> list[Suggestion]:
    """The ``n`` best feasible mentors with an open slot, best first; ties keep the mentors' order.

    ``exclude`` is for mentors the mentee already works with, has asked, or was declined by.
    """
    found = []
    for mentor in mentors:
        if mentor.capacity <= 0 or mentor.id in exclude or mentor.id == mentee.id:
            continue
        scored = score_pair(criteria, mentee, mentor)
        if scored.feasible and scored.score >= min_score - SCORE_SLACK:
            found.append(Suggestion(mentor.id, scored.score, scored.breakdown, mentor.capacity))
    found.sort(key=lambda s: -s.score)
    return found[: max(n, 0)]
