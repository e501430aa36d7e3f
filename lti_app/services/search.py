"""Finding a mentor: full-text search (SQLite FTS5 or PostgreSQL tsvector, one interface) plus filters,
ranked by how well each mentor fits the searcher's goals, with the reasons shown.

Only people enrolled in the programme's course who may mentor there (by role and opt-in, or because the LMS
says they mentor the searcher) and who still have a free place are listed. The candidates are one course's
enrolments, so everything is read in a fixed handful of queries and ranked in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Integer, Subquery, select, text
from sqlalchemy.orm import Session

from lti_app.domain.tags import normalise_tag, normalise_tags
from lti_app.models.person import Enrolment, Person
from lti_app.models.profile import Profile
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.models.relationship import OPEN_STATUSES, Relationship, RelationshipMember
from lti_app.models.search_index import ensure_index
from lti_app.services.capacity import effective_capacity, is_lms_mentor_of, may_mentor, mentor_loads
from lti_app.services.programmes import get_programme

MAX_TERMS = 12
_WORD = re.compile(r"\w+", re.UNICODE)

_SQLITE_MATCH = (
    "SELECT rowid AS person_id, -bm25(profile_search, 4.0, 2.0, 1.0) AS rank "
    "FROM profile_search WHERE profile_search MATCH :query"
)
_PG_MATCH = (
    "SELECT person_id, ts_rank(document, to_tsquery('english', :query)) AS rank "
    "FROM profile_search WHERE document @@ to_tsquery('english', :query)"
)
# The index holds every platform's people: a search within a course reads its active enrolments' rows only,
# so the work (and what reaches Python) follows the course's size, not the installation's.
_IN_COURSE = (
    " AND {key} IN (SELECT person_id FROM enrolment WHERE course_id = :course_id AND status = 'active')"
)


def terms(query: str | None) -> list[str]:
    """Words of a search box, safe for either database's query syntax (operators and quotes dropped)."""
    words = [w.casefold() for w in _WORD.findall(query or "") if w.strip("_")]
    return list(dict.fromkeys(words))[:MAX_TERMS]


def match_query(
    session: Session, words: list[str], *, any_word: bool = False, course_id: int | None = None
) -> Subquery | None:
    """A subquery of ``(person_id, rank)`` for people whose profile matches the words (all of them, or any
    with ``any_word``), prefix-matched and stemmed; higher rank is better. With ``course_id``, only people
    actively enrolled in that course. None when there is nothing to match. Ranks compare within one result,
    not across databases."""
    if not words:
        return None
    ensure_index(session.connection())
    if session.get_bind().dialect.name == "postgresql":
        query = (" | " if any_word else " & ").join(f"{w}:*" for w in words)
        sql, key = _PG_MATCH, "person_id"
    else:
        query = (" OR " if any_word else " AND ").join(f'"{w}"*' for w in words)
        sql, key = _SQLITE_MATCH, "rowid"
    params: dict[str, object] = {"query": query}
    if course_id is not None:
        sql += _IN_COURSE.format(key=key)
        params["course_id"] = course_id
    statement = text(sql).bindparams(**params)
    return statement.columns(person_id=Integer, rank=Float).subquery()


def ranked_people(
    session: Session,
    query: str,
    *,
    any_word: bool = False,
    limit: int = 50,
    course_id: int | None = None,
) -> dict[int, float]:
    """Person ids matching a free-text query with their rank (the generic entry point for other features);
    with ``course_id``, among that course's active enrolments only."""
    sub = match_query(session, terms(query), any_word=any_word, course_id=course_id)
    if sub is None:
        return {}
    rows = session.execute(select(sub.c.person_id, sub.c.rank).order_by(sub.c.rank.desc()).limit(limit))
    return {int(pid): float(rank) for pid, rank in rows}


@dataclass(frozen=True)
class MentorFilters:
    text: str = ""
    skill: str = ""
    interest: str = ""
    language: str = ""
    location: str = ""
    department: str = ""
    availability: str = ""
    limit: int = 20
    offset: int = 0

    @property
    def active(self) -> bool:
        return any(
            (
                self.text,
                self.skill,
                self.interest,
                self.language,
                self.location,
                self.department,
                self.availability,
            )
        )


@dataclass
class MentorMatch:
    person: Person
    profile: Profile | None
    capacity: int
    load: int
    score: float
    reasons: list[str] = field(default_factory=list)
    lms_mentor: bool = False
    open_relationship_id: int | None = None

    @property
    def free_places(self) -> int:
        return max(self.capacity - self.load, 0)


@dataclass
class MentorSearch:
    programme: Programme
    filters: MentorFilters
    results: list[MentorMatch]
    total: int


