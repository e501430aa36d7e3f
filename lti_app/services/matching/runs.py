"""Running the matcher over a programme's pool and keeping the proposal for the trainer to review.

A run is stored whole (pairs with their breakdowns, the unmatched with their reasons, how it was solved)
so the review page reads it back without solving again, and a rerun after pins and bans is simply a new
run with the same parameters. Only the newest proposal stays open: running again discards the last one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from lti_app.errors import Conflict, NotFound, ValidationFailed
from lti_app.matching import MatchedPair, MatchProblem, MatchResult, solve
from lti_app.matching.solver import CANDIDATE_K, SolverChoice
from lti_app.models.base import utcnow
from lti_app.models.matching import (
    DISCARDED,
    PROPOSED,
    MatchingRun,
    ProposedPair,
    UnmatchedMentee,
)
from lti_app.models.person import Person
from lti_app.services.access import Actor, require_programme_trainer
from lti_app.services.matching.pool import SCOPES, Pool, Scope, load_pool

SOLVERS = ("auto", "dense", "sparse")
UNMATCHED_REASONS = {
    "no_feasible_mentor": "No mentor meets the must / must-not criteria (or every one is forbidden).",
    "below_minimum": "Every possible mentor scores below the minimum score.",
    "capacity_used": "Good-enough mentors exist, but their places went to mentees with fewer alternatives.",
}
CONFLICT_REASONS = {
    "unknown_mentee": "The mentee is not in the pool (matched already, or not looking for a mentor).",
    "unknown_mentor": "The mentor is not available to mentor in this programme.",
    "duplicate_mentee": "The mentee is pinned to another mentor too.",
    "forbidden": "The pair is also forbidden, or already together.",
    "infeasible": "A must / must-not criterion rules the pair out",
    "no_capacity": "The mentor has no free place left.",
}
PAGE_SIZE = 200
UNMATCHED_SHOWN = 500  # a review lists this many unmatched people; the run counts them all


@dataclass(frozen=True)
class RunParams:
    min_score: float = 0.0
    solver: str = "auto"
    candidate_k: int = CANDIDATE_K
    scope: Scope = "unmatched"

    def checked(self) -> RunParams:
        problems: dict[str, list[str]] = {}
        if not 0 <= self.min_score <= 100:
            problems["min_score"] = ["From 0 to 100."]
        if self.solver not in SOLVERS:
            problems["solver"] = [f"One of: {', '.join(SOLVERS)}."]
        if not 1 <= self.candidate_k <= 200:
            problems["candidate_k"] = ["From 1 to 200."]
        if self.scope not in SCOPES:
            problems["scope"] = [f"One of: {', '.join(SCOPES)}."]
        if problems:
            raise ValidationFailed("Some matching settings are invalid.", details=problems)
        return self


@dataclass
class PairRow:
    pair: ProposedPair
    mentee_name: str
    mentor_name: str

    @property
    def reasons(self) -> str:
        return reasons_text(self.pair.breakdown)


@dataclass
class UnmatchedRow:
    unmatched: UnmatchedMentee
    mentee_name: str

    @property
    def reason_text(self) -> str:
        return UNMATCHED_REASONS.get(self.unmatched.reason, self.unmatched.reason)


@dataclass
class RunView:
    run: MatchingRun
    pairs: list[PairRow]
    unmatched: list[UnmatchedRow]
    conflicts: list[dict[str, Any]]
    offset: int = 0
    limit: int = PAGE_SIZE


def reasons_text(breakdown: list[dict[str, Any]]) -> str:
    """The breakdown as a trainer reads it: "skills 40/50, time zone 10/10, languages 0/10"."""
    return ", ".join(f"{b['label']} {b['points']:.0f}/{b['out_of']:.0f}" for b in breakdown or ())


def run_matching(
    session: Session,
    actor: Actor,
    programme_id: int,
    params: RunParams | None = None,
    *,
    now: datetime | None = None,
) -> MatchingRun:
    """Solve the programme's pool now and store the proposal (the previous open one is discarded)."""
    params = (params or RunParams()).checked()
    now = now or utcnow()
    programme = require_programme_trainer(session, actor, programme_id)
    started = time.perf_counter()
    pool = load_pool(session, programme, scope=params.scope, now=now)
    loaded = time.perf_counter() - started
    try:
        result = _solve(pool, params)
    except ValueError as exc:  # e.g. a pin that names a person twice; nothing about anyone is logged
        raise ValidationFailed(f"The matching problem is invalid: {exc}") from exc
    _discard_open(session, programme.id)
    run = _stored(programme.id, actor.person_id, now, params, pool, result, loaded)
    try:
        with session.begin_nested():  # the partial unique index settles two trainers running at once
            session.add(run)
    except IntegrityError as exc:
        raise Conflict("Another trainer is running matching for this programme; try again.") from exc
    # Plain multi-row inserts (no RETURNING): one statement however many pairs a large programme has.
    if result.pairs:
        session.execute(insert(ProposedPair), [_pair_row(run.id, p) for p in result.pairs])
    if result.unmatched:
        session.execute(
            insert(UnmatchedMentee),
            [
                {"run_id": run.id, "mentee_id": int(u.mentee_id), "reason": str(u.reason)}
                for u in result.unmatched
            ],
        )
    return run


