"""NamesRolesClient against Moodle's real membership containers and a paging platform."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lms_clients import MEMBERSHIP_CONTAINER, LMSRequestError, NamesRolesClient, normalise_role

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
MEMBERSHIPS = "/mod/lti/services.php/CourseSection/2/bindings/1/memberships"


def test_reads_moodle_roster_with_short_role_names(
    lms_server: HTTPServer,
    capture: Callable[[str], Any],
    guarded: Callable[..., Any],
    nrps: NamesRolesClient,
    received: Callable[[str], list[Request]],
) -> None:
    exchange = capture("svc_02_nrps_memberships.json")
    lms_server.expect_request(exchange.path, method="GET").respond_with_handler(
        guarded(lambda request: exchange.response())
    )

    roster = nrps.members(exchange.request["url"])
    members = list(roster)

    assert [m.user_id for m in members] == ["4", "6", "5", "3"]
    sam = members[0]
    assert sam.roles == ("Learner",)
    assert sam.role_uris == (LEARNER,)
    assert members[3].role_uris == (INSTRUCTOR,)
    assert (sam.name, sam.given_name, sam.family_name) == ("Sam StudentOne", "Sam", "StudentOne")
    assert sam.email == "student1@example.com"
    assert sam.status == "Active" and sam.is_active
    assert sam.lis_person_sourcedid is None  # Moodle sends "" for "no SIS id"
    assert sam.message is None and sam.picture is None
    assert roster.context is not None and (roster.context.id, roster.context.label) == ("2", "LTILAB")
    assert roster.context.title == "LTI Lab Course"
    assert roster.differences_url is None and roster.pages_read == 1
    [request] = received(exchange.path)
    assert request.headers["Accept"] == MEMBERSHIP_CONTAINER


def test_role_and_resource_link_filters_with_message_claims(
    lms_server: HTTPServer, capture: Callable[[str], Any], guarded: Callable[..., Any], nrps: NamesRolesClient
) -> None:
    exchange = capture("svc_03_nrps_learners_rlid.json")
    lms_server.expect_request(
        exchange.path, method="GET", query_string=exchange.query
    ).respond_with_handler(guarded(lambda request: exchange.response()))
    url = exchange.request["url"].split("?", 1)[0]

    members = list(nrps.members(url, role="Learner", rlid="1"))

    assert len(members) == 3
    assert all(m.role_uris == (LEARNER,) for m in members)
    message = members[0].message
    assert message is not None
    assert message[0]["https://purl.imsglobal.org/spec/lti/claim/message_type"] == "LtiResourceLinkRequest"
    assert "https://purl.imsglobal.org/spec/lti-bo/claim/basicoutcome" in message[0]


def _member(n: int, status: str = "Active") -> dict[str, Any]:
    return {"user_id": str(n), "roles": ["Learner"], "status": status, "name": f"User {n}",
            "ext_user_username": f"u{n}"}


class PagingPlatform:
    """Serves ``total`` members ``per_page`` at a time, with Link next and, on the last page, differences."""

    def __init__(self, server: HTTPServer, total: int, per_page: int) -> None:
        self.server = server
        self.total = total
        self.per_page = per_page
        self.queries: list[dict[str, list[str]]] = []

    def handle(self, request: Request) -> Response:
        query = parse_qs(request.query_string.decode())
        self.queries.append(query)
        page = int(query.get("page", ["0"])[0])
        start = page * self.per_page
        members = [_member(n) for n in range(start, min(start + self.per_page, self.total))]
        base = self.server.url_for(MEMBERSHIPS)
        links = []
        if start + self.per_page < self.total:
            links.append(f'<{base}?type_id=1&page={page + 1}&limit={self.per_page}>; rel="next"')
        else:
            links.append(f'<{base}?type_id=1&since=abc123>; rel="differences"')
        body = {"id": base, "context": {"id": "2"}, "members": members}
        return Response(
            json.dumps(body),
            content_type=MEMBERSHIP_CONTAINER + "; charset=utf-8",
            headers={"Link": ", ".join(links)},
        )


def test_follows_next_links_lazily_and_keeps_the_differences_link(
    lms_server: HTTPServer, guarded: Callable[..., Any], nrps: NamesRolesClient
) -> None:
    platform = PagingPlatform(lms_server, total=7, per_page=3)
    lms_server.expect_request(MEMBERSHIPS).respond_with_handler(guarded(platform.handle))

    roster = nrps.members(lms_server.url_for(MEMBERSHIPS) + "?type_id=1", limit=3)
    first = next(roster)
    assert first.user_id == "0"
    assert len(platform.queries) == 1  # nothing fetched ahead of the caller
    rest = list(roster)

    assert [m.user_id for m in [first, *rest]] == [str(n) for n in range(7)]
    assert roster.pages_read == 3
    assert platform.queries[0] == {"type_id": ["1"], "limit": ["3"]}  # the existing query kept, limit merged
    assert platform.queries[1] == {"type_id": ["1"], "page": ["1"], "limit": ["3"]}
    assert roster.differences_url == lms_server.url_for(MEMBERSHIPS) + "?type_id=1&since=abc123"


def test_pages_expose_next_and_differences_urls(
    lms_server: HTTPServer, guarded: Callable[..., Any], nrps: NamesRolesClient
) -> None:
    platform = PagingPlatform(lms_server, total=4, per_page=2)
    lms_server.expect_request(MEMBERSHIPS).respond_with_handler(guarded(platform.handle))

    pages = list(nrps.pages(lms_server.url_for(MEMBERSHIPS), limit=2))

    assert [len(p.members) for p in pages] == [2, 2]
    assert pages[0].next_url is not None and pages[0].differences_url is None
    assert pages[1].next_url is None and pages[1].differences_url is not None


def test_reads_differences(
    lms_server: HTTPServer, guarded: Callable[..., Any], nrps: NamesRolesClient
) -> None:
    body = {"id": "x", "context": {"id": "2"},
            "members": [_member(4, "Deleted"), _member(9, "inactive"), _member(10)]}
    lms_server.expect_request(MEMBERSHIPS, query_string="since=abc").respond_with_handler(
        guarded(lambda request: Response(json.dumps(body), content_type=MEMBERSHIP_CONTAINER))
    )

    changes = list(nrps.differences(lms_server.url_for(MEMBERSHIPS) + "?since=abc"))

    assert [(m.user_id, m.status) for m in changes] == [("4", "Deleted"), ("9", "Inactive"), ("10", "Active")]
    assert not changes[0].is_active


def test_ten_thousand_members_over_many_pages(
    lms_server: HTTPServer, guarded: Callable[..., Any], nrps: NamesRolesClient
) -> None:
    platform = PagingPlatform(lms_server, total=10_000, per_page=1_000)
    lms_server.expect_request(MEMBERSHIPS).respond_with_handler(guarded(platform.handle))

    count = sum(1 for _ in nrps.members(lms_server.url_for(MEMBERSHIPS), limit=1_000))

    assert count == 10_000
    assert len(platform.queries) == 10


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([{"roles": ["Learner"], "name": "No Id"}], r"member \(#0\): user_id"),
        ([_member(1), {"user_id": "2", "roles": ["Learner"], "status": "Suspended"}], r"#1\): status"),
        ([_member(1), "oops"], r"#1\): not a JSON object"),
    ],
)
def test_invalid_members_are_reported(
    lms_server: HTTPServer,
    guarded: Callable[..., Any],
    nrps: NamesRolesClient,
    members: list[Any],
    message: str,
) -> None:
    body = {"id": "x", "members": members}
    lms_server.expect_request(MEMBERSHIPS).respond_with_handler(
        guarded(lambda request: Response(json.dumps(body), content_type=MEMBERSHIP_CONTAINER))
    )

    with pytest.raises(LMSRequestError, match=message):
        list(nrps.members(lms_server.url_for(MEMBERSHIPS)))


def test_numeric_user_ids_and_unknown_fields_are_accepted(
    lms_server: HTTPServer, guarded: Callable[..., Any], nrps: NamesRolesClient
) -> None:
    body = {"members": [{"user_id": 42, "roles": ["Learner"], "x_custom": {"a": 1}, "picture": ""}]}
    lms_server.expect_request(MEMBERSHIPS).respond_with_handler(
        guarded(lambda request: Response(json.dumps(body), content_type="application/json"))
    )

    [member] = nrps.members(lms_server.url_for(MEMBERSHIPS))

    assert member.user_id == "42" and member.picture is None


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ('{"members": []}', "text/html; charset=utf-8", "as 'text/html'"),
        ('{"members": [', MEMBERSHIP_CONTAINER, "not valid JSON"),
        ('{"id": "no members"}', MEMBERSHIP_CONTAINER, "members"),
        ("[]", MEMBERSHIP_CONTAINER, "not a JSON object"),
    ],
)
def test_bad_containers_are_reported(
    lms_server: HTTPServer,
    guarded: Callable[..., Any],
    nrps: NamesRolesClient,
    body: str,
    content_type: str,
    message: str,
) -> None:
    lms_server.expect_request(MEMBERSHIPS).respond_with_handler(
        guarded(lambda request: Response(body, content_type=content_type))
    )

    with pytest.raises(LMSRequestError, match=message) as caught:
        list(nrps.members(lms_server.url_for(MEMBERSHIPS)))

    assert caught.value.status == 200
    assert urlsplit(caught.value.url or "").path == MEMBERSHIPS


def test_a_next_link_looping_back_is_an_error(
    lms_server: HTTPServer, guarded: Callable[..., Any], nrps: NamesRolesClient
) -> None:
    url = lms_server.url_for(MEMBERSHIPS)
    lms_server.expect_request(MEMBERSHIPS).respond_with_handler(
        guarded(
            lambda request: Response(
                json.dumps({"members": [_member(1)]}),
                content_type=MEMBERSHIP_CONTAINER,
                headers={"Link": f'<{url}>; rel="next"'},
            )
        )
    )

    with pytest.raises(LMSRequestError, match="loop"):
        list(nrps.members(url))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Learner", LEARNER),
        ("Instructor", INSTRUCTOR),
        ("Mentor", "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"),
        ("TeachingAssistant", "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"),
        (LEARNER, LEARNER),
        ("urn:lti:role:ims/lis/Learner", LEARNER),
        (
            "urn:lti:role:ims/lis/Instructor/TeachingAssistant",
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
        ),
        ("urn:lti:instrole:ims/lis/Administrator", "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"),
        ("urn:lti:sysrole:ims/lis/SysAdmin", "http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin"),
        ("SomethingElse", "SomethingElse"),
    ],
)
def test_normalise_role(given: str, expected: str) -> None:
    assert normalise_role(given) == expected
