"""The id_token claims of a launch, shaped like the LMS the platform pretends to be.

``moodle`` reproduces Moodle 4.5 claim for claim and in Moodle's order (launch_student.json,
launch_teacher.json, launch_deeplink_teacher.json); ``canvas`` reproduces Canvas's launches; any other
product family gets the claims of LTI 1.3 Core §5.3-5.4 without product quirks. A tool that accepts these
accepts the real thing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from . import vocab
from .model import (
    Course,
    DeepLinkingSettings,
    Launch,
    PlatformConfig,
    ResourceLink,
    User,
    default_target,
    role_uris,
)


def build_id_token_claims(
    config: PlatformConfig, user: User, launch: Launch, *, nonce: str, now: int | None = None
) -> dict[str, Any]:
    """The id_token claims for ``launch``, shaped like the configured product's.

    ``moodle`` reproduces Moodle 4.5's claims, their order and its quirks (string ``aud``, LTI 1.1 basic
    outcome claim, ``ext``); ``canvas`` reproduces Canvas's (list ``aud`` with ``azp``, institution roles,
    ``lti11_legacy_user_id``, ``picture``, ``locale``); anything else gets the plain spec claims.
    """
    issued = int(time.time()) if now is None else now
    if launch.kind not in ("resource_link", "deep_linking"):
        raise ValueError(f"unknown launch kind {launch.kind!r}")
    if launch.kind == "resource_link" and launch.resource_link is None:
        raise ValueError("a resource link launch needs a resource_link (LTI Core §5.3.5)")
    builder = {vocab.PRODUCT_MOODLE: _moodle_claims, vocab.PRODUCT_CANVAS: _canvas_claims}.get(
        config.product_family, _generic_claims
    )
    claims = builder(_Message(config, user, launch, nonce, issued))
    claims.update(launch.extra_claims)
    return claims


@dataclass(frozen=True)
class _Message:
    """Everything a claim builder reads, computed once."""

    config: PlatformConfig
    user: User
    launch: Launch
    nonce: str
    iat: int

    @property
    def exp(self) -> int:
        return self.iat + self.config.id_token_lifetime

    @property
    def is_deep_linking(self) -> bool:
        return self.launch.kind == "deep_linking"

    @property
    def message_type(self) -> str:
        return vocab.MSG_DEEP_LINKING if self.is_deep_linking else vocab.MSG_RESOURCE_LINK

    @property
    def target_link_uri(self) -> str:
        return self.launch.target_link_uri or default_target(self.config, self.launch)

    @property
    def roles(self) -> list[str]:
        return role_uris(self.launch.roles, self.config.product_family)

    @property
    def memberships_url(self) -> str:
        if not self.config.memberships_url:
            return ""
        # NRPS URLs carry no type_id: Moodle's memberships URL has the tool type in its path instead.
        return self.config.memberships_url.format(context_id=quote(self.launch.course.id, safe=""))

    @property
    def lineitems_url(self) -> str:
        if not self.config.lineitems_url:
            return ""
        return self.config.service_url(self.config.lineitems_url, context_id=self.launch.course.id)

    @property
    def lineitem_url(self) -> str:
        link = self.launch.resource_link
        if self.is_deep_linking or not self.config.lineitem_url or link is None or link.line_item_id is None:
            return ""
        return self.config.service_url(
            self.config.lineitem_url, context_id=self.launch.course.id, lineitem_id=link.line_item_id
        )

    def ags_claim(self, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """AGS 2.0 §3.1: the scopes the tool may ask for and the container (and line item) URLs."""
        if not self.lineitems_url:
            return None
        claim: dict[str, Any] = {"scope": list(self.config.ags_scopes), "lineitems": self.lineitems_url}
        if self.lineitem_url:
            claim["lineitem"] = self.lineitem_url
        claim.update(extra or {})
        return claim

    def custom(self) -> dict[str, str]:
        """Link-level parameters first, then tool-level ones, with substitution variables resolved.

        That is Moodle's order (launch_student.json: the activity's ``activity_param`` before the tool
        type's ``lab_param``); unknown ``$Variables`` stay as they are (LTI Core §5.4.6).
        """
        merged = {**dict(self.launch.custom), **dict(self.config.custom)}
        variables = self.variables()
        return {name: _substitute(str(value), variables) for name, value in merged.items()}

    def variables(self) -> dict[str, str]:
        """The substitution variables of LTI Core Appendix C that a test tool is likely to ask for."""
        user, course, link = self.user, self.launch.course, self.launch.resource_link
        values = {
            "$User.id": user.id,
            "$User.username": user.username,
            "$Person.name.full": user.name,
            "$Person.name.given": user.given_name,
            "$Person.name.family": user.family_name,
            "$Person.email.primary": user.email,
            "$Person.sourcedId": user.lis_person_sourcedid,
            "$Context.id": course.id,
            "$Context.title": course.title,
            "$Context.label": course.label,
            "$CourseSection.title": course.title,
            "$CourseSection.label": course.label,
            "$ToolProxyBinding.memberships.url": self.memberships_url,
            "$LineItems.url": self.lineitems_url,
            "$LineItem.url": self.lineitem_url,
        }
        if link is not None:
            values.update(
                {
                    "$ResourceLink.id": link.id,
                    "$ResourceLink.title": link.title,
                    "$ResourceLink.description": link.description,
                }
            )
        return values

    def deep_linking_settings(self, family: str) -> dict[str, Any]:
        """Deep Linking 2.0 §4.4.1, with each product's defaults for the fields left open."""
        settings = self.launch.deep_linking or DeepLinkingSettings()
        return_url = settings.return_url or self.config.deep_link_return_url
        if not return_url:
            raise ValueError("a deep linking launch needs a deep_link_return_url")
        claim: dict[str, Any]
        if family == vocab.PRODUCT_CANVAS:
            claim = {
                "deep_link_return_url": return_url,
                "accept_types": list(settings.accept_types),
                "accept_presentation_document_targets": list(
                    settings.accept_presentation_document_targets or ("iframe", "window")
                ),
                "accept_media_types": "application/vnd.ims.lti.v1.ltilink",
                "auto_create": True if settings.auto_create is None else settings.auto_create,
                "accept_multiple": False if settings.accept_multiple is None else settings.accept_multiple,
            }
        else:
            # Moodle's keys and order (launch_deeplink_teacher.json); title and text are the tool type's.
            claim = {
                "accept_types": list(settings.accept_types),
                "accept_presentation_document_targets": list(
                    settings.accept_presentation_document_targets or ("frame", "iframe", "window")
                ),
                "accept_copy_advice": False,
                "accept_multiple": True if settings.accept_multiple is None else settings.accept_multiple,
                "accept_unsigned": False,
                "auto_create": False if settings.auto_create is None else settings.auto_create,
                "can_confirm": False,
                "deep_link_return_url": return_url,
                "title": self.config.tool_name if settings.title is None else settings.title,
                "text": self.config.tool_description if settings.text is None else settings.text,
            }
        if settings.data is not None:
            # Deep Linking 2.0 §4.4.1: opaque value the tool must echo in its response.
            claim["data"] = settings.data
        return claim

    def mentor_scope(self, claims: dict[str, Any]) -> None:
        """LTI Core §5.4.3: a mentor's launch lists the user ids of the people they mentor."""
        if vocab.ROLE_MENTOR in self.roles and self.launch.mentees:
            claims[vocab.CLAIM_ROLE_SCOPE_MENTOR] = list(self.launch.mentees)


