"""Names and Role Provisioning Services 2.0 client: the course roster, page by page.

A course may have tens of thousands of members, so the roster is read lazily: one page is fetched, its
members are yielded, and only then is the ``rel="next"`` page requested (NRPS 2.0, paging with ``limit``).
Memory stays bounded by one page whatever the course size. The ``rel="differences"`` link (NRPS 2.0,
membership differences) is kept so the next sync can ask only for what changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from marshmallow import ValidationError, fields, pre_load, validate

from . import scopes as lti_scopes
from .errors import LMSRequestError
from .http import json_body
from .roles import normalise_role
from .schemas import BaseSchema, Identifier, OptionalText, describe_errors, load, response_error
from .service import ServiceClient
from .urls import link_urls, merge_query

MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

MEMBER_STATUSES = ("Active", "Inactive", "Deleted")  # NRPS 2.0 member status; absent means Active


@dataclass(frozen=True)
class Member:
    """One course member as the platform reported them (NRPS 2.0 membership container)."""

    user_id: str
    roles: tuple[str, ...]  # as given by the platform, e.g. ("Learner",) from Moodle
    status: str = "Active"
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    middle_name: str | None = None
    email: str | None = None
    picture: str | None = None
    lis_person_sourcedid: str | None = None
    # Message claims (NRPS 2.0, resource link membership): present when the roster was asked with ``rlid``.
    message: tuple[Mapping[str, Any], ...] | None = field(default=None, compare=False)

    @property
    def role_uris(self) -> tuple[str, ...]:
        """``roles`` as full LIS vocabulary URIs, whatever form the platform used."""
        return tuple(normalise_role(r) for r in self.roles)

    @property
    def is_active(self) -> bool:
        return self.status == "Active"


@dataclass(frozen=True)
class MembershipContext:
    id: str
    label: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class MembershipPage:
    """One page of a membership container, with the links the platform gave for what comes next."""

    url: str
    members: list[Member]
    context: MembershipContext | None = None
    next_url: str | None = None
    differences_url: str | None = None


class MemberSchema(BaseSchema):
    user_id = Identifier(required=True)
    roles = fields.List(fields.String(), load_default=list)
    status = fields.String(load_default="Active", validate=validate.OneOf(MEMBER_STATUSES))
    name = OptionalText()
    given_name = OptionalText()
    family_name = OptionalText()
    middle_name = OptionalText()
    email = OptionalText()
    picture = OptionalText()
    lis_person_sourcedid = OptionalText()  # Moodle sends "" when the user has no SIS id
    message = fields.List(fields.Dict(), load_default=None, allow_none=True)

    @pre_load
    def canonical_status(self, data: Any, **kwargs: Any) -> Any:
        # Accept "active"/"ACTIVE" from lenient platforms; the spec values are capitalised.
        if isinstance(data, dict) and isinstance(data.get("status"), str):
            by_lower = {s.lower(): s for s in MEMBER_STATUSES}
            data = {**data, "status": by_lower.get(data["status"].lower(), data["status"])}
        return data


class ContextSchema(BaseSchema):
    id = Identifier(required=True)
    label = OptionalText()
    title = OptionalText()


class ContainerSchema(BaseSchema):
    id = fields.String(load_default=None, allow_none=True)
    # "context" would shadow Schema.context, hence the data_key.
    membership_context = fields.Nested(ContextSchema, data_key="context", load_default=None, allow_none=True)
    members = fields.List(fields.Raw(), required=True)


def parse_member(data: Mapping[str, Any]) -> Member:
    """Build a :class:`Member` from a validated member object."""
    message = data.get("message")
    return Member(
        user_id=data["user_id"],
        roles=tuple(data["roles"]),
        status=data["status"],
        name=data["name"],
        given_name=data["given_name"],
        family_name=data["family_name"],
        middle_name=data["middle_name"],
        email=data["email"],
        picture=data["picture"],
        lis_person_sourcedid=data["lis_person_sourcedid"],
        message=tuple(message) if message is not None else None,
    )


def parse_page(response: requests.Response) -> MembershipPage:
    """Validate one membership container answer and read its paging links."""
    payload = json_body(response, media_types=(MEMBERSHIP_CONTAINER,), what="a membership container")
    container = load(ContainerSchema(), payload, response, "membership container")
    members: list[Member] = []
    schema = MemberSchema()
    for index, raw in enumerate(container["members"]):
        try:
            if not isinstance(raw, dict):
                raise ValidationError("not a JSON object")
            members.append(parse_member(schema.load(raw)))
        except ValidationError as exc:
            raise response_error(
                response, f"The LMS sent an invalid member (#{index}): {describe_errors(exc)}"
            ) from None
    context = container["membership_context"]
    links = link_urls(response.headers.get("Link"), response.url)
    return MembershipPage(
        url=response.url,
        members=members,
        context=MembershipContext(**context) if context else None,
        next_url=links.get("next"),
        differences_url=links.get("differences"),
    )


class MemberIterator(Iterator[Member]):
    """Members across all pages, fetched lazily; after (or during) iteration it tells the roster context
    and the differences URL to keep for the next sync."""

    def __init__(self, pages: Iterator[MembershipPage]) -> None:
        self._pages = pages
        self._current: Iterator[Member] = iter(())
        self.context: MembershipContext | None = None
        self.differences_url: str | None = None
        self.pages_read = 0

    def __iter__(self) -> MemberIterator:
        return self

    def __next__(self) -> Member:
        while True:
            member = next(self._current, None)
            if member is not None:
                return member
            page = next(self._pages)  # StopIteration ends the iteration
            self.pages_read += 1
            self.context = page.context or self.context
            self.differences_url = page.differences_url or self.differences_url
            self._current = iter(page.members)


class NamesRolesClient(ServiceClient):
    """Reads context memberships (NRPS 2.0) with the ``contextmembership.readonly`` scope."""

    scopes: tuple[str, ...] = (lti_scopes.NRPS_CONTEXT_MEMBERSHIP_READONLY,)

    def page(self, url: str) -> MembershipPage:
        """Fetch and validate one page at ``url`` (a first page, a ``next`` or a ``differences`` URL)."""
        response = self.call("GET", url, self.scopes, accept=MEMBERSHIP_CONTAINER, expected=(200,))
        return parse_page(response)

    def pages(
        self,
        memberships_url: str,
        *,
        role: str | None = None,
        limit: int | None = None,
        rlid: str | None = None,
    ) -> Iterator[MembershipPage]:
        """Yield pages lazily, following ``rel="next"`` links until there are none.

        Filters go on the first request only (NRPS 2.0 ``role``, ``limit`` and ``rlid``): the
        platform carries them in
        its ``next`` links. They are merged into any query the URL already has (Moodle's may carry one).
        """
        url: str | None = merge_query(
            memberships_url,
            {"role": normalise_role(role) if role else None, "limit": limit, "rlid": rlid},
        )
        seen: set[str] = set()
        while url is not None:
            if url in seen:  # a platform bug must not turn into an endless loop
                raise LMSRequestError(
                    "The LMS paging links loop back to a page already read", method="GET", url=url
                )
            seen.add(url)
            page = self.page(url)
            yield page
            url = page.next_url

    def members(
        self,
        memberships_url: str,
        role: str | None = None,
        limit: int | None = None,
        rlid: str | None = None,
    ) -> MemberIterator:
        """Every member of the context, across pages, fetched as the caller iterates."""
        return MemberIterator(self.pages(memberships_url, role=role, limit=limit, rlid=rlid))

    def differences(self, differences_url: str) -> MemberIterator:
        """Members changed since the roster that gave ``differences_url`` was read (NRPS 2.0
        membership differences): removed members come back with status ``Deleted``."""
        return MemberIterator(self.pages(differences_url))
