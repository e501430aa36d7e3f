"""Assignment and Grade Services 2.0 client: line items, scores and results.

Tandem reports programme completion to the LMS gradebook as a score on a line item. Scores are posted
by the outbox worker and may be replayed after a crash, which AGS makes harmless: the platform keeps the
score with the latest ``timestamp`` (LTI AGS 2.0, Score publish service), so the same score sent twice
changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import requests
from marshmallow import ValidationError, fields, post_load, validate

from . import scopes as lti_scopes
from .errors import LMSRequestError
from .http import json_body
from .schemas import BaseSchema, Identifier, OptionalText, describe_errors, load, response_error
from .service import ServiceClient
from .urls import append_path, link_urls, merge_query

# Media types of LTI AGS 2.0: Line item service, Result service, Score publish service.
LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
RESULT_CONTAINER = "application/vnd.ims.lis.v2.resultcontainer+json"
SCORE = "application/vnd.ims.lis.v1.score+json"


class ActivityProgress(StrEnum):
    """LTI AGS 2.0 score ``activityProgress``: the learner's progress on the activity."""

    INITIALIZED = "Initialized"
    STARTED = "Started"
    IN_PROGRESS = "InProgress"
    SUBMITTED = "Submitted"
    COMPLETED = "Completed"


class GradingProgress(StrEnum):
    """LTI AGS 2.0 score ``gradingProgress``: how far grading has gone; only ``FullyGraded`` scores
    reach the gradebook as final grades."""

    FULLY_GRADED = "FullyGraded"
    PENDING = "Pending"
    PENDING_MANUAL = "PendingManual"
    FAILED = "Failed"
    NOT_READY = "NotReady"


_ACTIVITY_PROGRESS = frozenset(m.value for m in ActivityProgress)
_GRADING_PROGRESS = frozenset(m.value for m in GradingProgress)


def _is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None


