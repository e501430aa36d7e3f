"""The platform's LTI Advantage services without HTTP: NRPS membership containers and AGS line items,
scores and results, as JSON documents shaped like Moodle's (svc_*.json) or Canvas's.

Views (demo LMS) and the test platform's WSGI app own routing, tokens and storage; everything that decides
what a document looks like or whether a posted body is acceptable lives here so both answer alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import vocab
from .model import Course, PlatformError, User, short_role_name

T = TypeVar("T")


# ------------------------------------------------------------------------------------------------- paging


def paginate(items: Sequence[T], limit: int | None, offset: int) -> tuple[list[T], int | None]:
    """One page of ``items`` and the offset of the next page (None on the last page)."""
    offset = max(0, offset)
    if not limit or limit <= 0:
        return list(items[offset:]), None
    page = list(items[offset : offset + limit])
    following = offset + limit
    return page, (following if following < len(items) else None)


def link_header(links: Mapping[str, str]) -> str:
    """An RFC 8288 Link header, e.g. ``<…?limit=2&from=2>; rel="next"`` (NRPS 2.0 §2.4.1, AGS 2.0 §3.2.4)."""
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())


def with_query(url: str, **params: str | int) -> str:
    """``url`` with ``params`` added to (or replacing those in) its query string."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    pairs += [(k, str(v)) for k, v in params.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(pairs), parts.fragment))


