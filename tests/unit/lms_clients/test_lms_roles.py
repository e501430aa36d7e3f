"""The LIS role vocabulary (LTI Core appendix A.2): one parser for every spelling, one URI for each."""

from __future__ import annotations

import pytest

from lms_clients.roles import INSTITUTION, MEMBERSHIP, SYSTEM, LtiRole, normalise_role, parse_role

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    ("raw", "parsed", "uri"),
    [
        ("Learner", LtiRole(MEMBERSHIP, "Learner"), LIS + "membership#Learner"),
        (" Instructor ", LtiRole(MEMBERSHIP, "Instructor"), LIS + "membership#Instructor"),
        # A simple sub-role name stands for the sub-role of its principal role (§A.2.3.1).
        (
            "TeachingAssistant",
            LtiRole(MEMBERSHIP, "Instructor", "TeachingAssistant"),
            LIS + "membership/Instructor#TeachingAssistant",
        ),
        (
            "Instructor#TeachingAssistant",
            LtiRole(MEMBERSHIP, "Instructor", "TeachingAssistant"),
            LIS + "membership/Instructor#TeachingAssistant",
        ),
        (
            "urn:lti:role:ims/lis/Instructor/TeachingAssistant",
            LtiRole(MEMBERSHIP, "Instructor", "TeachingAssistant"),
            LIS + "membership/Instructor#TeachingAssistant",
        ),
        (
            "urn:lti:role:ims/lis/TeachingAssistant",
            LtiRole(MEMBERSHIP, "Instructor", "TeachingAssistant"),
            LIS + "membership/Instructor#TeachingAssistant",
        ),
        (
            "urn:lti:instrole:ims/lis/Administrator",
            LtiRole(INSTITUTION, "Administrator"),
            LIS + "institution/person#Administrator",
        ),
        ("urn:lti:sysrole:ims/lis/SysAdmin", LtiRole(SYSTEM, "SysAdmin"), LIS + "system/person#SysAdmin"),
        (LIS + "membership#Mentor", LtiRole(MEMBERSHIP, "Mentor"), LIS + "membership#Mentor"),
        (
            LIS + "membership/Learner#Instructor",
            LtiRole(MEMBERSHIP, "Learner", "Instructor"),
            LIS + "membership/Learner#Instructor",
        ),
        (LIS + "system/person#User", LtiRole(SYSTEM, "User"), LIS + "system/person#User"),
    ],
)
def test_every_spelling_parses_to_one_role_with_one_uri(raw: str, parsed: LtiRole, uri: str) -> None:
    assert parse_role(raw) == parsed
    assert parsed.uri == uri
    assert normalise_role(raw) == uri
    assert parse_role(uri) == parsed


@pytest.mark.parametrize(
    "raw",
    ["", "https://example.com/roles#Instructor", "http://purl.imsglobal.org/vocab/lti/system/person#TestUser",
     LIS + "membership", "urn:lti:role:ims/lis/"],
)
def test_roles_outside_the_vocabulary_are_not_parsed_and_kept_as_given(raw: str) -> None:
    assert parse_role(raw) is None
    assert normalise_role(raw) == raw.strip()


def test_unknown_simple_names_are_not_expanded() -> None:
    # Only the LIS context role names are; anything else may be a platform's own role.
    assert normalise_role("SomethingElse") == "SomethingElse"