@dataclass(frozen=True, kw_only=True)
class LineItem:
    """A gradebook column (LTI AGS 2.0, Line item service).

    ``id`` is the line item URL, ``None`` until the platform created it.
    """

    id: str | None = None
    label: str
    score_maximum: float
    resource_id: str | None = None
    tag: str | None = None
    resource_link_id: str | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    grades_released: bool | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` if the platform would refuse this line item (LTI AGS 2.0: a
        non-empty ``label`` and a ``scoreMaximum`` greater than 0).

        Checked before sending rather than on construction: line items read from a platform are
        recorded as they are, even when they break these rules.
        """
        if not self.label or not self.label.strip():
            raise ValueError("a line item needs a non-empty label")
        if not math.isfinite(self.score_maximum) or self.score_maximum <= 0:
            raise ValueError("scoreMaximum must be a number greater than 0")
        for name in ("start_date_time", "end_date_time"):
            value = getattr(self, name)
            if value is not None and not _is_aware(value):
                raise ValueError(f"{name} must be timezone-aware")

    def to_json(self) -> dict[str, Any]:
        """The line item as AGS JSON, validated first."""
        self.validate()
        body: dict[str, Any] = {}
        if self.id is not None:
            body["id"] = self.id
        body["scoreMaximum"] = self.score_maximum
        body["label"] = self.label
        optional = {
            "resourceId": self.resource_id,
            "tag": self.tag,
            "resourceLinkId": self.resource_link_id,
            "startDateTime": self.start_date_time.isoformat() if self.start_date_time else None,
            "endDateTime": self.end_date_time.isoformat() if self.end_date_time else None,
            "gradesReleased": self.grades_released,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body


@dataclass(frozen=True, kw_only=True)
class Score:
    """A score for one user on one line item (LTI AGS 2.0, Score publish service).

    Invalid values raise ``ValueError`` here, before anything is sent, rather than a 400 from the
    platform later.
    """

    user_id: str
    score_given: float | None = None
    score_maximum: float | None = None
    activity_progress: str
    grading_progress: str
    timestamp: datetime
    comment: str | None = None

    def __post_init__(self) -> None:
        if not self.user_id:
            raise ValueError("a score needs the platform's user id")
        if self.activity_progress not in _ACTIVITY_PROGRESS:
            raise ValueError(f"activityProgress must be one of {', '.join(ActivityProgress)}")
        if self.grading_progress not in _GRADING_PROGRESS:
            raise ValueError(f"gradingProgress must be one of {', '.join(GradingProgress)}")
        if not _is_aware(self.timestamp):
            raise ValueError("the score timestamp must be timezone-aware")
        if self.score_given is not None:
            # LTI AGS 2.0 score rules: scoreGiven >= 0 and, when present, scoreMaximum > 0 with it.
            if not math.isfinite(self.score_given) or self.score_given < 0:
                raise ValueError("scoreGiven must be a number of at least 0")
            if self.score_maximum is None:
                raise ValueError("scoreMaximum is required when scoreGiven is given")
        if self.score_maximum is not None and (
            not math.isfinite(self.score_maximum) or self.score_maximum <= 0
        ):
            raise ValueError("scoreMaximum must be a number greater than 0")

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"userId": self.user_id}
        if self.score_given is not None:
            body["scoreGiven"] = self.score_given
        if self.score_maximum is not None:
            body["scoreMaximum"] = self.score_maximum
        if self.comment is not None:
            body["comment"] = self.comment
        body["activityProgress"] = str(self.activity_progress)
        body["gradingProgress"] = str(self.grading_progress)
        body["timestamp"] = self.timestamp.isoformat()  # ISO 8601 with offset, e.g. 2026-11-22T01:35:58+00:00
        return body


@dataclass(frozen=True)
class Result:
    """The gradebook's current value for one user on one line item (LTI AGS 2.0, Result service)."""

    id: str
    user_id: str
    score_of: str | None = None
    result_score: float | None = None
    result_maximum: float | None = None
    comment: str | None = None
    timestamp: datetime | None = None


class LineItemSchema(BaseSchema):
    id = fields.String(required=True, validate=validate.Length(min=1))
    label = fields.String(required=True)
    score_maximum = fields.Float(required=True, data_key="scoreMaximum")
    resource_id = OptionalText(data_key="resourceId")  # Moodle sends "" when unset
    tag = OptionalText()  # Moodle sends "" when unset
    resource_link_id = Identifier(data_key="resourceLinkId", load_default=None, allow_none=True)
    # Moodle also sends ltiLinkId, the name resourceLinkId had in AGS drafts; used when the other is absent.
    lti_link_id = Identifier(data_key="ltiLinkId", load_default=None, allow_none=True)
    start_date_time = fields.AwareDateTime(
        data_key="startDateTime", default_timezone=UTC, load_default=None, allow_none=True
    )
    end_date_time = fields.AwareDateTime(
        data_key="endDateTime", default_timezone=UTC, load_default=None, allow_none=True
    )
    grades_released = fields.Boolean(data_key="gradesReleased", load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> LineItem:
        lti_link_id = data.pop("lti_link_id")
        data["resource_link_id"] = data["resource_link_id"] or lti_link_id
        return LineItem(**data)


class ResultSchema(BaseSchema):
    id = fields.String(required=True, validate=validate.Length(min=1))
    user_id = Identifier(data_key="userId", required=True)
    score_of = fields.String(data_key="scoreOf", load_default=None, allow_none=True)
    result_score = fields.Float(data_key="resultScore", load_default=None, allow_none=True)
    result_maximum = fields.Float(data_key="resultMaximum", load_default=None, allow_none=True)
    comment = fields.String(load_default=None, allow_none=True)
    timestamp = fields.AwareDateTime(default_timezone=UTC, load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> Result:
        return Result(**data)


def _load_list(response: requests.Response, payload: Any, schema: BaseSchema, what: str) -> list[Any]:
    """Validate a container: a bare JSON array of objects (LTI AGS 2.0 line item and result
    containers)."""
    if not isinstance(payload, list):
        raise response_error(response, f"The LMS sent a {what} container that is not a JSON array")
    items = []
    for index, raw in enumerate(payload):
        try:
            if not isinstance(raw, dict):
                raise ValidationError("not a JSON object")
            items.append(schema.load(raw))
        except ValidationError as exc:
            raise response_error(
                response, f"The LMS sent an invalid {what} (#{index}): {describe_errors(exc)}"
            ) from None
    return items


class AssignmentGradesClient(ServiceClient):
    """Line items, scores and results for one platform (LTI AGS 2.0).

    Each operation asks for the narrowest scope it needs, unless ``shared_scopes`` (see
    :class:`~lms_clients.service.ServiceClient`) says to use one token for all of them.
    """

    # ---- line items (LTI AGS 2.0, Line item service)

    def iter_line_items(
        self,
        lineitems_url: str,
        *,
        resource_link_id: str | None = None,
        tag: str | None = None,
        resource_id: str | None = None,
        limit: int | None = None,
    ) -> Iterator[LineItem]:
        """Line items of the context, following ``rel="next"`` pages (LTI AGS 2.0 container paging)."""
        url: str | None = merge_query(
            lineitems_url,
            {"resource_link_id": resource_link_id, "tag": tag, "resource_id": resource_id, "limit": limit},
        )
        yield from self._paged(
            url, lti_scopes.AGS_LINEITEM_READONLY, LINEITEM_CONTAINER, "a line item container",
            LineItemSchema(), "line item",
        )

    def list_line_items(
        self,
        lineitems_url: str,
        resource_link_id: str | None = None,
        tag: str | None = None,
        resource_id: str | None = None,
        limit: int | None = None,
    ) -> list[LineItem]:
        """All line items matching the filters, every page read (``limit`` is the page size)."""
        pages = self.iter_line_items(
            lineitems_url, resource_link_id=resource_link_id, tag=tag, resource_id=resource_id, limit=limit
        )
        return list(pages)

    def get_line_item(self, lineitem_url: str) -> LineItem:
        response = self.call(
            "GET", lineitem_url, (lti_scopes.AGS_LINEITEM_READONLY,), accept=LINEITEM, expected=(200,)
        )
        return self._line_item_from(response)

    def create_line_item(self, lineitems_url: str, item: LineItem) -> LineItem:
        """POST a new line item to the line items URL; returns it with the ``id`` the platform gave.

        Not replayed after a lost answer: a second POST would create a second gradebook column.
        """
        body = item.to_json()
        body.pop("id", None)
        response = self.call(
            "POST",
            lineitems_url,
            (lti_scopes.AGS_LINEITEM,),
            json=body,
            content_type=LINEITEM,
            accept=LINEITEM,
            expected=(200, 201),
        )
        return self._line_item_from(response)

    def update_line_item(self, item: LineItem) -> LineItem:
        """PUT the whole line item to its URL (LTI AGS 2.0 update); returns the platform's version."""
        if not item.id:
            raise ValueError("only a line item with an id (its URL) can be updated")
        response = self.call(
            "PUT",
            item.id,
            (lti_scopes.AGS_LINEITEM,),
            json=item.to_json(),
            content_type=LINEITEM,
            accept=LINEITEM,
            expected=(200, 201, 204),
        )
        if response.status_code == 204 or not response.content.strip():
            return item  # some platforms acknowledge without echoing the line item
        return self._line_item_from(response)

    def delete_line_item(self, lineitem_url: str) -> None:
        self.call("DELETE", lineitem_url, (lti_scopes.AGS_LINEITEM,), expected=(200, 202, 204))

    def _line_item_from(self, response: requests.Response) -> LineItem:
        payload = json_body(response, media_types=(LINEITEM,), what="a line item")
        item: LineItem = load(LineItemSchema(), payload, response, "line item")
        return item

    # ---- scores (LTI AGS 2.0, Score publish service)

    def post_score(self, lineitem_url: str, score: Score) -> None:
        """Publish ``score`` to ``<line item>/scores``, keeping the line item's query (Moodle's
        ``?type_id=``). Moodle answers 200 with an empty body; the spec allows 200, 201, 202 or 204 and
        no body is expected, so none is read. Safe to replay (see the module docstring)."""
        self.call(
            "POST",
            append_path(lineitem_url, "scores"),
            (lti_scopes.AGS_SCORE,),
            json=score.to_json(),
            content_type=SCORE,
            expected=(200, 201, 202, 204),
            idempotent=True,
        )

    def _paged(
        self, url: str | None, scope: str, media_type: str, what: str, schema: Any, noun: str
    ) -> Iterator[Any]:
        """Items of a container and of every ``rel="next"`` page after it (LTI AGS 2.0 container paging).
        Moodle, like the spec, answers a bare JSON array (no wrapping object); a next link that loops back
        to a page already read is an error, not an endless read."""
        seen: set[str] = set()
        while url is not None:
            if url in seen:
                raise LMSRequestError("The LMS paging links loop back to a page already read", url=url)
            seen.add(url)
            response = self.call("GET", url, (scope,), accept=media_type, expected=(200,))
            payload = json_body(response, media_types=(media_type,), what=what)
            yield from _load_list(response, payload, schema, noun)
            url = link_urls(response.headers.get("Link"), response.url).get("next")

    # ---- results (LTI AGS 2.0, Result service)

    def iter_results(
        self, lineitem_url: str, *, user_id: str | None = None, limit: int | None = None
    ) -> Iterator[Result]:
        url: str | None = merge_query(
            append_path(lineitem_url, "results"), {"user_id": user_id, "limit": limit}
        )
        yield from self._paged(
            url, lti_scopes.AGS_RESULT_READONLY, RESULT_CONTAINER, "a result container", ResultSchema(), "result"
        )

    def results(
        self, lineitem_url: str, user_id: str | None = None, limit: int | None = None
    ) -> list[Result]:
        """Current results on a line item, for one user or all (``<line item>/results``, query kept)."""
        return list(self.iter_results(lineitem_url, user_id=user_id, limit=limit))


def parse_line_item(data: Mapping[str, Any]) -> LineItem:
    """Validate one line item object (e.g. from a Deep Linking answer or a stored copy)."""
    item: LineItem = LineItemSchema().load(dict(data))
    return item