def _substitute(value: str, variables: Mapping[str, str]) -> str:
    return variables.get(value, value) if value.startswith("$") else value


def _moodle_claims(msg: _Message) -> dict[str, Any]:
    """Moodle 4.5's claims in Moodle's order (launch_student.json, launch_deeplink_teacher.json)."""
    config, user, launch = msg.config, msg.user, msg.launch
    course = launch.course
    claims: dict[str, Any] = {
        "nonce": msg.nonce,
        "iat": msg.iat,
        "exp": msg.exp,
        "iss": config.issuer,
        "aud": [config.client_id] if config.aud_as_list else config.client_id,
        vocab.CLAIM_DEPLOYMENT_ID: config.deployment_id,
        vocab.CLAIM_TARGET_LINK_URI: msg.target_link_uri,
        "sub": user.id,
        vocab.CLAIM_LIS: {"person_sourcedid": user.lis_person_sourcedid, "course_section_sourcedid": ""},
        vocab.CLAIM_ROLES: msg.roles,
        vocab.CLAIM_CONTEXT: {
            "id": course.id,
            "label": course.label,
            "title": course.title,
            "type": list(course.types or ("CourseSection",)),
        },
        vocab.CLAIM_MESSAGE_TYPE: msg.message_type,
    }
    link = launch.resource_link
    if not msg.is_deep_linking and link is not None:
        claims[vocab.CLAIM_RESOURCE_LINK] = {
            "title": link.title,
            "description": link.description,
            "id": link.id,
        }
        if config.outcome_service_url:
            # Moodle still sends the LTI 1.1 Basic Outcomes claim next to AGS.
            claims[vocab.CLAIM_BASIC_OUTCOME] = {
                "lis_result_sourcedid": _moodle_sourcedid(config, user, link),
                "lis_outcome_service_url": config.outcome_service_url,
            }
    msg.mentor_scope(claims)
    claims.update({"given_name": user.given_name, "family_name": user.family_name, "name": user.name})
    claims[vocab.CLAIM_EXT] = {"user_username": user.username, "lms": "moodle-2"}
    claims["email"] = user.email
    if msg.is_deep_linking:
        claims[vocab.CLAIM_LAUNCH_PRESENTATION] = {"locale": user.locale}
    else:
        claims[vocab.CLAIM_LAUNCH_PRESENTATION] = {
            "locale": user.locale,
            "document_target": "iframe",
            "return_url": _return_url(config, course),
        }
    claims[vocab.CLAIM_TOOL_PLATFORM] = {
        "product_family_code": vocab.PRODUCT_MOODLE,
        "version": config.platform_version or "2024100706",
        "guid": config.platform_guid
        or hashlib.md5(config.issuer.encode(), usedforsecurity=False).hexdigest(),
        "name": config.platform_name,
        "description": config.platform_description,
    }
    claims[vocab.CLAIM_VERSION] = vocab.LTI_VERSION
    claims[vocab.CLAIM_CUSTOM] = msg.custom()
    ags = msg.ags_claim()
    if ags is not None:
        claims[vocab.CLAIM_AGS_ENDPOINT] = ags
    if msg.memberships_url:
        claims[vocab.CLAIM_NRPS] = {
            "context_memberships_url": msg.memberships_url,
            "service_versions": ["1.0", "2.0"],
        }
    if msg.is_deep_linking:
        claims[vocab.CLAIM_DL_SETTINGS] = msg.deep_linking_settings(vocab.PRODUCT_MOODLE)
    return claims