def _discard_open(session: Session, programme_id: int) -> None:
    session.execute(
        update(MatchingRun)
        .where(MatchingRun.programme_id == programme_id, MatchingRun.status == PROPOSED)
        .values(status=DISCARDED)
        .execution_options(synchronize_session=False)
    )


def _solve(pool: Pool, params: RunParams) -> MatchResult:
    problem = MatchProblem(
        mentees=pool.mentees,
        mentors=pool.mentors,
        criteria=pool.criteria,
        min_score=params.min_score,
        fixed=pool.fixed,
        forbidden=pool.forbidden,
        active=pool.active,
    )
    solver: SolverChoice = params.solver  # type: ignore[assignment]
    return solve(problem, solver=solver, candidate_k=params.candidate_k)


def _stored(
    programme_id: int,
    person_id: int,
    now: datetime,
    params: RunParams,
    pool: Pool,
    result: MatchResult,
    loading_s: float,
) -> MatchingRun:
    run = MatchingRun(
        programme_id=programme_id,
        status=PROPOSED,
        created_by_id=person_id,
        created_at=now,
        params=asdict(params),
        criteria=[_criterion_json(c) for c in pool.criteria],
        solver=result.solver,
        proven_optimal=result.proven_optimal,
        candidates_complete=result.candidates_complete,
        total_score=result.total_score,
        mentee_count=len(pool.mentees),
        mentor_count=len(pool.mentors),
        matched_count=len(result.pairs),
        unmatched_count=len(result.unmatched),
        timings={
            "loading_s": round(loading_s, 4),
            "scoring_s": round(result.timings.scoring_s, 4),
            "solving_s": round(result.timings.solving_s, 4),
            "total_s": round(result.timings.total_s, 4),
        },
        conflicts=[
            {"mentee_id": c.mentee_id, "mentor_id": c.mentor_id, "reason": str(c.reason), "detail": c.detail}
            for c in result.conflicts
        ],
    )
    return run


def _pair_row(run_id: int, p: MatchedPair) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "mentee_id": int(p.mentee_id),
        "mentor_id": int(p.mentor_id),
        "score": round(p.score, 4),
        "breakdown": [
            {
                "key": b.key,
                "label": b.label,
                "kind": str(b.kind),
                "value": round(b.value, 4),
                "points": round(b.points, 4),
                "out_of": round(b.out_of, 4),
            }
            for b in p.breakdown
        ],
        "pinned": p.fixed,
        "relationship_id": None,
    }


def _criterion_json(c: Any) -> dict[str, Any]:
    return {"key": c.key, "label": c.label, "kind": str(c.kind), "weight": c.weight, "tolerance": c.tolerance}


def load_run(session: Session, actor: Actor, programme_id: int, run_id: int) -> MatchingRun:
    require_programme_trainer(session, actor, programme_id)
    run = session.get(MatchingRun, run_id)
    if run is None or run.programme_id != programme_id:
        raise NotFound("No such matching run.")
    return run


