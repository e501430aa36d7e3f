"""Names the LTI 1.3 specifications fix: claim URIs, role URIs, scopes and media types.

Kept in one module so the platform core, the demo LMS and the test platform spell every URI the same way, and
so a reader can check each one against the spec it comes from in a single place.
"""

from __future__ import annotations

from typing import Final

LTI_VERSION: Final = "1.3.0"

# --- LTI 1.3 Core §5.3 (required message claims) and §5.4 (optional claims)
_LTI: Final = "https://purl.imsglobal.org/spec/lti/claim/"
CLAIM_MESSAGE_TYPE: Final = _LTI + "message_type"
CLAIM_VERSION: Final = _LTI + "version"
CLAIM_DEPLOYMENT_ID: Final = _LTI + "deployment_id"
CLAIM_TARGET_LINK_URI: Final = _LTI + "target_link_uri"
CLAIM_RESOURCE_LINK: Final = _LTI + "resource_link"
CLAIM_ROLES: Final = _LTI + "roles"
CLAIM_ROLE_SCOPE_MENTOR: Final = _LTI + "role_scope_mentor"
CLAIM_CONTEXT: Final = _LTI + "context"
CLAIM_TOOL_PLATFORM: Final = _LTI + "tool_platform"
CLAIM_LAUNCH_PRESENTATION: Final = _LTI + "launch_presentation"
CLAIM_CUSTOM: Final = _LTI + "custom"
CLAIM_LIS: Final = _LTI + "lis"
CLAIM_EXT: Final = _LTI + "ext"
# LTI 1.1 → 1.3 migration claims (LTI Core §C); Canvas sends both on every launch.
CLAIM_LTI11_LEGACY_USER_ID: Final = _LTI + "lti11_legacy_user_id"
CLAIM_LTI1P1: Final = _LTI + "lti1p1"

# --- Services advertised in the launch
CLAIM_AGS_ENDPOINT: Final = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"  # AGS 2.0 §3.1
CLAIM_NRPS: Final = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"  # NRPS 2.0 §3.6.1
CLAIM_BASIC_OUTCOME: Final = "https://purl.imsglobal.org/spec/lti-bo/claim/basicoutcome"  # LTI 1.1 outcomes

# --- Deep Linking 2.0 §4.4 (request) and §4.5 (response)
_DL: Final = "https://purl.imsglobal.org/spec/lti-dl/claim/"
CLAIM_DL_SETTINGS: Final = _DL + "deep_linking_settings"
CLAIM_DL_CONTENT_ITEMS: Final = _DL + "content_items"
CLAIM_DL_DATA: Final = _DL + "data"
CLAIM_DL_MSG: Final = _DL + "msg"
CLAIM_DL_LOG: Final = _DL + "log"
CLAIM_DL_ERRORMSG: Final = _DL + "errormsg"
CLAIM_DL_ERRORLOG: Final = _DL + "errorlog"

# --- Canvas extensions
CLAIM_CANVAS_PLACEMENT: Final = "https://www.instructure.com/placement"

# --- Message types
MSG_RESOURCE_LINK: Final = "LtiResourceLinkRequest"
MSG_DEEP_LINKING: Final = "LtiDeepLinkingRequest"
MSG_DEEP_LINKING_RESPONSE: Final = "LtiDeepLinkingResponse"

# --- Roles: LTI Core §A.2 (LIS vocabulary)
_LIS: Final = "http://purl.imsglobal.org/vocab/lis/v2/"
ROLE_LEARNER: Final = _LIS + "membership#Learner"
ROLE_INSTRUCTOR: Final = _LIS + "membership#Instructor"
ROLE_TEACHING_ASSISTANT: Final = _LIS + "membership/Instructor#TeachingAssistant"
ROLE_CONTENT_DEVELOPER: Final = _LIS + "membership#ContentDeveloper"
ROLE_MENTOR: Final = _LIS + "membership#Mentor"
ROLE_CONTEXT_ADMINISTRATOR: Final = _LIS + "membership#Administrator"
ROLE_INSTITUTION_ADMINISTRATOR: Final = _LIS + "institution/person#Administrator"
ROLE_INSTITUTION_INSTRUCTOR: Final = _LIS + "institution/person#Instructor"
ROLE_INSTITUTION_STUDENT: Final = _LIS + "institution/person#Student"
ROLE_SYSTEM_ADMINISTRATOR: Final = _LIS + "system/person#Administrator"
ROLE_SYSTEM_SYSADMIN: Final = _LIS + "system/person#SysAdmin"
ROLE_SYSTEM_USER: Final = _LIS + "system/person#User"

# Context types (LTI Core §A.1).
CONTEXT_COURSE_OFFERING: Final = _LIS + "course#CourseOffering"

# --- OAuth 2 scopes (Security Framework §4.1; AGS 2.0 §3.1; NRPS 2.0 §2.1)
SCOPE_LINEITEM: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE: Final = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS: Final = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPE_BASIC_OUTCOME: Final = "https://purl.imsglobal.org/spec/lti-bo/scope/basicoutcome"
SCOPE_TOOL_SETTING: Final = "https://purl.imsglobal.org/spec/lti-ts/scope/toolsetting"

# The order Moodle 4.5 lists them in the AGS claim of a launch (launch_student.json).
AGS_SCOPES: Final = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE)
SERVICE_SCOPES: Final = (*AGS_SCOPES, SCOPE_NRPS)

# --- Media types (AGS 2.0 §3.2-3.4, NRPS 2.0 §2.2)
MEDIA_LINEITEM: Final = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEM_CONTAINER: Final = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_SCORE: Final = "application/vnd.ims.lis.v1.score+json"
MEDIA_RESULT_CONTAINER: Final = "application/vnd.ims.lis.v2.resultcontainer+json"
MEDIA_MEMBERSHIP_CONTAINER: Final = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"

# --- OAuth 2 client credentials with a JWT assertion (Security Framework §4.1.1, RFC 7523 §2.2)
CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# --- Dynamic Registration 1.0 §3.1 / §3.4
TOOL_CONFIGURATION: Final = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION: Final = "https://purl.imsglobal.org/spec/lti-platform-configuration"

# AGS 2.0 §3.4.6-3.4.7: the only values a score's progress fields may take.
ACTIVITY_PROGRESS: Final = frozenset({"Initialized", "Started", "InProgress", "Submitted", "Completed"})
GRADING_PROGRESS: Final = frozenset({"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"})

PRODUCT_MOODLE: Final = "moodle"
PRODUCT_CANVAS: Final = "canvas"
