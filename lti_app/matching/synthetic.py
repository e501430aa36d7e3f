"""Seeded synthetic programmes for benchmarks, tests and demos.

The pools are built to be hard in the way real ones are: a few skills are wanted by many, some mentors
offer them and are everyone's favourite, languages and line managers rule pairs out, and time zones
cluster. Eight criteria of every kind.
"""

from __future__ import annotations

import numpy as np

from lti_app.matching.criteria import Criterion, FieldType, Kind, Participant

SKILLS = [f"skill-{i:02d}" for i in range(80)]
GOALS = ["career", "leadership", "research", "teaching", "balance", "network", "writing", "funding"]
DEPARTMENTS = [f"dept-{i}" for i in range(12)]
LOCATIONS = [f"site-{i}" for i in range(15)]
TIME_ZONES = [-8.0, -5.0, 0.0, 1.0, 2.0, 5.5, 8.0, 10.0]
LANGUAGES = ["en", "fr", "de", "es", "it", "nl", "pt", "pl"]


def criteria() -> list[Criterion]:
    n, s, c = FieldType.NUMBER, FieldType.SET, FieldType.CATEGORY
    return [
        Criterion("skills", "skills", "skills_wanted", Kind.COMPLEMENTARITY, s, 10, "skills_offered"),
        Criterion("goals", "goals", "goals", Kind.SIMILARITY, s, 5),
        Criterion("department", "department", "department", Kind.SIMILARITY, c, 2),
        Criterion("location", "location", "location", Kind.SIMILARITY, c, 3),
        Criterion("timezone", "time zone", "timezone_offset", Kind.SIMILARITY, n, 6, scale=6, period=24),
        Criterion("languages", "languages", "languages", Kind.MUST, s),
        Criterion("seniority", "seniority", "seniority", Kind.COMPLEMENTARITY, n, 4, scale=3),
        Criterion("manager", "line manager", "line_manager", Kind.MUST_NOT, c),
    ]


def pool(n_mentees: int, n_mentors: int, capacity: int = 5, seed: int = 0) -> tuple[list[Participant], ...]:
    """(mentees, mentors); the same seed always gives the same pool."""
    rng = np.random.default_rng(seed)
    skill_p = 1.0 / np.arange(1, len(SKILLS) + 1) ** 0.9
    skill_p /= skill_p.sum()
    lang_p = np.array([0.55, 0.1, 0.1, 0.08, 0.06, 0.05, 0.03, 0.03])
    managers = max(5, (n_mentees + n_mentors) // 15)

    def person(pid: str, mentor: bool) -> Participant:
        n_skills = rng.integers(2, 7) if mentor else rng.integers(1, 5)
        skills = rng.choice(SKILLS, size=n_skills, replace=False, p=skill_p)
        languages = rng.choice(LANGUAGES, size=rng.integers(1, 3), replace=False, p=lang_p)
        attributes = {
            "skills_offered" if mentor else "skills_wanted": [str(x) for x in skills],
            "goals": [str(x) for x in rng.choice(GOALS, size=rng.integers(1, 4), replace=False)],
            "department": str(rng.choice(DEPARTMENTS)),
            "location": str(rng.choice(LOCATIONS)) if rng.random() > 0.05 else None,
            "timezone_offset": float(rng.choice(TIME_ZONES)),
            "languages": [str(x) for x in languages],
            "seniority": int(rng.integers(3, 8) if mentor else rng.integers(1, 5)),
            "line_manager": f"manager-{rng.integers(managers)}",
        }
        return Participant(pid, attributes, capacity if mentor else 1)

    mentees = [person(f"e{i}", False) for i in range(n_mentees)]
    mentors = [person(f"r{i}", True) for i in range(n_mentors)]
    return mentees, mentors
