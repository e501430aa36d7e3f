"""Admin-led matching through the service, database included: reading the pool, solving, storing the
proposal, opening the review page's data, and publishing.

The pools are the engine benchmark's (``lti_app.matching.synthetic``: mentors a fifth of mentees, capacity
5, eight criteria), written as real profiles, memberships and questionnaire rows, so the totals can be
compared with the engine run alone on the same pool. Each size runs in a fresh process (its own peak RSS).

    python benchmarks/matching_service.py [--sizes 500,2000,10000] [--publish-up-to 2000]
        [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Fixed-offset zones (no daylight saving), so the offsets are the synthetic pool's whatever the date.
ZONES = {
    -8.0: "Etc/GMT+8",
    -5.0: "Etc/GMT+5",
    0.0: "UTC",
    1.0: "Etc/GMT-1",
    2.0: "Etc/GMT-2",
    5.5: "Asia/Kolkata",
    8.0: "Etc/GMT-8",
    10.0: "Etc/GMT-10",
}
CRITERIA = [  # the synthetic criteria, as a trainer would enter them
    ("skills", "complementarity", 10),
    ("goals", "similarity", 5),
    ("department", "similarity", 2),
    ("location", "similarity", 3),
    ("time_zone", "similarity", 6),
    ("languages", "must", 0),
    ("seniority", "complementarity", 4),
    ("line_manager", "must_not", 0),
]


def seed(session: Any, n: int) -> tuple[Any, Any]:
    """A course with a trainer and an admin-led programme of ``n`` mentees and ``n // 5`` mentors."""
    from sqlalchemy import insert

    from lti_app.matching import synthetic
    from lti_app.models.course import Course
    from lti_app.models.matching import MatchingCriterion
    from lti_app.models.person import Enrolment, Person
    from lti_app.models.profile import Profile
    from lti_app.models.programme import Programme, ProgrammeMembership
    from lti_app.models.registration import Registration
    from lti_app.services.access import Actor

    registration = Registration(
        issuer="https://lms.bench",
        client_id=uuid.uuid4().hex,
        auth_login_url="x",
        auth_token_url="x",
        key_set_url="x",
    )
    course = Course(registration=registration, context_id="1", title="Bench")
    trainer = Person(registration=registration, sub="trainer", name="Trainer")
    programme = Programme(
        course=course,
        title="Bench",
        model="one_to_one",
        default_capacity=5,
        matching_mode="admin_led",
        mentor_requires_opt_in=True,
    )
    session.add_all([registration, course, trainer, programme])
    session.flush()
    session.add(Enrolment(course_id=course.id, person_id=trainer.id, roles=["trainer"]))
    session.add_all(
        MatchingCriterion(programme_id=programme.id, position=i, source="profile", field=f, kind=k, weight=w)
        for i, (f, k, w) in enumerate(CRITERIA)
    )
    mentees, mentors = synthetic.pool(n, n // 5, 5, seed=0)
    people, enrolments, profiles, memberships = [], [], [], []
    for index, (p, is_mentor) in enumerate([(m, False) for m in mentees] + [(m, True) for m in mentors]):
        pid = trainer.id + 1 + index
        a = p.attributes
        people.append({"id": pid, "registration_id": registration.id, "sub": f"s{pid}", "name": f"P{pid}"})
        enrolments.append({"course_id": course.id, "person_id": pid, "roles": ["participant"]})
        profiles.append(
            {
                "person_id": pid,
                "skills": a.get("skills_offered", []),
                "skills_wanted": a.get("skills_wanted", []),
                "goals": ", ".join(a["goals"]),
                "department": a["department"],
                "location": a["location"] or "",
                "time_zone": ZONES[a["timezone_offset"]],
                "languages": a["languages"],
                "seniority": a["seniority"],
                "line_manager": a["line_manager"],
            }
        )
        memberships.append(
            {
                "programme_id": programme.id,
                "person_id": pid,
                "open_to_mentor": is_mentor,
                "open_to_be_mentored": not is_mentor,
                "answers": {},
            }
        )
    for model, rows in (
        (Person, people),
        (Enrolment, enrolments),
        (Profile, profiles),
        (ProgrammeMembership, memberships),
    ):
        session.execute(insert(model), rows)
    session.commit()
    actor = Actor(trainer.id, registration.id, course.id, frozenset({"trainer"}))
    return programme.id, actor


def child(n: int, database_url: str, publish: bool) -> dict[str, Any]:
    from config.settings import Settings
    from lti_app import create_app
    from lti_app.extensions import db
    from lti_app.matching import MatchProblem, solve, synthetic
    from lti_app.services import matching

    settings = Settings(
        env="development",
        database_url=database_url,
        log_level="WARNING",
        demo_enabled=False,
        secret_key="benchmark-secret-key-0123456789abcdef",
        instance_dir=Path(tempfile.gettempdir()),
    )
    app = create_app(settings)
    with app.app_context():
        db.drop_all()
        db.create_all()
        programme_id, actor = seed(db.session, n)
        started = time.perf_counter()
        run = matching.run_matching(db.session, actor, programme_id)
        db.session.commit()
        run_s = time.perf_counter() - started
        started = time.perf_counter()
        matching.review(db.session, actor, programme_id, run.id)
        review_s = time.perf_counter() - started
        publish_s = None
        if publish:
            started = time.perf_counter()
            matching.publish(db.session, actor, programme_id, run.id)
            db.session.commit()
            publish_s = time.perf_counter() - started
        mentees, mentors = synthetic.pool(n, n // 5, 5, seed=0)
        engine = solve(MatchProblem(mentees, mentors, synthetic.criteria()), solver=run.params["solver"])
        result = {
            "n": n,
            "run_s": run_s,
            "timings": run.timings,
            "solver": run.solver,
            "matched": run.matched_count,
            "total": run.total_score,
            "engine_total": engine.total_score,
            "review_s": review_s,
            "publish_s": publish_s,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        db.session.remove()
        db.engine.dispose()
    return result


def run(n: int, url: str, publish: bool) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", str(n), "--database-url", url] + (
        ["--publish"] if publish else []
    )
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="500,2000,10000")
    parser.add_argument("--publish-up-to", type=int, default=2000, help="largest pool to publish too")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--publish", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(options.child, options.database_url, options.publish)))
        return
    from benchmarks.roster_sync import drop_postgres, scratch_postgres

    scratch = None
    with tempfile.TemporaryDirectory() as tmp:
        if options.database_url.startswith("postgresql"):
            scratch, url = scratch_postgres(options.database_url)
            label = "PostgreSQL (scratch database)"
        else:
            url, label = f"sqlite:///{Path(tmp) / 'matching.sqlite'}", "SQLite (temporary file)"
        try:
            print(f"Matching through the service, {label}")
            header = (
                f"{'mentees':>8} {'solver':<17} {'load s':>7} {'score s':>8} {'solve s':>8} {'run s':>7} "
                f"{'review s':>9} {'publish s':>10} {'matched':>8} {'vs engine':>10} {'RSS MB':>7}"
            )
            print(header)
            print("-" * len(header))
            for n in (int(x) for x in options.sizes.split(",") if x.strip()):
                r = run(n, url, n <= options.publish_up_to)
                t = r["timings"]
                publish = f"{r['publish_s']:>10.2f}" if r["publish_s"] is not None else f"{'-':>10}"
                ratio = r["total"] / r["engine_total"] if r["engine_total"] else 1.0
                print(
                    f"{n:>8} {r['solver']:<17} {t['loading_s']:>7.2f} {t['scoring_s']:>8.2f} "
                    f"{t['solving_s']:>8.2f} {r['run_s']:>7.2f} {r['review_s']:>9.2f} {publish} "
                    f"{r['matched']:>8} {ratio:>10.4%} {r['rss_mb']:>7.0f}"
                )
            print("run s: the service call and commit (reading the pool, scoring, solving, storing)")
        finally:
            if scratch is not None:
                drop_postgres(options.database_url, scratch)


if __name__ == "__main__":
    main()
