"""Admin-led matching at programme scale: scoring, solving and memory, against the exact solver.

Each pool is synthetic and seeded (mentors a fifth of mentees, capacity 5, eight criteria of every kind).
Every run happens in a fresh process so that its peak resident memory is its own. Timings come from a
plain run; the Python-level peak comes from a second run under tracemalloc, which slows allocation.

    python benchmarks/matching.py [--sizes 500,2000,10000] [--k 30] [--seed 0] [--exact-up-to 2000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tracemalloc
from typing import Any, cast

import numpy as np

from lti_app.matching import MatchProblem, solve, synthetic
from lti_app.matching.dense import slot_cells
from lti_app.matching.solver import DENSE_LIMIT, SolverChoice

CAPACITY = 5
TARGETS = {2_000: (2.0, None), 10_000: (15.0, 2048.0)}  # mentees: (seconds, resident MB)


def child(n: int, solver: SolverChoice, k: int, seed: int) -> dict[str, Any]:
    mentees, mentors = synthetic.pool(n, n // 5, CAPACITY, seed=seed)
    problem = MatchProblem(mentees, mentors, synthetic.criteria())
    result = solve(problem, solver=solver, candidate_k=k)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    solve(problem, solver=solver, candidate_k=k)
    py_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "solver": result.solver,
        "scoring": result.timings.scoring_s,
        "solving": result.timings.solving_s,
        "total": result.timings.total_s,
        "py_peak": py_peak_mb,
        "rss": rss_mb,
        "matched": len(result.pairs),
        "score": result.total_score,
        "proven": result.proven_optimal,
    }


def run(n: int, solver: str, k: int, seed: int) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", f"{n},{solver},{k},{seed}"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out))


def main() -> None:
    layout = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=layout)
    parser.add_argument("--sizes", default="500,2000,10000", help="comma-separated mentee counts")
    parser.add_argument("--k", type=int, default=30, help="candidate mentors per mentee (sparse solver)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exact-up-to", type=int, default=2000, help="largest pool to solve exactly too")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        n, solver, k, seed = args.child.split(",")
        print(json.dumps(child(int(n), cast(SolverChoice, solver), int(k), int(seed))))
        return

    header = f"{'mentees':>8} {'mentors':>8} {'solver':<24} {'scoring s':>9} {'solving s':>9} {'total s':>8}"
    header += f" {'py peak MB':>10} {'RSS MB':>7} {'matched':>8} {'vs exact':>9}"
    print(header)
    print("-" * len(header))
    verdicts = []
    for n in (int(s) for s in args.sizes.split(",")):
        auto = "dense" if slot_cells(n, np.full(n // 5, CAPACITY)) <= DENSE_LIMIT else "sparse"
        solvers = ["dense", "sparse"] if n <= args.exact_up_to else ["sparse"]
        rows = {s: run(n, s, args.k, args.seed) for s in solvers}
        exact = rows["dense"]["score"] if "dense" in rows else None
        for s, row in rows.items():
            name = f"{row['solver']}{' (auto)' if s == auto else ''}"
            rel = f"{row['score'] / exact:.5f}" if exact else "n/a"
            print(
                f"{n:>8} {n // 5:>8} {name:<24} {row['scoring']:>9.3f} {row['solving']:>9.3f}"
                f" {row['total']:>8.3f} {row['py_peak']:>10.0f} {row['rss']:>7.0f}"
                f" {row['matched']:>8} {rel:>9}"
            )
        if n in TARGETS:
            seconds, mb = TARGETS[n]
            chosen = rows[auto]
            ok = chosen["total"] < seconds and (mb is None or chosen["rss"] < mb)
            limit = f"< {seconds:g} s" + (f" and < {mb:g} MB" if mb else "")
            figures = f"{chosen['total']:.2f} s, {chosen['rss']:.0f} MB"
            verdicts.append(f"{n} mentees: {figures} ({limit}): {'met' if ok else 'MISSED'}")
    for line in verdicts:
        print("target", line)


if __name__ == "__main__":
    main()
