"""Questionnaire definitions (no database): the text format round trip, validation, rounding for display."""

from __future__ import annotations

import pytest

from lti_app.errors import ValidationFailed
from lti_app.services.feedback.definitions import parse_definition, parse_text, slug, to_text
from lti_app.services.feedback.scoring import format_number, rounded

TEXT = """? What should they keep doing?

# Problem solving
Finds the root cause
? An example?
# Communication
Explains clearly
Listens
"""


def test_text_format_round_trip() -> None:
    competencies, general = parse_text(TEXT)
    definition = parse_definition({"title": "T", "competencies": competencies, "open_questions": general})
    assert [c.key for c in definition.competencies] == ["problem_solving", "communication"]
    assert [(i.kind, i.prompt) for i in definition.competencies[0].items] == [
        ("rating", "Finds the root cause"),
        ("open", "An example?"),
    ]
    assert [q.prompt for q in definition.open_questions] == ["What should they keep doing?"]
    again = parse_definition(
        {"title": "T", "competencies": parse_text(to_text(definition))[0], "open_questions": general}
    )
    assert again.content_hash == definition.content_hash


def test_rating_lines_need_a_competency() -> None:
    with pytest.raises(ValidationFailed):
        parse_text("A rating with no heading\n# Later")


def test_defaults_and_keys() -> None:
    definition = parse_definition(
        {"title": "T", "competencies": [{"title": "Équipe & co", "items": [{"prompt": "x"}]}]}
    )
    assert definition.competencies[0].key == "equipe_co" == slug("Équipe & co")
    assert (definition.scale_min, definition.scale_max, definition.not_observed) == (1, 5, "Not observed")
    assert definition.scale_labels == ("1", "2", "3", "4", "5")
    none = parse_definition(
        {
            "title": "T",
            "scale": {"not_observed": None},
            "competencies": [{"title": "A", "items": [{"prompt": "x"}]}],
        }
    )
    assert none.not_observed is None


def test_rounding_is_half_up_everywhere() -> None:
    assert rounded(3.125) == 3.13 and rounded(2.675) == 2.68 and rounded(-2.205) == -2.21
    assert format_number(50 / 16) == "3.13" and format_number(1.2, signed=True) == "+1.20"
    assert format_number(None) == "-"