def rerun(
    session: Session, actor: Actor, programme_id: int, run_id: int, *, now: datetime | None = None
) -> MatchingRun:
    """The same settings again, now with the trainer's latest pins and bans."""
    previous = load_run(session, actor, programme_id, run_id)
    p = previous.params or {}
    params = RunParams(
        min_score=float(p.get("min_score", 0.0)),
        solver=str(p.get("solver", "auto")),
        candidate_k=int(p.get("candidate_k", CANDIDATE_K)),
        scope=p.get("scope", "unmatched"),
    )
    return run_matching(session, actor, programme_id, params, now=now)


def discard(session: Session, actor: Actor, programme_id: int, run_id: int) -> MatchingRun:
    run = load_run(session, actor, programme_id, run_id)
    if run.status != PROPOSED:
        raise Conflict(f"This run is already {run.status}.", code="wrong_state")
    run.status = DISCARDED
    session.flush()
    return run


def list_runs(session: Session, actor: Actor, programme_id: int, *, limit: int = 20) -> list[MatchingRun]:
    require_programme_trainer(session, actor, programme_id)
    return list(
        session.scalars(
            select(MatchingRun)
            .where(MatchingRun.programme_id == programme_id)
            .order_by(MatchingRun.created_at.desc(), MatchingRun.id.desc())
            .limit(limit)
        )
    )


def view_run(
    session: Session, actor: Actor, programme_id: int, run_id: int, *, offset: int = 0, limit: int = PAGE_SIZE
) -> RunView:
    """A page of the run's pairs (weakest first, where a trainer's eye is needed) and the first
    ``UNMATCHED_SHOWN`` unmatched, with names, in a fixed number of queries."""
    run = load_run(session, actor, programme_id, run_id)
    mentee, mentor = aliased(Person), aliased(Person)
    pairs = session.execute(
        select(ProposedPair, mentee, mentor)
        .join(mentee, mentee.id == ProposedPair.mentee_id)
        .join(mentor, mentor.id == ProposedPair.mentor_id)
        .where(ProposedPair.run_id == run.id)
        .order_by(ProposedPair.score, ProposedPair.id)
        .offset(offset)
        .limit(limit)
    ).all()
    unmatched = session.execute(
        select(UnmatchedMentee, Person)
        .join(Person, Person.id == UnmatchedMentee.mentee_id)
        .where(UnmatchedMentee.run_id == run.id)
        .order_by(UnmatchedMentee.reason, Person.family_name, Person.given_name, Person.id)
        .limit(UNMATCHED_SHOWN)
    ).all()
    conflicts = _named_conflicts(session, run)
    return RunView(
        run,
        [PairRow(p, e.display_name, r.display_name) for p, e, r in pairs],
        [UnmatchedRow(u, person.display_name) for u, person in unmatched],
        conflicts,
        offset,
        limit,
    )


def _named_conflicts(session: Session, run: MatchingRun) -> list[dict[str, Any]]:
    ids = {c["mentee_id"] for c in run.conflicts or ()} | {c["mentor_id"] for c in run.conflicts or ()}
    names = (
        {p.id: p.display_name for p in session.scalars(select(Person).where(Person.id.in_(list(ids))))}
        if ids
        else {}
    )
    return [
        {
            **c,
            "mentee_name": names.get(c["mentee_id"], "Someone"),
            "mentor_name": names.get(c["mentor_id"], "Someone"),
            "reason_text": (
                CONFLICT_REASONS.get(c["reason"], c["reason"])
                + (f": {c['detail']}" if c.get("detail") else "")
            ),
        }
        for c in run.conflicts or ()
    ]


def proposed_run(session: Session, programme_id: int) -> MatchingRun | None:
    return session.scalar(
        select(MatchingRun).where(MatchingRun.programme_id == programme_id, MatchingRun.status == PROPOSED)
    )


def pair_count(session: Session, run_id: int) -> int:
    return session.scalar(select(func.count(ProposedPair.id)).where(ProposedPair.run_id == run_id)) or 0