def with_path_suffix(url: str, suffix: str) -> str:
    """Append ``suffix`` to the *path* of ``url``, keeping its query: how ``/scores`` and ``/results`` are
    derived from a line item URL (AGS 2.0 §3.3, and Moodle's ``?type_id=`` that must survive)."""
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path.rstrip("/") + suffix, parts.query, parts.fragment)
    )


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, without parameters, lower-cased."""
    return (content_type or "").split(";", 1)[0].strip().lower()


# -------------------------------------------------------------------------------------------------- NRPS


@dataclass(frozen=True)
class Member:
    """One membership of a context (NRPS 2.0 §2.3): a user, their role URIs and status."""

    user: User
    roles: tuple[str, ...]
    status: str = "Active"


def role_matches(roles: Iterable[str], wanted: str) -> bool:
    """NRPS 2.0 §2.4.3 ``role`` filter: a full URI or a context role's simple name.

    Compared without case, because some tool libraries lower-case the whole Link header before following
    its next URL (pylti1p3's ServiceConnector does), which would otherwise lose ``Learner`` on page two.
    """
    target = wanted.strip().lower()
    return any(target in (uri.lower(), short_role_name(uri).lower()) for uri in roles)


def member_json(
    member: Member, product_family: str, *, short_roles: bool, message: Any = None
) -> dict[str, Any]:
    """A member entry with each product's fields and order (svc_02_nrps_memberships.json for Moodle)."""
    user = member.user
    roles = [short_role_name(uri) if short_roles else uri for uri in member.roles]
    if product_family == vocab.PRODUCT_CANVAS:
        entry: dict[str, Any] = {
            "status": member.status,
            "name": user.name,
            "picture": user.picture,
            "given_name": user.given_name,
            "family_name": user.family_name,
            "email": user.email,
            "user_id": user.id,
            "lti11_legacy_user_id": user.legacy_user_id or user.id,
            "roles": roles,
        }
        if message is not None:
            entry["message"] = message
        return entry
    if product_family == vocab.PRODUCT_MOODLE:
        entry = {"status": member.status, "roles": roles}
        if message is not None:
            entry["message"] = message
        entry.update(
            {
                "user_id": user.id,
                "lis_person_sourcedid": user.lis_person_sourcedid,
                "name": user.name,
                "given_name": user.given_name,
                "family_name": user.family_name,
                "email": user.email,
                "ext_user_username": user.username,
            }
        )
        return entry
    entry = {
        "status": member.status,
        "user_id": user.id,
        "roles": roles,
        "name": user.name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.email,
    }
    if user.picture:
        entry["picture"] = user.picture
    if message is not None:
        entry["message"] = message
    return entry


def membership_container(
    url: str,
    course: Course,
    members: Iterable[Member],
    product_family: str,
    *,
    short_roles: bool,
    messages: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The NRPS 2.0 §2.2 container: ``id`` (the request URL without paging), ``context`` and ``members``.

    ``messages`` maps a user id to the ``message`` array NRPS adds when asked about a resource link
    (``rlid``, NRPS 2.0 §3.2).
    """
    return {
        "id": url,
        "context": {"id": course.id, "label": course.label, "title": course.title},
        "members": [
            member_json(m, product_family, short_roles=short_roles, message=(messages or {}).get(m.user.id))
            for m in members
        ],
    }


# ---------------------------------------------------------------------------------------------------- AGS


@dataclass
class LineItem:
    """A gradebook column the tool can read and write through AGS 2.0 §3.2."""

    id: str
    context_id: str
    label: str
    score_maximum: float
    resource_link_id: str = ""
    resource_id: str = ""
    tag: str = ""
    start_date_time: str | None = None
    end_date_time: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def lineitem_json(item: LineItem, url: str, product_family: str) -> dict[str, Any]:
    """A line item document (svc_05_ags_lineitem.json); Moodle adds ``ltiLinkId`` to ``resourceLinkId``."""
    doc: dict[str, Any] = {
        "id": url,
        "label": item.label,
        "scoreMaximum": _number(item.score_maximum),
        "resourceId": item.resource_id,
        "tag": item.tag,
    }
    if item.resource_link_id or product_family == vocab.PRODUCT_MOODLE:
        doc["resourceLinkId"] = item.resource_link_id
    if product_family == vocab.PRODUCT_MOODLE and item.resource_link_id:
        doc["ltiLinkId"] = item.resource_link_id
    if item.start_date_time:
        doc["startDateTime"] = item.start_date_time
    if item.end_date_time:
        doc["endDateTime"] = item.end_date_time
    doc.update(item.extra)
    return doc


def parse_lineitem(payload: Any) -> dict[str, Any]:
    """Validate a line item the tool POSTs or PUTs (AGS 2.0 §3.2.5): ``label`` and a positive
    ``scoreMaximum`` are required; returns the fields for :class:`LineItem`."""
    if not isinstance(payload, dict):
        raise PlatformError("invalid_request", "a line item must be a JSON object")
    label = payload.get("label")
    if not isinstance(label, str) or not label.strip():
        raise PlatformError("invalid_request", "label is required")
    maximum = payload.get("scoreMaximum")
    if isinstance(maximum, bool) or not isinstance(maximum, int | float) or maximum <= 0:
        raise PlatformError("invalid_request", "scoreMaximum must be a number greater than 0")
    known = {
        "id",
        "label",
        "scoreMaximum",
        "resourceLinkId",
        "ltiLinkId",
        "resourceId",
        "tag",
        "startDateTime",
        "endDateTime",
    }
    return {
        "label": label,
        "score_maximum": float(maximum),
        "resource_link_id": str(payload.get("resourceLinkId") or ""),
        "resource_id": str(payload.get("resourceId") or ""),
        "tag": str(payload.get("tag") or ""),
        "start_date_time": payload.get("startDateTime"),
        "end_date_time": payload.get("endDateTime"),
        "extra": {k: v for k, v in payload.items() if k not in known},
    }


@dataclass(frozen=True)
class Score:
    """A score POSTed by the tool (AGS 2.0 §3.4), validated."""

    user_id: str
    timestamp: str
    at: datetime
    activity_progress: str
    grading_progress: str
    score_given: float | None = None
    score_maximum: float | None = None
    comment: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def counts_as_grade(self) -> bool:
        """Moodle keeps ``scoreGiven`` only when ``gradingProgress`` is ``FullyGraded``."""
        return self.score_given is not None and self.grading_progress == "FullyGraded"


def parse_timestamp(value: Any) -> datetime:
    """An ISO 8601 timestamp with a UTC offset (AGS 2.0 §3.4.3)."""
    if not isinstance(value, str):
        raise PlatformError("invalid_request", "timestamp is required")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PlatformError("invalid_request", f"timestamp {value!r} is not ISO 8601") from exc
    if parsed.tzinfo is None:
        raise PlatformError("invalid_request", f"timestamp {value!r} needs a UTC offset")
    return parsed


def parse_score(payload: Any) -> Score:
    """Validate a score body the way Moodle does, and to the letter of AGS 2.0 §3.4.

    Required: ``userId``, ``timestamp``, ``activityProgress`` and ``gradingProgress`` with their spec
    values; ``scoreGiven`` numeric and not negative, and then ``scoreMaximum`` positive.
    """
    if not isinstance(payload, dict):
        raise PlatformError("invalid_request", "a score must be a JSON object")
    user_id = payload.get("userId")
    if isinstance(user_id, bool) or not isinstance(user_id, str | int) or str(user_id) == "":
        raise PlatformError("invalid_request", "userId is required")
    at = parse_timestamp(payload.get("timestamp"))
    activity = payload.get("activityProgress")
    if activity not in vocab.ACTIVITY_PROGRESS:
        raise PlatformError("invalid_request", f"activityProgress {activity!r} is not one of AGS 2.0 §3.4.6")
    grading = payload.get("gradingProgress")
    if grading not in vocab.GRADING_PROGRESS:
        raise PlatformError("invalid_request", f"gradingProgress {grading!r} is not one of AGS 2.0 §3.4.7")
    given = payload.get("scoreGiven")
    maximum = payload.get("scoreMaximum")
    if given is not None:
        if isinstance(given, bool) or not isinstance(given, int | float) or given < 0:
            raise PlatformError("invalid_request", "scoreGiven must be a number, 0 or more")
        if isinstance(maximum, bool) or not isinstance(maximum, int | float) or maximum <= 0:
            raise PlatformError(
                "invalid_request", "scoreMaximum must accompany scoreGiven and be more than 0"
            )
    elif maximum is not None and (isinstance(maximum, bool) or not isinstance(maximum, int | float)):
        raise PlatformError("invalid_request", "scoreMaximum must be a number")
    comment = payload.get("comment")
    return Score(
        user_id=str(user_id),
        timestamp=str(payload["timestamp"]),
        at=at,
        activity_progress=str(activity),
        grading_progress=str(grading),
        score_given=None if given is None else float(given),
        score_maximum=None if maximum is None else float(maximum),
        comment=None if comment is None else str(comment),
        raw=dict(payload),
    )


def result_json(item: LineItem, lineitem_url: str, score: Score) -> dict[str, Any]:
    """A result (AGS 2.0 §3.3.1, svc_07_ags_results.json): the score scaled to the line item's maximum."""
    doc: dict[str, Any] = {
        "id": with_query(with_path_suffix(lineitem_url, "/results"), user_id=score.user_id),
        "userId": score.user_id,
    }
    if score.counts_as_grade and score.score_given is not None and score.score_maximum:
        doc["resultScore"] = _number(round(score.score_given / score.score_maximum * item.score_maximum, 5))
    doc["resultMaximum"] = _number(item.score_maximum)
    if score.comment is not None:
        doc["comment"] = score.comment
    doc["scoreOf"] = lineitem_url
    doc["timestamp"] = score.timestamp
    return doc
