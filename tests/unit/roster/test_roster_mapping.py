"""How NRPS members become people and enrolments, without a database: roles in every spelling (Moodle's
short names included), withheld fields kept, batching."""

from __future__ import annotations

from types import SimpleNamespace

from lms_clients import Member
from lms_clients.nrps import MemberSchema, parse_member
from lti_app.services.roster import _batches, _person_values, _roles
from tests.fixtures_moodle import load_moodle_fixture

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


def moodle_members() -> list[Member]:
    capture = load_moodle_fixture("svc_02_nrps_memberships.json")
    return [parse_member(MemberSchema().load(raw)) for raw in capture["response"]["json"]["members"]]


def current(**values: object) -> SimpleNamespace:
    return SimpleNamespace(_mapping=values)


def test_the_real_moodle_roster_maps_short_role_names_and_empty_sourcedids() -> None:
    members = {m.user_id: m for m in moodle_members()}
    student, teacher = members["4"], members["3"]

    assert _roles(student, None) == (["participant"], [LIS + "membership#Learner"])
    assert _roles(teacher, None) == (["trainer"], [LIS + "membership#Instructor"])
    values = _person_values(student)
    assert values == {
        "name": "Sam StudentOne",
        "given_name": "Sam",
        "family_name": "StudentOne",
        "email": "student1@example.com",
        "picture": None,
        "lis_person_sourcedid": None,
    }


def test_roles_keep_what_only_launches_carry_and_drop_old_context_roles() -> None:
    member = Member(user_id="9", roles=("Instructor",))
    launch_roles = [
        LIS + "membership#Learner",
        LIS + "institution/person#Administrator",
        LIS + "system/person#SysAdmin",
    ]

    roles, lti_roles = _roles(member, launch_roles)

    assert roles == ["trainer", "admin"]
    assert lti_roles == [
        LIS + "membership#Instructor",
        LIS + "institution/person#Administrator",
        LIS + "system/person#SysAdmin",
    ]


def test_teaching_assistants_and_mentors_in_any_spelling() -> None:
    assert _roles(Member("1", ("TeachingAssistant",)), None)[0] == ["trainer"]
    assert _roles(Member("1", ("urn:lti:role:ims/lis/Instructor/TeachingAssistant",)), None)[0] == ["trainer"]
    assert _roles(Member("1", (LIS + "membership#Mentor",)), None)[0] == ["mentor"]
    assert _roles(Member("1", ("Learner", "Learner")), None)[1] == [LIS + "membership#Learner"]


def test_fields_a_platform_withholds_keep_the_stored_values() -> None:
    member = Member(user_id="5", roles=("Learner",), given_name="Sally")
    stored = current(
        name="Sally Two",
        given_name="Sal",
        family_name="Two",
        email="sally@example.com",
        picture="https://lms.example/p.png",
        lis_person_sourcedid="S-5",
    )

    values = _person_values(member, stored)

    assert values == {
        "name": "Sally",
        "given_name": "Sally",
        "family_name": "Two",
        "email": "sally@example.com",
        "picture": "https://lms.example/p.png",
        "lis_person_sourcedid": "S-5",
    }


def test_a_member_without_name_gets_one_from_given_and_family_names_and_long_values_are_cut() -> None:
    member = Member(user_id="5", roles=(), given_name="Ann", family_name="Lee", email="a" * 400)

    values = _person_values(member)

    assert values["name"] == "Ann Lee"
    assert len(values["email"]) == 320
    assert (values["picture"], values["lis_person_sourcedid"]) == (None, None)


def test_batches_are_bounded_and_lazy() -> None:
    consumed: list[int] = []

    def members():
        for n in range(7):
            consumed.append(n)
            yield Member(user_id=str(n), roles=())

    batches = _batches(members(), 3)
    first = next(batches)

    assert [m.user_id for m in first] == ["0", "1", "2"] and consumed == [0, 1, 2]
    assert [len(b) for b in batches] == [3, 1]
