"""LTI roles → Tandem roles.

Platforms spell the same role several ways, and all of them must land on the same Tandem role:

* full URIs (LTI Core §A.2): ``http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor``,
  ``…/institution/person#Administrator``, ``…/system/person#Administrator``;
* sub-roles (§A.2.3.1): ``…/membership/Instructor#TeachingAssistant`` — the principal role (the path segment
  after ``membership/``) decides, so a ``Learner#Instructor`` sub-role stays a learner;
* simple names for context roles (§A.2.3.1: "Instructor"), as Moodle's NRPS answers;
* LTI 1.1 URNs (``urn:lti:role:ims/lis/Instructor``, ``urn:lti:instrole:ims/lis/Administrator``), which
  some platforms still send after an upgrade.

Only *context* (membership) roles give course rights. Institution roles describe the person, not the
course: Canvas sends ``institution/person#Instructor`` for every teacher, also in courses where that
teacher is a student, so it must not make anyone a trainer. Institution and system *Administrator* (and the
system ``SysAdmin`` Canvas uses for site admins) make a platform admin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lti_app.models.person import ADMIN, LMS_MENTOR, PARTICIPANT, TANDEM_ROLES, TRAINER

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
MEMBERSHIP = "membership"
INSTITUTION = "institution"
SYSTEM = "system"

_CONTEXT_ROLES = {
    "Learner": PARTICIPANT,
    "Instructor": TRAINER,
    "TeachingAssistant": TRAINER,
    "ContentDeveloper": TRAINER,
    # A context Administrator administers the course (not the platform): a trainer there.
    "Administrator": TRAINER,
    "Mentor": LMS_MENTOR,
}
_ADMIN_ROLES = {(INSTITUTION, "Administrator"), (SYSTEM, "Administrator"), (SYSTEM, "SysAdmin")}
_URN_SCOPES = {
    "urn:lti:role:ims/lis/": MEMBERSHIP,
    "urn:lti:instrole:ims/lis/": INSTITUTION,
    "urn:lti:sysrole:ims/lis/": SYSTEM,
}


@dataclass(frozen=True)
class LtiRole:
    """One role, parsed: ``scope`` is membership, institution or system; ``principal`` the role that
    decides (for a sub-role, its parent); ``sub_role`` what followed the ``#`` of a sub-role, if any."""

    scope: str
    principal: str
    sub_role: str | None = None


def parse_role(raw: str) -> LtiRole | None:
    """The role in any of the spellings above, or None for one Tandem does not understand."""
    value = (raw or "").strip()
    if not value:
        return None
    if value.startswith(LIS):
        return _parse_lis_path(value[len(LIS) :])
    for prefix, scope in _URN_SCOPES.items():
        if value.startswith(prefix):
            # LTI 1.1 sub-roles are written as a path: urn:lti:role:ims/lis/Instructor/TeachingAssistant.
            principal, _, sub = value[len(prefix) :].partition("/")
            return LtiRole(scope, principal, sub or None) if principal else None
    if "://" in value or value.startswith("urn:"):
        return None
    # A simple name is always a context role (LTI Core §A.2.3.1); "Instructor#TeachingAssistant" too.
    principal, _, sub = value.partition("#")
    return LtiRole(MEMBERSHIP, principal, sub or None) if principal else None


def _parse_lis_path(path: str) -> LtiRole | None:
    # membership#Instructor | membership/Instructor#TeachingAssistant | institution/person#Administrator
    head, _, fragment = path.partition("#")
    if not fragment:
        return None
    scope, _, rest = head.partition("/")
    if scope == MEMBERSHIP:
        if rest:
            return LtiRole(MEMBERSHIP, rest, fragment)
        return LtiRole(MEMBERSHIP, fragment)
    if scope in (INSTITUTION, SYSTEM) and rest == "person":
        return LtiRole(scope, fragment)
    return None


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
