"""What the matcher hands back: pairs with their reasons, the unmatched with theirs, and how it was solved."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from lti_app.matching.criteria import Kind, ParticipantId


@dataclass(frozen=True)
class BreakdownItem:
    """One criterion's share of a pair's score: ``points`` out of ``out_of``; all ``out_of`` sum to 100."""

    key: str
    label: str
    kind: Kind
    value: float  # the criterion's measure in [0, 1]
    points: float
    out_of: float

    def display(self) -> str:
        """E.g. "skills 40/50"; rounding is for people only, the floats stay exact."""
        return f"{self.label} {self.points:.0f}/{self.out_of:.0f}"


@dataclass(frozen=True)
class PairScore:
    """The exact evaluation of one mentee-mentor pair."""

    feasible: bool
    score: float
    breakdown: tuple[BreakdownItem, ...]
    violations: tuple[str, ...] = ()  # labels of the must / must-not criteria that rule the pair out


@dataclass(frozen=True)
class MatchedPair:
    mentee_id: ParticipantId
    mentor_id: ParticipantId
    score: float
    breakdown: tuple[BreakdownItem, ...]
    fixed: bool = False  # placed by the trainer rather than chosen by the optimiser


class UnmatchedReason(StrEnum):
    NO_FEASIBLE_MENTOR = "no_feasible_mentor"  # every mentor is ruled out by must / must-not / forbidden
    BELOW_MINIMUM = "below_minimum"  # feasible mentors exist but all score below the minimum
    CAPACITY_USED = "capacity_used"  # a good-enough mentor exists, but their slots went to others


@dataclass(frozen=True)
class Unmatched:
    mentee_id: ParticipantId
    reason: UnmatchedReason


class ConflictReason(StrEnum):
    UNKNOWN_MENTEE = "unknown_mentee"
    UNKNOWN_MENTOR = "unknown_mentor"
    DUPLICATE_MENTEE = "duplicate_mentee"  # the mentee already has a fixed mentor in this run
    FORBIDDEN = "forbidden"  # the same pair is also forbidden or already active
    INFEASIBLE = "infeasible"  # a must / must-not criterion rules the pair out
    NO_CAPACITY = "no_capacity"


@dataclass(frozen=True)
class Conflict:
    """A fixed pair that was not honoured; its mentee goes back into the optimised pool."""

    mentee_id: ParticipantId
    mentor_id: ParticipantId
    reason: ConflictReason
    detail: str = ""


@dataclass(frozen=True)
class Timings:
    scoring_s: float = 0.0
    solving_s: float = 0.0
    total_s: float = 0.0


@dataclass(frozen=True)
class MatchResult:
    """The assignment with everything a trainer needs to trust or override it.

    ``proven_optimal_for_candidates`` is True when the solver finished on the candidate set it was given;
    ``candidates_complete`` is True when that set held every eligible pair (always for the dense solver,
    and for the sparse one when no mentee had more than ``candidate_k`` eligible mentors). Both together
    mean the answer is the proven optimum of the whole problem.
    """

    pairs: tuple[MatchedPair, ...]
    unmatched: tuple[Unmatched, ...]
    conflicts: tuple[Conflict, ...]
    total_score: float
    solver: str  # "dense-lsa" | "sparse-bipartite"
    proven_optimal_for_candidates: bool
    candidates_complete: bool
    candidate_k: int | None
    timings: Timings = field(default_factory=Timings)

    @property
    def proven_optimal(self) -> bool:
        return self.proven_optimal_for_candidates and self.candidates_complete

    def mentor_of(self, mentee_id: ParticipantId) -> ParticipantId | None:
        return next((p.mentor_id for p in self.pairs if p.mentee_id == mentee_id), None)


@dataclass(frozen=True)
class Suggestion:
    mentor_id: ParticipantId
    score: float
    breakdown: tuple[BreakdownItem, ...]
    remaining_capacity: int
