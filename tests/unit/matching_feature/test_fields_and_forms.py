"""The feature's pure pieces: profile fields and questions as engine criteria, a profile as attributes,
time zones as offsets, the editor's rows, stable option keys, the reasons line."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from werkzeug.datastructures import MultiDict

from lti_app.matching import FieldType, Kind
from lti_app.schemas.matching import answers_from_form, criteria_from_form, question_from_form
from lti_app.services.matching.fields import (
    PROFILE_FIELDS,
    ProfileValues,
    attributes,
    engine_criteria,
    utc_offset,
)
from lti_app.services.matching.questionnaire import _keyed_options
from lti_app.services.matching.runs import reasons_text

WINTER = datetime(2025, 1, 15, 12, 30, tzinfo=UTC)
SUMMER = datetime(2025, 7, 15, 12, 30, tzinfo=UTC)


def _row(id: int, source: str, field: str, kind: str, weight: int = 5, tolerance: float = 0.0) -> Any:
    return SimpleNamespace(id=id, source=source, field=field, kind=kind, weight=weight, tolerance=tolerance)


def test_profile_fields_and_questions_become_engine_criteria() -> None:
    questions = {
        "pace": SimpleNamespace(
            key="pace", text="How often can you meet, roughly, in a normal month?", multiple=False
        ),
        "topics": SimpleNamespace(key="topics", text="Topics?", multiple=True),
    }
    rows = [
        _row(1, "profile", "skills", "complementarity", 10),
        _row(2, "profile", "time_zone", "must", tolerance=3),
        _row(3, "question", "pace", "similarity", 4),
        _row(4, "question", "topics", "complementarity", 2),
        _row(5, "question", "gone", "similarity"),  # its question was deleted: skipped
        _row(6, "profile", "time_zone", "complementarity"),  # not allowed on a circle: skipped
    ]
    skills, zone, pace, topics = engine_criteria(rows, questions)
    assert (skills.key, skills.field, skills.other_field, skills.kind, skills.weight) == (
        "c1",
        "skills_wanted",
        "skills",
        Kind.COMPLEMENTARITY,
        10.0,
    )
    assert (zone.field_type, zone.period, zone.tolerance, zone.label) == (
        FieldType.NUMBER,
        24.0,
        3.0,
        "time zone",
    )
    assert (pace.field, pace.field_type) == ("q:pace", FieldType.CATEGORY)
    assert pace.label.endswith("…") and len(pace.label) <= 40
    assert topics.field_type is FieldType.SET
    assert Kind.COMPLEMENTARITY not in PROFILE_FIELDS["time_zone"].kinds


def test_a_profile_as_attributes() -> None:
    profile = ProfileValues(
        skills=["Python"],
        skills_wanted=["sql"],
        interests=[],
        languages=["en", "fr"],
        goals="Leadership, public speaking\nresearch",
        department="",
        location="Lyon",
        line_manager="Ada",
        time_zone="Europe/Paris",
        seniority=3,
        capacity=None,
    )
    values = attributes(profile, {"pace": "o2"}, WINTER)
    assert values["goals"] == ["leadership", "public speaking", "research"]
    assert values["department"] is None and values["location"] == "Lyon"
    assert values["utc_offset"] == 1.0 and values["q:pace"] == "o2" and values["seniority"] == 3
    assert attributes(None, None, WINTER) == {}


def test_time_zones_are_offsets_at_the_time_of_the_run() -> None:
    assert utc_offset("Europe/Paris", WINTER) == 1.0
    assert utc_offset("Europe/Paris", SUMMER) == 2.0
    assert utc_offset("Asia/Kolkata", WINTER) == 5.5
    assert utc_offset("Not/AZone", WINTER) is None
    assert utc_offset("", WINTER) is None


def test_option_keys_survive_rewording_and_reordering() -> None:
    first = _keyed_options([], ["Online", "In person"])
    assert first == [{"key": "o1", "label": "Online"}, {"key": "o2", "label": "In person"}]
    again = _keyed_options(first, ["in person", "Hybrid"])
    assert again == [{"key": "o2", "label": "in person"}, {"key": "o3", "label": "Hybrid"}]
    assert _keyed_options(again, ["Online"]) == [{"key": "o4", "label": "Online"}]  # keys are never reused


def test_editor_rows_and_answers_from_forms() -> None:
    form = MultiDict(
        [
            ("what", "profile:skills"),
            ("what", ""),
            ("what", "question:pace"),
            ("kind", "complementarity"),
            ("kind", "similarity"),
            ("kind", "must"),
            ("weight", "10"),
            ("weight", "5"),
            ("weight", ""),
            ("tolerance", "0"),
            ("tolerance", "0"),
            ("tolerance", ""),
        ]
    )
    assert criteria_from_form(form) == [
        {"source": "profile", "field": "skills", "kind": "complementarity", "weight": "10", "tolerance": "0"},
        {"source": "question", "field": "pace", "kind": "must", "weight": "5", "tolerance": "0"},
    ]
    form.add("remove", "0")
    assert [i["field"] for i in criteria_from_form(form)] == ["pace"]
    answers = MultiDict([("a-pace", "o1"), ("a-topics", "o1"), ("a-topics", "o3")])
    assert answers_from_form(answers, ["pace", "topics", "empty"]) == {
        "pace": "o1",
        "topics": ["o1", "o3"],
        "empty": [],
    }
    question = question_from_form(MultiDict({"text": "Q?", "options": "a\n\n b \nc", "multiple": "1"}))
    assert question["options"] == ["a", " b ", "c"] and question["multiple"] and not question["required"]


def test_reasons_read_like_a_sentence() -> None:
    breakdown = [
        {"label": "skills", "points": 40.0, "out_of": 50.0},
        {"label": "time zone", "points": 9.6, "out_of": 10.0},
        {"label": "languages", "points": 0.0, "out_of": 10.0},
    ]
    assert reasons_text(breakdown) == "skills 40/50, time zone 10/10, languages 0/10"
