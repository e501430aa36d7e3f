"""Putting a programme in a course: the Deep Linking answer (an ``ltiResourceLink`` naming the programme,
with the line item completion is written to), and programmes bound to resource links.

The programme travels in the link's custom parameters (``tandem_programme``), so the platform repeats it on
every launch of the link; the first launch binds the placement to the programme. A placement added without
deep linking (the tool added by URL) has no programme until a trainer picks one on it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from lti_app.domain.numbers import parse_id
from lti_app.errors import LaunchError, NotFound, ValidationFailed
from lti_app.lti import claims as c
from lti_app.models.course import Placement
from lti_app.models.programme import Programme
from lti_app.services.access import Actor, load_course, require_trainer
from lti_app.services.programmes import create_programme

CUSTOM_PROGRAMME = "tandem_programme"
RESOURCE_LINK = "ltiResourceLink"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
DL_MESSAGE = "https://purl.imsglobal.org/spec/lti-dl/claim/msg"
RESPONSE_LIFETIME = 600
TITLE_MAX = 200


def resource_id(programme: Programme) -> str:
    """The line item's ``resourceId``: the programme, stable across line items and platforms."""
    return f"tandem-programme-{programme.id}"


def deep_linking_settings(launch_data: Mapping[str, Any]) -> dict[str, Any]:
    """The request's settings (Deep Linking 2.0 §4.4.1), refused clearly when Tandem cannot answer them."""
    if launch_data.get(c.MESSAGE_TYPE) != c.DEEP_LINKING_REQUEST:
        raise LaunchError(
            "This page answers a deep linking request, and this launch is not one. "
            "Add Tandem to the course from the LMS's activity chooser.",
            code="not_deep_linking",
        )
    settings = launch_data.get(c.DEEP_LINKING_SETTINGS)
    if not isinstance(settings, dict) or not settings.get("deep_link_return_url"):
        raise LaunchError("The LMS did not say where to send the chosen programme (no deep_link_return_url).",
                          code="missing_claim")
    accepted = settings.get("accept_types") or []
    if RESOURCE_LINK not in accepted:
        kinds = ", ".join(str(a) for a in accepted) or "nothing"
        raise LaunchError(
            f"This LMS asked for content of type {kinds}, but Tandem can only be added as an LTI resource "
            "link (ltiResourceLink). Add Tandem as an external tool activity instead.",
            code="unsupported_content_type",
            details={"accept_types": [str(a) for a in accepted]},
        )
    return settings


def programme_choices(session: Session, actor: Actor, course_id: int) -> list[Programme]:
    """The course's programmes a trainer may put in a placement (drafts too: they are the trainer's)."""
    require_trainer(session, actor, course_id)
    return list(
        session.scalars(
            select(Programme).where(Programme.course_id == course_id).order_by(Programme.title, Programme.id)
        )
    )


def choose_programme(
    session: Session, actor: Actor, course_id: int, *, programme_id: int | None = None, title: str = ""
) -> Programme:
    """An existing programme of the course, or a new one with ``title``."""
    require_trainer(session, actor, course_id)
    if programme_id is not None:
        programme = session.get(Programme, programme_id)
        if programme is None or programme.course_id != course_id:
            raise NotFound("No such programme in this course.")
        return programme
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("Choose a programme or name a new one.",
                               details={"title": ["Name the new programme, or pick an existing one."]})
    return create_programme(session, actor, course_id, {"title": title[:TITLE_MAX]})


def content_item(programme: Programme, launch_url: str) -> dict[str, Any]:
    """The ``ltiResourceLink`` for a programme, with the line item completion is written to (Deep Linking
    2.0 §3.2; the platform creates the line item with the link, AGS 2.0 §3.2.8)."""
    return {
        "type": RESOURCE_LINK,
        "title": programme.title,
        "text": (programme.description or "")[:1000],
        "url": launch_url,
        "custom": {CUSTOM_PROGRAMME: str(programme.id)},
        "lineItem": {
            "scoreMaximum": programme.score_maximum,
            "label": f"{programme.title} (mentoring completion)"[:255],
            "resourceId": resource_id(programme),
            "tag": programme.lineitem_tag,
        },
    }


def response_jwt(
    *,
    client_id: str,
    issuer: str,
    deployment_id: str,
    settings: Mapping[str, Any],
    items: list[dict[str, Any]],
    kid: str,
    private_key_pem: str,
    now: float | None = None,
) -> str:
    """The signed ``LtiDeepLinkingResponse`` (Deep Linking 2.0 §4.5; Security Framework §5.2): from the
    tool (``iss`` = client id) to the platform (``aud`` = issuer), RS256 with the tool key the JWKS
    publishes, echoing ``data`` unchanged when the request carried it."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": client_id,
        "aud": [issuer],
        "iat": issued,
        "exp": issued + RESPONSE_LIFETIME,
        "nonce": uuid.uuid4().hex,
        c.DEPLOYMENT_ID: deployment_id,
        c.MESSAGE_TYPE: DEEP_LINKING_RESPONSE,
        c.VERSION: c.LTI_VERSION,
        CONTENT_ITEMS: items,
    }
    if settings.get("data") is not None:
        claims[DL_DATA] = settings["data"]
    return jwt.encode(claims, private_key_pem, algorithm="RS256", headers={"kid": kid})


# ------------------------------------------------------------------------------------------- placements


def programme_for_placement(session: Session, placement: Placement) -> Programme | None:
    """The programme a resource link shows: the one bound to it, else the one its custom parameter names
    (bound now, with the line item the launch gave for the link). ``None`` when it has none yet."""
    bound = session.scalar(
        select(Programme).where(Programme.placement_id == placement.id).order_by(Programme.id).limit(1)
    )
    if bound is not None:
        return bound
    named = _custom_programme_id(placement.custom)
    if named is None:
        return None
    programme = session.get(Programme, named)
    # Only a programme of the same course: a custom parameter is the LMS's text, not a permission.
    if programme is None or programme.course_id != placement.course_id:
        return None
    if programme.placement_id is None:
        programme.placement_id = placement.id
        if programme.lineitem_url is None and placement.lineitem_url:
            programme.lineitem_url = placement.lineitem_url
        session.flush()
    return programme


def attach_programme(
    session: Session, actor: Actor, placement_id: int, *, programme_id: int | None = None, title: str = ""
) -> Programme:
    """A trainer sets up a resource link that has no programme: an existing one or a new one."""
    placement = session.get(Placement, placement_id)
    if placement is None:
        raise NotFound("No such placement.")
    require_trainer(session, actor, placement.course_id)
    programme = choose_programme(session, actor, placement.course_id, programme_id=programme_id, title=title)
    programme.placement_id = placement.id
    if programme.lineitem_url is None and placement.lineitem_url:
        programme.lineitem_url = placement.lineitem_url
    session.flush()
    return programme


def placement_for(session: Session, actor: Actor, placement_id: int) -> Placement:
    """A placement of a course the actor launched into (or administers)."""
    placement = session.get(Placement, placement_id)
    if placement is None:
        raise NotFound("No such placement.")
    load_course(session, actor, placement.course_id)
    return placement


def _custom_programme_id(custom: Mapping[str, Any] | None) -> int | None:
    """The programme id a custom parameter names: the LMS's text, so only ASCII digits within an id's
    range count (anything else names no programme)."""
    for key in (CUSTOM_PROGRAMME, "custom_" + CUSTOM_PROGRAMME):
        found = parse_id((custom or {}).get(key))
        if found is not None:
            return found
    return None