def _moodle_sourcedid(config: PlatformConfig, user: User, link: ResourceLink) -> str:
    """Moodle's signed LTI 1.1 result sourcedid: JSON data plus a hash of it."""
    data = {
        "instanceid": link.id,
        "userid": user.id,
        "typeid": config.deployment_id,
        "launchid": secrets.randbelow(2**31),
    }
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return json.dumps({"data": data, "hash": digest}, separators=(",", ":"))


def _return_url(config: PlatformConfig, course: Course) -> str:
    base = config.return_url or f"{config.issuer}/return"
    return base + ("&" if "?" in base else "?") + urlencode({"course": course.id})


def _canvas_claims(msg: _Message) -> dict[str, Any]:
    """Canvas's claims: list ``aud`` with ``azp``, institution roles, LTI 1.1 migration claims, picture."""
    config, user, launch = msg.config, msg.user, msg.launch
    course = launch.course
    claims: dict[str, Any] = {
        vocab.CLAIM_MESSAGE_TYPE: msg.message_type,
        vocab.CLAIM_VERSION: vocab.LTI_VERSION,
    }
    link = launch.resource_link
    if not msg.is_deep_linking and link is not None:
        claims[vocab.CLAIM_RESOURCE_LINK] = {
            "id": link.id,
            "description": link.description or None,
            "title": link.title,
        }
    ags = msg.ags_claim()
    if ags is not None:
        claims[vocab.CLAIM_AGS_ENDPOINT] = ags
    aud_list = True if config.aud_as_list is None else config.aud_as_list
    claims.update(
        {
            # OIDC Core §2: with aud a list, azp names the party the token was issued to.
            "aud": [config.client_id] if aud_list else config.client_id,
            "azp": config.client_id,
            vocab.CLAIM_DEPLOYMENT_ID: config.deployment_id,
            "exp": msg.exp,
            "iat": msg.iat,
            "iss": config.issuer,
            "nonce": msg.nonce,
            "sub": user.id,
            vocab.CLAIM_TARGET_LINK_URI: msg.target_link_uri,
            vocab.CLAIM_CONTEXT: {
                "id": course.id,
                "label": course.label,
                "title": course.title,
                "type": list(course.types or (vocab.CONTEXT_COURSE_OFFERING,)),
            },
            vocab.CLAIM_TOOL_PLATFORM: {
                "guid": config.platform_guid
                or hashlib.md5(config.issuer.encode(), usedforsecurity=False).hexdigest(),
                "name": config.platform_name,
                "version": config.platform_version or "cloud",
                "product_family_code": vocab.PRODUCT_CANVAS,
            },
            vocab.CLAIM_LAUNCH_PRESENTATION: {
                "document_target": "iframe",
                "return_url": _return_url(config, course),
                "locale": user.locale,
                "height": 400,
                "width": 800,
            },
            "locale": user.locale,
            vocab.CLAIM_ROLES: msg.roles,
            vocab.CLAIM_CUSTOM: msg.custom(),
            vocab.CLAIM_LTI11_LEGACY_USER_ID: user.legacy_user_id
            or hashlib.sha1(user.id.encode(), usedforsecurity=False).hexdigest(),
            vocab.CLAIM_LTI1P1: {"user_id": user.legacy_user_id or user.id},
        }
    )
    msg.mentor_scope(claims)
    if msg.memberships_url:
        claims[vocab.CLAIM_NRPS] = {
            "context_memberships_url": msg.memberships_url,
            "service_versions": ["2.0"],
        }
    claims[vocab.CLAIM_CANVAS_PLACEMENT] = "link_selection" if msg.is_deep_linking else "course_navigation"
    claims.update(
        {
            "picture": user.picture or f"{config.issuer}/images/messages/avatar-50.png",
            "email": user.email,
            "name": user.name,
            "given_name": user.given_name,
            "family_name": user.family_name,
            vocab.CLAIM_LIS: {
                "person_sourcedid": user.lis_person_sourcedid or None,
                "course_offering_sourcedid": None,
            },
        }
    )
    if msg.is_deep_linking:
        claims[vocab.CLAIM_DL_SETTINGS] = msg.deep_linking_settings(vocab.PRODUCT_CANVAS)
    return claims


