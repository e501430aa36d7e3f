"""What the trainer asks the matcher to look at, and who is being matched.

A programme's questionnaire is a list of `Criterion`: each names the profile field or question answer it
reads on the mentee's side and (when it differs) on the mentor's side, how to compare them, and how much
it counts. Participants are plain attribute dictionaries so the matcher never depends on the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias

ParticipantId: TypeAlias = int | str
MAX_WEIGHT = 10.0


class Kind(StrEnum):
    """How a criterion enters the decision."""

    SIMILARITY = "similarity"  # same is better
    COMPLEMENTARITY = "complementarity"  # the mentor has what the mentee wants
    MUST = "must"  # no match unless the condition holds
    MUST_NOT = "must_not"  # no match if the condition holds


class FieldType(StrEnum):
    """The shape of the value a criterion reads; it decides the measure."""

    SET = "set"  # tags: skills, goals, languages
    CATEGORY = "category"  # one value: department, location, a free-choice answer
    NUMBER = "number"  # ordinal or numeric: time zone offset in hours, seniority level


@dataclass(frozen=True)
class Criterion:
    """One line of the matching questionnaire.

    Measures, each in [0, 1]:

    * set similarity is the Jaccard index |A∩B| / |A∪B|. We chose it over the overlap coefficient because
      "same is better" should not reward a mentor who simply lists everything; containment ("the mentor
      covers what I want") is what complementarity is for.
    * set complementarity is the share of the mentee's wanted items (``field``) that the mentor offers
      (``mentor_field``); a mentee who wants nothing scores 0.
    * category similarity or complementarity is 1 when both values are present and equal.
    * number similarity is ``1 - distance / scale`` clipped to [0, 1]; with ``period`` (24 for time zone
      offsets) the distance wraps around. Number complementarity is ``(mentor - mentee) / scale`` clipped,
      i.e. how far the mentor is ahead, e.g. in seniority.

    A hard constraint holds when sets overlap, categories are equal, or numbers are within
    ``tolerance``. A missing value never satisfies a condition: a ``must`` on it fails and a ``must_not``
    on it passes. Hard constraints rule pairs out and carry no points, so their weight is ignored.
    """

    key: str
    label: str
    field: str
    kind: Kind
    field_type: FieldType
    weight: float = 1.0
    mentor_field: str | None = None
    scale: float = 1.0
    tolerance: float = 0.0
    period: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "field_type", FieldType(self.field_type))
        if not 0 <= self.weight <= MAX_WEIGHT:
            raise ValueError(f"criterion {self.key!r}: weight must be within 0-{MAX_WEIGHT:g}")
        if self.scale <= 0 or self.tolerance < 0:
            raise ValueError(f"criterion {self.key!r}: scale must be positive and tolerance not negative")
        if self.period is not None and (self.period <= 0 or self.field_type is not FieldType.NUMBER):
            raise ValueError(f"criterion {self.key!r}: period applies to positive numeric criteria only")
        if self.period is not None and self.kind is Kind.COMPLEMENTARITY:
            raise ValueError(f"criterion {self.key!r}: 'mentor ahead by' has no meaning on a circular scale")

    @property
    def other_field(self) -> str:
        """The attribute read on the mentor's side."""
        return self.mentor_field or self.field

    @property
    def is_constraint(self) -> bool:
        return self.kind in (Kind.MUST, Kind.MUST_NOT)

    @property
    def scores(self) -> bool:
        """Whether the criterion contributes points (a weighted similarity or complementarity)."""
        return not self.is_constraint and self.weight > 0


@dataclass(frozen=True)
class Participant:
    """A mentee or a mentor as the matcher sees them.

    ``capacity`` matters for mentors only: the slots still open, i.e. their capacity (or group size)
    minus the relationships already active in the programme.
    """

    id: ParticipantId
    attributes: Mapping[str, Any] = field(default_factory=dict)
    capacity: int = 1


def total_weight(criteria: Sequence[Criterion]) -> float:
    """The denominator that turns weighted criterion values into a 0-100 score."""
    return float(sum(c.weight for c in criteria if c.scores))


def check_unique(people: Sequence[Participant], role: str) -> None:
    seen: set[ParticipantId] = set()
    for person in people:
        if person.id in seen:
            raise ValueError(f"{role} {person.id!r} appears twice")
        seen.add(person.id)
