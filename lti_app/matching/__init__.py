"""Mentor matching: questionnaire criteria in, scored and explained assignments out.

A pure package (no Flask, no database) so it can be tested and benchmarked on its own; the matching
service loads profiles into `Participant` objects, calls `solve` or `suggest`, and stores the result.
"""

from lti_app.matching.criteria import Criterion, FieldType, Kind, Participant, ParticipantId
from lti_app.matching.pair import score_pair
from lti_app.matching.problem import MatchProblem
from lti_app.matching.result import (
    BreakdownItem,
    Conflict,
    ConflictReason,
    MatchedPair,
    MatchResult,
    PairScore,
    Suggestion,
    Timings,
    Unmatched,
    UnmatchedReason,
)
from lti_app.matching.scoring import score_pool
from lti_app.matching.solver import solve
from lti_app.matching.suggest import suggest

__all__ = [
    "BreakdownItem",
    "Conflict",
    "ConflictReason",
    "Criterion",
    "FieldType",
    "Kind",
    "MatchProblem",
    "MatchResult",
    "MatchedPair",
    "PairScore",
    "Participant",
    "ParticipantId",
    "Suggestion",
    "Timings",
    "Unmatched",
    "UnmatchedReason",
    "score_pair",
    "score_pool",
    "solve",
    "suggest",
]
