"""Pure rules of the mentoring domain: capacity, who may mentor, what a viewer may do, search terms, CSV
cells, form values, email addresses in logs. No database."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from lti_app.models.notification import Notification
from lti_app.models.programme import Programme, ProgrammeMembership
from lti_app.models.relationship import Relationship, RelationshipMember
from lti_app.schemas.mentoring import ProfileIn, form_values
from lti_app.services.capacity import effective_capacity, is_lms_mentor_of, may_mentor
from lti_app.services.notifications import render
from lti_app.services.overview import csv_cell
from lti_app.services.relationship_queries import allowed_actions
from lti_app.services.search import terms
from lti_app.tasks.mail import SmtpServer, mask


def _programme(**rules: object) -> Programme:
    values = {
        "default_capacity": 3,
        "mentor_roles": ["participant", "trainer"],
        "mentor_requires_opt_in": True,
    }
    return Programme(**{**values, **rules})


@pytest.mark.parametrize(
    ("override", "personal", "expected"),
    [(None, None, 3), (None, 1, 1), (None, 9, 3), (5, 1, 5), (0, None, 0)],
)
def test_effective_capacity(override, personal, expected) -> None:
    membership = ProgrammeMembership(capacity_override=override)
    assert effective_capacity(_programme(), membership, personal) == expected


@pytest.mark.parametrize(
    ("own", "trainer", "personal", "expected"),
    [(None, 1, None, 1), (100, 1, None, 1), (2, 5, None, 2), (None, 5, 1, 5), (None, 0, None, 0)],
)
def test_a_trainers_limit_caps_the_mentors_own_figure(own, trainer, personal, expected) -> None:
    membership = ProgrammeMembership(capacity_override=own, trainer_capacity=trainer)
    assert effective_capacity(_programme(), membership, personal) == expected


def test_who_may_mentor() -> None:
    opted_in = ProgrammeMembership(open_to_mentor=True)
    assert may_mentor(_programme(), ["participant"], opted_in)
    assert not may_mentor(_programme(), ["participant"], None)
    assert may_mentor(_programme(), ["participant"], None, trainer_pairing=True)
    assert not may_mentor(_programme(mentor_roles=["trainer"]), ["participant"], opted_in)
    assert may_mentor(_programme(mentor_requires_opt_in=False), ["trainer"], None)
    assert is_lms_mentor_of(["mentor"], ["42"], "42") and not is_lms_mentor_of(["participant"], ["42"], "42")


def _rel(status: str, requested_by: int = 2, **fields: object) -> Relationship:
    rel = Relationship(status=status, requested_by_id=requested_by, **fields)
    rel.members = [
        RelationshipMember(person_id=1, role="mentor"),
        RelationshipMember(person_id=2, role="mentee"),
    ]
    return rel


def test_allowed_actions() -> None:
    assert allowed_actions(_rel("pending"), 1, False) == {"accept", "decline"}
    assert allowed_actions(_rel("pending"), 2, False) == {"withdraw"}
    assert allowed_actions(_rel("pending"), 9, False) == frozenset()
    approval = _rel("pending", needs_trainer_approval=True)
    assert allowed_actions(approval, 9, True) == {"approve", "decline"}
    assert allowed_actions(_rel("active"), 1, False) == {"end"}
    assert allowed_actions(_rel("active"), 9, True) == {"end", "complete", "reassign", "pause"}
    assert allowed_actions(_rel("paused"), 9, True) == {"end", "complete", "reassign", "resume"}
    assert allowed_actions(_rel("completed"), 9, True) == frozenset()


def test_search_terms_are_plain_words() -> None:
    assert terms('Data "viz" AND (python)* -sql') == ["data", "viz", "and", "python", "sql"]
    assert terms("") == [] and terms("  ---  ") == []
    assert len(terms(" ".join(f"w{i}" for i in range(50)))) == 12


def test_csv_cells_never_start_a_formula() -> None:
    assert csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and csv_cell("@SUM") == "'@SUM"
    assert csv_cell("Ada Lovelace") == "Ada Lovelace"


def test_form_values_match_the_api() -> None:
    form = MultiDict(
        [
            ("lt", "token"),
            ("csrf_token", "x"),
            ("title", " T "),
            ("capacity", ""),
            ("mentor_roles", "participant"),
            ("mentor_roles", "trainer"),
            ("flag", "1"),
        ]
    )
    values = form_values(form, lists=["mentor_roles"], booleans=["flag", "other"], nullable=["capacity"])
    assert values == {
        "title": "T",
        "capacity": None,
        "mentor_roles": ["participant", "trainer"],
        "flag": True,
        "other": False,
    }


def test_tags_accept_a_list_or_a_string() -> None:
    assert ProfileIn().load({"skills": "a, b"})["skills"] == "a, b"
    assert ProfileIn().load({"skills": ["a"]})["skills"] == ["a"]
    with pytest.raises(ValidationError):
        ProfileIn().load({"skills": [1, 2]})


def test_addresses_are_masked_and_smtp_urls_parsed() -> None:
    assert mask("sam.student@example.com") == "s***@example.com" and mask(None) == "-"
    server = SmtpServer.from_url("smtps://user%40x:p%3Ass@mail.example.com")
    assert (server.host, server.port, server.username, server.password, server.security) == (
        "mail.example.com",
        465,
        "user@x",
        "p:ss",
        "ssl",
    )
    assert SmtpServer.from_url("smtp+starttls://mail.example.com").port == 587
    assert SmtpServer.from_url("smtp://mail.example.com:2525?starttls=1").security == "starttls"
    with pytest.raises(ValueError):
        SmtpServer.from_url("http://mail.example.com")


def test_notification_text_survives_missing_params() -> None:
    assert render(Notification(kind="request.asked", params={})) == (
        "someone asked you to be their mentor in a programme."
    )
    assert render(Notification(kind="unknown.kind", params={})) == "Something changed in Tandem."
