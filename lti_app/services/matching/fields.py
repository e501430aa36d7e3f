"""What a questionnaire criterion can read, and how a person's profile and answers become the attribute
dictionary the matching engine compares.

Profile fields form a fixed catalogue because each needs a measure that makes sense for it: skills are
"wanted by the mentee, offered by the mentor"; time zones are hours on a 24-hour circle; seniority is a
ladder. Programme questions are the trainer's own: single choice compares as one value, multiple choice
as a set of options.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lti_app.domain.tags import normalise_tags
from lti_app.matching import Criterion, FieldType, Kind
from lti_app.models.matching import SOURCE_PROFILE, MatchingCriterion, ProgrammeQuestion
from lti_app.models.profile import Profile


@dataclass(frozen=True)
class ProfileField:
    key: str
    label: str
    description: str
    field_type: FieldType
    mentee_attr: str
    mentor_attr: str
    scale: float = 1.0
    period: float | None = None
    unit: str = ""  # what a tolerance is counted in, for numeric fields

    @property
    def kinds(self) -> tuple[Kind, ...]:
        if self.period is not None:  # "mentor ahead by" means nothing on a circle
            return (Kind.SIMILARITY, Kind.MUST, Kind.MUST_NOT)
        return tuple(Kind)


_SET, _CAT, _NUM = FieldType.SET, FieldType.CATEGORY, FieldType.NUMBER
PROFILE_FIELDS: dict[str, ProfileField] = {
    f.key: f
    for f in (
        ProfileField(
            "skills",
            "skills",
            "Skills the mentee wants that the mentor offers",
            _SET,
            "skills_wanted",
            "skills",
        ),
        ProfileField("shared_skills", "shared skills", "Skills both offer", _SET, "skills", "skills"),
        ProfileField("interests", "interests", "Interests in common", _SET, "interests", "interests"),
        ProfileField(
            "goals", "goals", "Goals in common (keywords of the profile's goals)", _SET, "goals", "goals"
        ),
        ProfileField("languages", "languages", "Languages in common", _SET, "languages", "languages"),
        ProfileField("department", "department", "Same department", _CAT, "department", "department"),
        ProfileField("location", "location", "Same location", _CAT, "location", "location"),
        ProfileField(
            "line_manager", "line manager", "Same line manager", _CAT, "line_manager", "line_manager"
        ),
        ProfileField(
            "time_zone",
            "time zone",
            "Close time zones (hours apart)",
            _NUM,
            "utc_offset",
            "utc_offset",
            scale=6.0,
            period=24.0,
            unit="hours",
        ),
        ProfileField(
            "seniority",
            "seniority",
            "Seniority level (complementarity: mentor more senior)",
            _NUM,
            "seniority",
            "seniority",
            scale=3.0,
            unit="levels",
        ),
    )
}
DEFAULT_KIND = {
    "skills": Kind.COMPLEMENTARITY,
    "line_manager": Kind.MUST_NOT,
    "seniority": Kind.COMPLEMENTARITY,
}


def question_attr(key: str) -> str:
    return f"q:{key}"


def default_label(row: MatchingCriterion, questions: Mapping[str, ProgrammeQuestion]) -> str:
    if row.source == SOURCE_PROFILE:
        found = PROFILE_FIELDS.get(row.field)
        return found.label if found else row.field
    question = questions.get(row.field)
    return _shorten(question.text) if question else row.field


def _shorten(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def engine_criteria(
    rows: Iterable[MatchingCriterion], questions: Mapping[str, ProgrammeQuestion]
) -> list[Criterion]:
    """The questionnaire as engine criteria; rows whose field or question is gone are skipped."""
    found = []
    for row in rows:
        label = default_label(row, questions)
        kind = Kind(row.kind)
        key = f"c{row.id}"
        if row.source == SOURCE_PROFILE:
            spec = PROFILE_FIELDS.get(row.field)
            if spec is None or kind not in spec.kinds:
                continue
            found.append(
                Criterion(
                    key,
                    label,
                    spec.mentee_attr,
                    kind,
                    spec.field_type,
                    float(row.weight),
                    spec.mentor_attr,
                    spec.scale,
                    float(row.tolerance or 0.0),
                    spec.period,
                )
            )
            continue
        question = questions.get(row.field)
        if question is None:
            continue
        field_type = FieldType.SET if question.multiple else FieldType.CATEGORY
        attr = question_attr(question.key)
        found.append(Criterion(key, label, attr, kind, field_type, float(row.weight)))
    return found


# The profile columns matching reads (and ``capacity``, for the mentor's own limit).
PROFILE_COLUMNS = (
    "skills",
    "skills_wanted",
    "interests",
    "languages",
    "goals",
    "department",
    "location",
    "line_manager",
    "time_zone",
    "seniority",
    "capacity",
)


@dataclass(frozen=True)
class ProfileValues:
    """Those columns of one profile, read without loading the ORM object."""

    skills: list[Any]
    skills_wanted: list[Any]
    interests: list[Any]
    languages: list[Any]
    goals: str
    department: str
    location: str
    line_manager: str
    time_zone: str
    seniority: int | None
    capacity: int | None


@lru_cache(maxsize=512)
def _offset_hours(zone: str, hour: str) -> float | None:
    """Offset of an IANA zone from UTC in hours, at the given hour (cached per zone and hour)."""
    try:
        offset = datetime.fromisoformat(hour).astimezone(ZoneInfo(zone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return None if offset is None else offset.total_seconds() / 3600


def utc_offset(zone: str | None, now: datetime) -> float | None:
    if not zone or not zone.strip():
        return None
    return _offset_hours(zone.strip(), now.replace(minute=0, second=0, microsecond=0).isoformat())


def attributes(
    profile: Profile | ProfileValues | None,
    answers: Mapping[str, Any] | None,
    now: datetime,
    multiple: Mapping[str, bool] | None = None,
) -> dict[str, Any]:
    """Everything any criterion may read about one person; missing values stay None or empty, which the
    engine treats as "does not satisfy". ``multiple`` (question key → several answers allowed) shapes each
    answer as the question now is, since a trainer may switch a question between one and several answers
    after people answered; answers to questions that are gone are left out."""
    values: dict[str, Any] = {}
    if profile is not None:
        values.update(
            skills=list(profile.skills or ()),
            skills_wanted=list(profile.skills_wanted or ()),
            interests=list(profile.interests or ()),
            languages=list(profile.languages or ()),
            goals=normalise_tags(profile.goals or ""),
            department=profile.department or None,
            location=profile.location or None,
            line_manager=profile.line_manager or None,
            utc_offset=utc_offset(profile.time_zone, now),
            seniority=profile.seniority,
        )
    for key, value in (answers or {}).items():
        if multiple is not None:
            if key not in multiple:
                continue
            chosen = [value] if isinstance(value, str) else list(value or ())
            value = chosen if multiple[key] else (chosen[0] if chosen else None)
        values[question_attr(key)] = value
    return values
