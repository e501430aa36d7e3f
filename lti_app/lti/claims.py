"""Claim names of LTI 1.3 messages (LTI Core §5.3-5.4, AGS 2.0 §3.1, NRPS 2.0 §3.6.1, Deep Linking 2.0 §4.4),
spelt once so the launch and the mapping service cannot disagree."""

from __future__ import annotations

from typing import Final

LTI_VERSION: Final = "1.3.0"

_LTI: Final = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE: Final = _LTI + "message_type"
VERSION: Final = _LTI + "version"
DEPLOYMENT_ID: Final = _LTI + "deployment_id"
TARGET_LINK_URI: Final = _LTI + "target_link_uri"
RESOURCE_LINK: Final = _LTI + "resource_link"
ROLES: Final = _LTI + "roles"
ROLE_SCOPE_MENTOR: Final = _LTI + "role_scope_mentor"
CONTEXT: Final = _LTI + "context"
TOOL_PLATFORM: Final = _LTI + "tool_platform"
LAUNCH_PRESENTATION: Final = _LTI + "launch_presentation"
CUSTOM: Final = _LTI + "custom"
LIS: Final = _LTI + "lis"

AGS_ENDPOINT: Final = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS: Final = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING_SETTINGS: Final = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

RESOURCE_LINK_REQUEST: Final = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST: Final = "LtiDeepLinkingRequest"
# The message types Tandem answers; pylti1p3 also knows privacy and submission-review launches, which
# Tandem does not offer, so they are refused with a clear message instead of a blank page.
SUPPORTED_MESSAGE_TYPES: Final = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)
# The one content item type Tandem answers a deep linking request with (Deep Linking 2.0 §3.1).
RESOURCE_LINK_TYPE: Final = "ltiResourceLink"
