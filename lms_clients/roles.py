"""The LIS role vocabulary (LTI 1.3 Core, appendix A.2), read in every spelling platforms use.

Roles arrive in launches (the roles claim) and in NRPS rosters, and the two must never disagree, so this is
the one parser for both. Platforms spell the same role several ways:

* full URIs: ``http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor``,
  ``…/institution/person#Administrator``, ``…/system/person#Administrator``;
* sub-roles (§A.2.3.1): ``…/membership/Instructor#TeachingAssistant``; the principal role (the path segment
  after ``membership/``) decides, so a ``Learner#Instructor`` sub-role stays a learner;
* simple names for context roles (§A.2.3.1: "Instructor"), deprecated but what Moodle 4.5's NRPS sends;
  a simple sub-role name (``TeachingAssistant``) stands for the sub-role of its principal;
* LTI 1.1 URNs (``urn:lti:role:ims/lis/Instructor``, ``urn:lti:instrole:ims/lis/Administrator``), which some
  platforms still send after an upgrade; their sub-roles are written as a path
  (``urn:lti:role:ims/lis/Instructor/TeachingAssistant``).

What a role *means* to Tandem (trainer, participant, admin) is decided in ``lti_app.lti.roles``.
"""

from __future__ import annotations

from dataclasses import dataclass

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
MEMBERSHIP = "membership"
INSTITUTION = "institution"
SYSTEM = "system"

MEMBERSHIP_ROLE = LIS + MEMBERSHIP + "#"
INSTITUTION_ROLE = LIS + INSTITUTION + "/person#"
SYSTEM_ROLE = LIS + SYSTEM + "/person#"

# Context roles of the LIS vocabulary (§A.2.3), the only simple names expanded to URIs.
CONTEXT_ROLE_NAMES = frozenset(
    {"Administrator", "ContentDeveloper", "Instructor", "Learner", "Mentor", "Manager", "Member", "Officer"}
)
# Sub-roles met on their own, with the principal role they belong to (§A.2.3.1).
SIMPLE_SUB_ROLES = {"TeachingAssistant": "Instructor"}

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

    @property
    def uri(self) -> str:
        """The full LIS vocabulary URI of this role."""
        base = LIS + (MEMBERSHIP if self.scope == MEMBERSHIP else f"{self.scope}/person")
        if self.sub_role:
            return f"{base}/{self.principal}#{self.sub_role}"
        return f"{base}#{self.principal}"


def parse_role(raw: str) -> LtiRole | None:
    """The role in any of the spellings above, or None for one outside the LIS vocabulary."""
    value = (raw or "").strip()
    if not value:
        return None
    if value.startswith(LIS):
        return _parse_lis_path(value[len(LIS) :])
    for prefix, scope in _URN_SCOPES.items():
        if value.startswith(prefix):
            principal, _, sub = value[len(prefix) :].partition("/")
            if scope == MEMBERSHIP:
                return _context_role(principal, sub)
            return LtiRole(scope, principal, sub or None) if principal else None
    if "://" in value or value.startswith("urn:"):
        return None
    # A simple name is always a context role (§A.2.3.1); "Instructor#TeachingAssistant" too.
    principal, _, sub = value.partition("#")
    return _context_role(principal, sub)


def normalise_role(role: str) -> str:
    """The full LIS vocabulary URI for ``role``: simple context role names and LTI 1.1 URNs are expanded
    (``Learner`` → ``http://purl.imsglobal.org/vocab/lis/v2/membership#Learner``); URIs, and simple names
    outside the vocabulary (a platform's own roles), are kept as given."""
    value = role.strip()
    parsed = parse_role(value)
    if parsed is None or value.startswith(LIS):
        return value
    if value.startswith("urn:") or parsed.principal in CONTEXT_ROLE_NAMES:
        return parsed.uri
    return value


def _context_role(principal: str, sub: str) -> LtiRole | None:
    if not principal:
        return None
    if not sub and principal in SIMPLE_SUB_ROLES:
        return LtiRole(MEMBERSHIP, SIMPLE_SUB_ROLES[principal], principal)
    return LtiRole(MEMBERSHIP, principal, sub or None)


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
