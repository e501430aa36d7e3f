"""LTI roles in every spelling platforms use → Tandem roles."""

from __future__ import annotations

import pytest

from lti_app.lti.roles import LtiRole, parse_role, tandem_role, tandem_roles

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (LIS + "membership#Learner", "participant"),
        (LIS + "membership#Instructor", "trainer"),
        (LIS + "membership#TeachingAssistant", "trainer"),
        (LIS + "membership/Instructor#TeachingAssistant", "trainer"),
        (LIS + "membership#ContentDeveloper", "trainer"),
        (LIS + "membership#Mentor", "mentor"),
        (LIS + "membership/Mentor#Advisor", "mentor"),
        (LIS + "institution/person#Administrator", "admin"),
        (LIS + "system/person#Administrator", "admin"),
        (LIS + "system/person#SysAdmin", "admin"),
        # Short names, as Moodle's NRPS sends them.
        ("Learner", "participant"),
        ("Instructor", "trainer"),
        ("TeachingAssistant", "trainer"),
        ("ContentDeveloper", "trainer"),
        ("Mentor", "mentor"),
        # LTI 1.1 URNs.
        ("urn:lti:role:ims/lis/Instructor", "trainer"),
        ("urn:lti:role:ims/lis/Instructor/TeachingAssistant", "trainer"),
        ("urn:lti:role:ims/lis/Learner", "participant"),
        ("urn:lti:instrole:ims/lis/Administrator", "admin"),
        ("urn:lti:sysrole:ims/lis/SysAdmin", "admin"),
    ],
)
def test_known_roles(raw: str, expected: str) -> None:
    assert tandem_role(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        LIS + "institution/person#Instructor",  # Canvas sends it for every teacher, in every course
        LIS + "institution/person#Student",
        LIS + "system/person#User",
        LIS + "membership#Member",
        "http://purl.imsglobal.org/vocab/lti/system/person#TestUser",
        "urn:lti:instrole:ims/lis/Instructor",
        "Guest",
        "",
        "https://example.com/roles#Instructor",
    ],
)
def test_roles_that_give_nothing(raw: str) -> None:
    assert tandem_role(raw) is None


def test_sub_role_principal_decides() -> None:
    assert parse_role(LIS + "membership/Learner#Instructor") == LtiRole("membership", "Learner", "Instructor")
    assert tandem_role(LIS + "membership/Learner#Instructor") == "participant"


def test_roles_are_deduplicated_in_a_fixed_order() -> None:
    moodle_admin = [
        LIS + "membership#Instructor",
        LIS + "system/person#Administrator",
        LIS + "institution/person#Administrator",
    ]
    assert tandem_roles(moodle_admin) == ["trainer", "admin"]
    assert tandem_roles(["Mentor", "Learner", LIS + "membership#Learner"]) == ["participant", "mentor"]
    assert tandem_roles(None) == []


def test_launches_and_rosters_share_one_role_parser() -> None:
    """The launch (roles claim) and the roster (NRPS member roles) read roles with the same parser, kept
    in ``lms_clients`` because the NRPS client needs it and may not import the app."""
    from lms_clients import roles as vocabulary

    assert parse_role is vocabulary.parse_role
    assert LtiRole is vocabulary.LtiRole


@pytest.mark.parametrize(
    "raw",
    [
        "Learner",
        "Instructor",
        "TeachingAssistant",
        "Mentor",
        "Administrator",
        "Instructor#TeachingAssistant",
        "urn:lti:role:ims/lis/Instructor/TeachingAssistant",
        "urn:lti:role:ims/lis/TeachingAssistant",
        "urn:lti:instrole:ims/lis/Administrator",
        "urn:lti:sysrole:ims/lis/SysAdmin",
        "urn:lti:instrole:ims/lis/Instructor",
        LIS + "membership/Learner#Instructor",
        LIS + "institution/person#Instructor",
        "Guest",
    ],
)
def test_a_role_normalised_by_the_roster_maps_as_the_launch_maps_it(raw: str) -> None:
    from lms_clients import normalise_role

    assert tandem_role(normalise_role(raw)) == tandem_role(raw)
    assert parse_role(normalise_role(raw)) in (parse_role(raw), None)
