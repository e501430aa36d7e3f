"""LTI roles → Tandem roles.

Reading a role in any of its spellings (full URIs, sub-roles, simple names, LTI 1.1 URNs) is the LIS
vocabulary's business and lives in :mod:`lms_clients.roles`, the one parser launches and rosters share.
This module decides what a parsed role means to Tandem.

Only *context* (membership) roles give course rights; for a sub-role the principal decides, so a
``Learner#Instructor`` sub-role stays a learner. Institution roles describe the person, not the course:
Canvas sends ``institution/person#Instructor`` for every teacher, also in courses where that teacher is a
student, so it must not make anyone a trainer. Institution and system *Administrator* (and the system
``SysAdmin`` Canvas uses for site admins) make a platform admin.
"""

from __future__ import annotations

from collections.abc import Iterable

from lms_clients.roles import INSTITUTION, LIS, MEMBERSHIP, SYSTEM, LtiRole, parse_role
from lti_app.models.person import ADMIN, LMS_MENTOR, PARTICIPANT, TANDEM_ROLES, TRAINER

__all__ = [
    "INSTITUTION",
    "LIS",
    "MEMBERSHIP",
    "SYSTEM",
    "LtiRole",
    "is_mentor_scope_role",
    "parse_role",
    "tandem_role",
    "tandem_roles",
]

_CONTEXT_ROLES = {
    "Learner": PARTICIPANT,
    "Instructor": TRAINER,
    "TeachingAssistant": TRAINER,  # as some platforms send it: membership#TeachingAssistant
    "ContentDeveloper": TRAINER,
    # A context Administrator administers the course (not the platform): a trainer there.
    "Administrator": TRAINER,
    "Mentor": LMS_MENTOR,
}
_ADMIN_ROLES = {(INSTITUTION, "Administrator"), (SYSTEM, "Administrator"), (SYSTEM, "SysAdmin")}


def tandem_role(raw: str) -> str | None:
    role = parse_role(raw)
    if role is None:
        return None
    if role.scope == MEMBERSHIP:
        return _CONTEXT_ROLES.get(role.principal)
    if (role.scope, role.principal) in _ADMIN_ROLES:
        return ADMIN
    return None


def tandem_roles(lti_roles: Iterable[str] | None) -> list[str]:
    """The Tandem roles for a list of LTI roles, without duplicates, in the fixed order of
    ``TANDEM_ROLES`` (so two launches with the same roles store the same list)."""
    found = {role for role in (tandem_role(raw) for raw in lti_roles or ()) if role}
    return [role for role in TANDEM_ROLES if role in found]


def is_mentor_scope_role(lti_roles: Iterable[str] | None) -> bool:
    """Whether ``role_scope_mentor`` means anything for these roles (LTI Core §5.4.3: only with Mentor)."""
    return LMS_MENTOR in tandem_roles(lti_roles)