def search_mentors(session: Session, actor: Any, programme_id: int, filters: MentorFilters) -> MentorSearch:
    programme = get_programme(session, actor, programme_id)
    searcher = session.get(Person, actor.person_id)
    own = session.scalar(select(Profile).where(Profile.person_id == actor.person_id))
    rows = session.execute(
        select(Enrolment, Person, Profile, ProgrammeMembership)
        .join(Person, Person.id == Enrolment.person_id)
        .outerjoin(Profile, Profile.person_id == Person.id)
        .outerjoin(
            ProgrammeMembership,
            (ProgrammeMembership.person_id == Person.id) & (ProgrammeMembership.programme_id == programme.id),
        )
        .where(
            Enrolment.course_id == programme.course_id,
            Enrolment.status == "active",
            Person.id != actor.person_id,
        )
    ).all()
    sub = searcher.sub if searcher else ""
    candidates = []
    for enrolment, person, profile, membership in rows:
        lms = is_lms_mentor_of(enrolment.roles, enrolment.mentor_of_subs, sub)
        if (lms or may_mentor(programme, enrolment.roles, membership)) and _passes(filters, profile):
            candidates.append((person, profile, membership, lms))
    loads = mentor_loads(session, programme.id, [c[0].id for c in candidates])
    text_ranks = _ranks(session, terms(filters.text), any_word=False, course_id=programme.course_id)
    if filters.text and text_ranks is not None:
        candidates = [c for c in candidates if c[0].id in text_ranks]
    goal_ranks = _ranks(
        session,
        terms(" ".join([own.goals, *own.skills_wanted]) if own else ""),
        any_word=True,
        course_id=programme.course_id,
    )
    existing = _open_relationships(session, programme.id, actor.person_id)
    found = []
    for person, profile, membership, lms in candidates:
        capacity = effective_capacity(programme, membership, profile.capacity if profile else None)
        load = loads.get(person.id, 0)
        if load >= capacity:
            continue
        score, reasons = _fit(own, profile, lms, person.id, text_ranks, goal_ranks)
        found.append(
            MentorMatch(person, profile, capacity, load, score, reasons, lms, existing.get(person.id))
        )
    found.sort(key=lambda m: (-m.score, -m.free_places, m.person.display_name.casefold()))
    page = found[filters.offset : filters.offset + filters.limit]
    return MentorSearch(programme, filters, page, len(found))


def _passes(filters: MentorFilters, profile: Profile | None) -> bool:
    checks = (
        (filters.skill, "skills"),
        (filters.interest, "interests"),
        (filters.language, "languages"),
    )
    for wanted, attr in checks:
        tag = normalise_tag(wanted) if wanted else ""
        if tag and not (profile and any(tag in t for t in getattr(profile, attr) or ())):
            return False
    for wanted, attr in (
        (filters.location, "location"),
        (filters.department, "department"),
        (filters.availability, "availability"),
    ):
        needle = wanted.strip().casefold()
        if needle and not (profile and needle in (getattr(profile, attr) or "").casefold()):
            return False
    return True


def _ranks(
    session: Session, words: list[str], *, any_word: bool, course_id: int
) -> dict[int, float] | None:
    """Ranks among the course's people, normalised to 0..1 within this result (None when there were no
    words)."""
    sub = match_query(session, words, any_word=any_word, course_id=course_id)
    if sub is None:
        return None
    rows = session.execute(select(sub.c.person_id, sub.c.rank)).all()
    top = max((float(r) for _, r in rows), default=0.0) or 1.0
    return {int(pid): max(float(rank), 0.0) / top for pid, rank in rows}


def _fit(
    own: Profile | None,
    profile: Profile | None,
    lms_mentor: bool,
    person_id: int,
    text_ranks: dict[int, float] | None,
    goal_ranks: dict[int, float] | None,
) -> tuple[float, list[str]]:
    """Score and the reasons behind it: skills the searcher wants that this mentor offers weigh most, then
    how well their profile matches the searcher's goals, shared interests and a common language."""
    score, reasons = 0.0, []
    if lms_mentor:
        score += 1.0
        reasons.append("Your mentor in the LMS")
    offered = set(profile.skills if profile else ())
    wanted = normalise_tags(own.skills_wanted) if own else []
    hits = [s for s in wanted if s in offered]
    if hits:
        score += 3.0 * len(hits) / len(wanted)
        reasons.append("Offers skills you want: " + ", ".join(hits))
    goal = (goal_ranks or {}).get(person_id, 0.0)
    if goal > 0:
        score += 2.0 * goal
        reasons.append("Profile matches your goals")
    shared = [i for i in (own.interests if own else ()) if i in set(profile.interests if profile else ())]
    if shared:
        score += min(len(shared), 3) / 3
        reasons.append("Shares interests: " + ", ".join(shared[:3]))
    tongues = [
        lang for lang in (own.languages if own else ()) if lang in set(profile.languages if profile else ())
    ]
    if tongues:
        score += 0.5
        reasons.append("Speaks " + ", ".join(tongues[:3]))
    score += (text_ranks or {}).get(person_id, 0.0)
    return round(score, 4), reasons


def _open_relationships(session: Session, programme_id: int, person_id: int) -> dict[int, int]:
    """Other person id → an open (pending, active, paused) relationship they share with ``person_id``."""
    mine = select(RelationshipMember.relationship_id).where(RelationshipMember.person_id == person_id)
    rows = session.execute(
        select(RelationshipMember.person_id, Relationship.id)
        .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
        .where(
            Relationship.programme_id == programme_id,
            Relationship.status.in_(OPEN_STATUSES),
            Relationship.id.in_(mine),
            RelationshipMember.person_id != person_id,
        )
    ).all()
    return {pid: rid for pid, rid in rows}
