"""The admin's mapping of Moodle profile fields to Tandem profile fields, and how values are cleaned."""

from __future__ import annotations

import pytest

from lms_clients import MoodleCustomField, MoodleUser
from lti_app.errors import ValidationFailed
from lti_app.services.moodle_profiles import moodle_value, parse_field_map, profile_value


def user(**fields: object) -> MoodleUser:
    base: dict[str, object] = dict(
        id=4,
        username="student1",
        firstname="Sam",
        lastname="StudentOne",
        fullname="Sam StudentOne",
        email="student1@example.com",
        idnumber=None,
        department="Engineering",
        institution=None,
        city="Leeds",
        country="GB",
        interests=("Python", "Data science"),
        profile_image_url=None,
        suspended=False,
        customfields=(
            MoodleCustomField("skills", "Coaching, Public speaking"),
            MoodleCustomField("bio", "<p>Loves <b>mentoring</b> &amp; tea</p>"),
        ),
    )
    base.update(fields)
    return MoodleUser(**base)  # type: ignore[arg-type]


def test_mappings_from_the_cli_or_a_form_are_normalised() -> None:
    assert parse_field_map(
        ["department=department", " Interests = interests ", "profile_field_skills=skills"]
    ) == {
        "department": "department",
        "interests": "interests",
        "profile_field_skills": "skills",
    }
    assert parse_field_map({"city": "location", "": ""}) == {"city": "location"}


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (["department"], "department", "moodle_field=profile_field"),
        (["department=salary"], "department", "no field 'salary'"),
        (["department=department", "department=headline"], "department", "mapped twice"),
        (["department=department", "institution=department"], "institution", "already takes"),
        (["dépt=department"], "dépt", "Not a Moodle field name"),
    ],
)
def test_invalid_mappings_say_which_field_is_wrong(raw: list[str], field: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_field_map(raw)
    assert message in raised.value.details[field]


def test_standard_and_custom_fields_are_read_by_name() -> None:
    sam = user()
    assert moodle_value(sam, "department") == "Engineering"
    assert moodle_value(sam, "interests") == ("Python", "Data science")
    assert moodle_value(sam, "skills") == "Coaching, Public speaking"
    assert moodle_value(sam, "profile_field_skills") == "Coaching, Public speaking"
    assert moodle_value(sam, "missing") is None


def test_values_are_made_fit_for_the_profile_field() -> None:
    assert profile_value("interests", ("Python", "Data  science")) == ["python", "data science"]
    assert profile_value("skills", "Coaching; Public-speaking") == ["coaching", "public speaking"]
    assert profile_value("headline", "<p>Loves <b>mentoring</b> &amp; tea</p>") == "Loves mentoring & tea"
    assert profile_value("department", "x" * 300) == "x" * 200
    assert profile_value("time_zone", "Europe/London") == "Europe/London"
    assert profile_value("time_zone", "Mars/Olympus") is None
    assert profile_value("department", "   ") is None
    assert profile_value("skills", " , ") is None
    assert profile_value("department", None) is None