def _generic_claims(msg: _Message) -> dict[str, Any]:
    """The claims LTI 1.3 Core §5.3 requires plus the common optional ones, without product quirks."""
    config, user, launch = msg.config, msg.user, msg.launch
    course = launch.course
    claims: dict[str, Any] = {
        "iss": config.issuer,
        "aud": [config.client_id] if config.aud_as_list else config.client_id,
        "sub": user.id,
        "nonce": msg.nonce,
        "iat": msg.iat,
        "exp": msg.exp,
        vocab.CLAIM_MESSAGE_TYPE: msg.message_type,
        vocab.CLAIM_VERSION: vocab.LTI_VERSION,
        vocab.CLAIM_DEPLOYMENT_ID: config.deployment_id,
        vocab.CLAIM_TARGET_LINK_URI: msg.target_link_uri,
        vocab.CLAIM_ROLES: msg.roles,
        vocab.CLAIM_CONTEXT: {
            "id": course.id,
            "label": course.label,
            "title": course.title,
            "type": list(course.types or (vocab.CONTEXT_COURSE_OFFERING,)),
        },
        vocab.CLAIM_TOOL_PLATFORM: {
            "guid": config.platform_guid or config.issuer,
            "name": config.platform_name,
            "product_family_code": config.product_family,
        },
        vocab.CLAIM_LAUNCH_PRESENTATION: {"locale": user.locale, "document_target": "iframe"},
        vocab.CLAIM_CUSTOM: msg.custom(),
        "given_name": user.given_name,
        "family_name": user.family_name,
        "name": user.name,
        "email": user.email,
    }
    if config.aud_as_list:
        claims["azp"] = config.client_id
    if user.picture:
        claims["picture"] = user.picture
    link = launch.resource_link
    if not msg.is_deep_linking and link is not None:
        claims[vocab.CLAIM_RESOURCE_LINK] = {
            "id": link.id,
            "title": link.title,
            "description": link.description,
        }
    msg.mentor_scope(claims)
    ags = msg.ags_claim()
    if ags is not None:
        claims[vocab.CLAIM_AGS_ENDPOINT] = ags
    if msg.memberships_url:
        claims[vocab.CLAIM_NRPS] = {
            "context_memberships_url": msg.memberships_url,
            "service_versions": ["2.0"],
        }
    if msg.is_deep_linking:
        claims[vocab.CLAIM_DL_SETTINGS] = msg.deep_linking_settings("generic")
    return claims
