"""The matching problem as the trainer states it, and the trainer's own decisions applied first.

Fixed pairs are honoured before anything is optimised and consume their mentor's slot. A fixed pair is
kept even when it scores below the minimum (the trainer knows something the questionnaire does not),
but not when a must / must-not criterion rules it out, when it is also forbidden or already active, or
when the mentor has no slot left: those become conflicts and the mentee joins the optimised pool.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from lti_app.matching.criteria import Criterion, Participant, ParticipantId, check_unique
from lti_app.matching.pair import score_pair
from lti_app.matching.result import Conflict, ConflictReason, MatchedPair

PairIds = tuple[ParticipantId, ParticipantId]  # (mentee id, mentor id)


@dataclass(frozen=True)
class MatchProblem:
    """Everything the solver needs.

    ``mentors[i].capacity`` is the number of open slots (capacity or group size minus active
    relationships). ``active`` lists running relationships so the same pair is never proposed again.
    """

    mentees: Sequence[Participant]
    mentors: Sequence[Participant]
    criteria: Sequence[Criterion]
    min_score: float = 0.0
    fixed: Sequence[PairIds] = ()
    forbidden: Collection[PairIds] = ()
    active: Collection[PairIds] = ()


@dataclass
class Prepared:
    """The problem after fixed pairs: who is left to optimise, and the slots still open."""

    fixed: list[MatchedPair] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    pool: list[int] = field(default_factory=list)  # indices into problem.mentees
    capacity: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    forbidden: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 2), np.int64))


def prepare(problem: MatchProblem) -> Prepared:
    check_unique(problem.mentees, "mentee")
    check_unique(problem.mentors, "mentor")
    if not 0 <= problem.min_score <= 100:
        raise ValueError("min_score must be within 0-100")
    mentee_at = {p.id: i for i, p in enumerate(problem.mentees)}
    mentor_at = {p.id: j for j, p in enumerate(problem.mentors)}
    banned = set(problem.forbidden) | set(problem.active)
    prep = Prepared(capacity=np.array([max(0, p.capacity) for p in problem.mentors], dtype=np.int64))
    taken: set[ParticipantId] = set()
    for mentee_id, mentor_id in problem.fixed:
        outcome = _fix(problem, prep, mentee_at, mentor_at, banned, taken, (mentee_id, mentor_id))
        if isinstance(outcome, Conflict):
            prep.conflicts.append(outcome)
            continue
        prep.fixed.append(outcome)
        prep.capacity[mentor_at[mentor_id]] -= 1
        taken.add(mentee_id)
    prep.pool = [i for i, p in enumerate(problem.mentees) if p.id not in taken]
    row_of = {problem.mentees[i].id: r for r, i in enumerate(prep.pool)}
    index_pairs = [(row_of[e], mentor_at[r]) for e, r in banned if e in row_of and r in mentor_at]
    prep.forbidden = np.array(index_pairs, dtype=np.int64).reshape(-1, 2)
    return prep


def _fix(
    problem: MatchProblem,
    prep: Prepared,
    mentee_at: dict[ParticipantId, int],
    mentor_at: dict[ParticipantId, int],
    banned: set[PairIds],
    taken: set[ParticipantId],
    ids: PairIds,
) -> MatchedPair | Conflict:
    """The fixed pair to honour, or the reason it cannot be."""
    mentee_id, mentor_id = ids
    if mentee_id not in mentee_at:
        return Conflict(mentee_id, mentor_id, ConflictReason.UNKNOWN_MENTEE)
    if mentor_id not in mentor_at:
        return Conflict(mentee_id, mentor_id, ConflictReason.UNKNOWN_MENTOR)
    if mentee_id in taken:
        return Conflict(mentee_id, mentor_id, ConflictReason.DUPLICATE_MENTEE)
    if ids in banned:
        return Conflict(mentee_id, mentor_id, ConflictReason.FORBIDDEN)
    j = mentor_at[mentor_id]
    pair = score_pair(problem.criteria, problem.mentees[mentee_at[mentee_id]], problem.mentors[j])
    if not pair.feasible:
        return Conflict(mentee_id, mentor_id, ConflictReason.INFEASIBLE, ", ".join(pair.violations))
    if prep.capacity[j] <= 0:
        return Conflict(mentee_id, mentor_id, ConflictReason.NO_CAPACITY)
    return MatchedPair(mentee_id, mentor_id, pair.score, pair.breakdown, fixed=True)
