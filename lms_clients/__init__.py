"""Clients for the LMS services Tandem calls: LTI Advantage (AGS, NRPS) and Moodle web services.

Plain Python on ``requests``, independent of Flask, so the web app, the outbox worker and the CLI share
them. Every failure surfaces as :class:`LMSRequestError`.

Typical wiring, once per platform registration::

    http = LMSHttp()
    tokens = TokenClient(ServiceRegistration(issuer, client_id, token_url), key_provider, http)
    grades = AssignmentGradesClient(http, tokens)
    roster = NamesRolesClient(http, tokens)
"""

from . import scopes
from .ags import (
    LINEITEM,
    LINEITEM_CONTAINER,
    RESULT_CONTAINER,
    SCORE,
    ActivityProgress,
    AssignmentGradesClient,
    GradingProgress,
    LineItem,
    Result,
    Score,
)
from .errors import LMSRequestError
from .http import LMSHttp
from .moodle import (
    CompletionCriterion,
    CourseCompletionStatus,
    MoodleCustomField,
    MoodleSiteInfo,
    MoodleUser,
    MoodleWebServiceClient,
)
from .nrps import (
    MEMBERSHIP_CONTAINER,
    Member,
    MemberIterator,
    MembershipContext,
    MembershipPage,
    NamesRolesClient,
    normalise_role,
)
from .scopes import (
    AGS_LINEITEM,
    AGS_LINEITEM_READONLY,
    AGS_RESULT_READONLY,
    AGS_SCORE,
    NRPS_CONTEXT_MEMBERSHIP_READONLY,
)
from .service import ServiceClient
from .token import DEFAULT_TOKEN_CACHE, ServiceRegistration, SigningKey, TokenCache, TokenClient

__all__ = [
    "AGS_LINEITEM",
    "AGS_LINEITEM_READONLY",
    "AGS_RESULT_READONLY",
    "AGS_SCORE",
    "DEFAULT_TOKEN_CACHE",
    "LINEITEM",
    "LINEITEM_CONTAINER",
    "MEMBERSHIP_CONTAINER",
    "NRPS_CONTEXT_MEMBERSHIP_READONLY",
    "RESULT_CONTAINER",
    "SCORE",
    "ActivityProgress",
    "AssignmentGradesClient",
    "CompletionCriterion",
    "CourseCompletionStatus",
    "GradingProgress",
    "LMSHttp",
    "LMSRequestError",
    "LineItem",
    "Member",
    "MemberIterator",
    "MembershipContext",
    "MembershipPage",
    "MoodleCustomField",
    "MoodleSiteInfo",
    "MoodleUser",
    "MoodleWebServiceClient",
    "NamesRolesClient",
    "Result",
    "Score",
    "ServiceClient",
    "ServiceRegistration",
    "SigningKey",
    "TokenCache",
    "TokenClient",
    "normalise_role",
    "scopes",
]
