"""What a platform knows, as plain values: its keys, each tool registration, the people, courses and
resource links, what is being launched, and the LTI role vocabulary of each product.

Framework-free and persistence-free: the demo LMS maps its rows onto these, the test platform keeps them in
memory, and the launch code in :mod:`.platform` and :mod:`.claims` reads nothing else.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from . import vocab

LaunchKind = Literal["resource_link", "deep_linking"]


class PlatformError(Exception):
    """A request the platform refuses, carrying the OAuth 2 / OIDC error code it answers with.

    ``redirectable`` says whether the error may be sent back to the tool's ``redirect_uri``: OIDC Core
    §3.1.2.6 allows it only once ``client_id`` and ``redirect_uri`` are known to be good, otherwise the
    platform would post to an address an attacker chose.
    """

    def __init__(
        self, error: str, description: str, *, status: int = 400, redirectable: bool = False
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.redirectable = redirectable

    def as_json(self) -> dict[str, str]:
        """The RFC 6749 §5.2 error body."""
        return {"error": self.error, "error_description": self.description}


# --------------------------------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class PlatformKey:
    """An RSA signing key with its kid: the platform signs id_tokens with it and publishes the public half.

    Several keys live side by side during a rotation (Security Framework §6.3): the JWKS lists old and new,
    and only the ``kid`` in each JWT header tells the tool which one to use.
    """

    kid: str
    private_pem: str
    public_jwk: dict[str, str]

    @classmethod
    def generate(cls, kid: str | None = None) -> PlatformKey:
        """A fresh RSA 2048 key; the kid defaults to 20 hex characters, as Moodle's do."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return cls.from_pem(pem, kid=kid)

    @classmethod
    def from_pem(cls, private_pem: str, kid: str | None = None) -> PlatformKey:
        """Wrap an existing PEM private key (the demo LMS keeps its key across restarts)."""
        private = serialization.load_pem_private_key(private_pem.encode(), password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("platform keys must be RSA (RS256, Security Framework §6.1)")
        kid = kid or secrets.token_hex(10)
        public = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        jwk = {
            "kty": public["kty"],
            "e": public["e"],
            "n": public["n"],
            "kid": kid,
            "alg": "RS256",
            "use": "sig",
        }
        return cls(kid=kid, private_pem=private_pem, public_jwk=jwk)

    @property
    def public_pem(self) -> str:
        """The public key as PEM (what a careless tool might use as an HMAC secret; see the bad launches)."""
        private = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        return (
            private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )


def jwks(keys: Iterable[PlatformKey]) -> dict[str, list[dict[str, str]]]:
    """The JSON Web Key Set a platform serves at its JWKS URL (RFC 7517 §5)."""
    return {"keys": [dict(key.public_jwk) for key in keys]}


# ------------------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class PlatformConfig:
    """One tool registration (client id) and deployment, as the platform sees it.

    A platform holds one of these per client id and deployment: Canvas gives every developer key its own
    client id under one issuer, Moodle gives every tool type its own client id and uses the type id as
    deployment id. Service URL templates take ``{context_id}`` (and ``{lineitem_id}``); leaving one empty
    leaves the matching service out of launches.
    """

    issuer: str
    client_id: str
    deployment_id: str
    auth_url: str
    token_url: str
    jwks_url: str
    tool_login_url: str
    tool_launch_url: str
    tool_jwks_url: str = ""
    product_family: str = vocab.PRODUCT_MOODLE
    redirect_uris: tuple[str, ...] = ()
    tool_deep_link_url: str = ""
    tool_name: str = "Tandem"
    tool_description: str = ""
    deep_link_return_url: str = ""
    return_url: str = ""
    memberships_url: str = ""
    lineitems_url: str = ""
    lineitem_url: str = ""
    service_query: str = ""
    outcome_service_url: str = ""
    custom: Mapping[str, str] = field(default_factory=dict)
    ags_scopes: tuple[str, ...] = vocab.AGS_SCOPES
    platform_name: str = "Demo LMS"
    platform_description: str = "Tandem demo LMS"
    platform_guid: str = ""
    platform_version: str = ""
    id_token_lifetime: int = 60
    aud_as_list: bool | None = None
    lti_storage_target: str | None = None

    @property
    def allowed_redirect_uris(self) -> tuple[str, ...]:
        """Where the platform may post an id_token; OIDC Core §3.1.2.1 requires an exact match."""
        if self.redirect_uris:
            return self.redirect_uris
        return tuple(uri for uri in (self.tool_launch_url, self.tool_deep_link_url) if uri)

    def service_url(self, template: str, **values: str) -> str:
        """Fill a service URL template, keeping the platform's query string on the end.

        Moodle appends ``?type_id=<tool type>`` to every AGS URL and expects it back, so a tool must add
        ``/scores`` to the *path* of a line item URL and keep the query (Moodle quirk, fixtures README).
        """
        url = template.format(**{name: quote(str(value), safe="") for name, value in values.items()})
        if self.service_query:
            url += ("&" if "?" in url else "?") + self.service_query
        return url


# ------------------------------------------------------------------------------------------ the actors


@dataclass(frozen=True)
class User:
    """A person in the platform; ``id`` becomes the ``sub`` claim and the login_hint."""

    id: str
    given_name: str
    family_name: str
    email: str = ""
    username: str = ""
    picture: str | None = None
    locale: str = "en"
    lis_person_sourcedid: str = ""
    legacy_user_id: str | None = None

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True)
class Course:
    """An LTI context (LTI Core §5.4.1). ``types`` None means the product's usual context type."""

    id: str
    label: str
    title: str
    types: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ResourceLink:
    """A placement of the tool in a course (LTI Core §5.3.5); ``line_item_id`` is its gradebook column."""

    id: str
    title: str
    description: str = ""
    line_item_id: str | None = None


@dataclass(frozen=True)
class DeepLinkingSettings:
    """Deep Linking 2.0 §4.4.1 settings; a None field takes the product's usual value."""

    return_url: str = ""
    accept_types: tuple[str, ...] = ("ltiResourceLink",)
    accept_presentation_document_targets: tuple[str, ...] | None = None
    accept_multiple: bool | None = None
    auto_create: bool | None = None
    title: str | None = None
    text: str | None = None
    data: str | None = None


@dataclass(frozen=True)
class Launch:
    """What is being launched, by whom in which role: the platform's side of the lti_message_hint.

    ``roles`` takes role-set names (``learner``, ``instructor``/``trainer``, ``teaching_assistant``,
    ``content_developer``, ``administrator``, ``mentor``) or full role URIs. ``mentees`` fills the
    ``role_scope_mentor`` claim (LTI Core §5.4.3) for the mentor role. ``extra_claims`` is merged last, for
    tests that need a claim no real platform sends.
    """

    course: Course
    kind: LaunchKind = "resource_link"
    resource_link: ResourceLink | None = None
    roles: str | Sequence[str] = "learner"
    custom: Mapping[str, str] = field(default_factory=dict)
    mentees: Sequence[str] = ()
    deep_linking: DeepLinkingSettings | None = None
    target_link_uri: str | None = None
    message_hint: str = ""
    extra_claims: Mapping[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- roles

_ROLE_SETS: dict[str, dict[str, tuple[str, ...]]] = {
    # Moodle sends context roles only; a site admin gets Instructor plus the system and institution
    # Administrator roles, in that order (mod/lti/locallib.php lti_get_ims_role).
    vocab.PRODUCT_MOODLE: {
        "learner": (vocab.ROLE_LEARNER,),
        "instructor": (vocab.ROLE_INSTRUCTOR,),
        "teaching_assistant": (vocab.ROLE_INSTRUCTOR, vocab.ROLE_TEACHING_ASSISTANT),
        "content_developer": (vocab.ROLE_CONTENT_DEVELOPER,),
        "administrator": (
            vocab.ROLE_INSTRUCTOR,
            vocab.ROLE_SYSTEM_ADMINISTRATOR,
            vocab.ROLE_INSTITUTION_ADMINISTRATOR,
        ),
        "mentor": (vocab.ROLE_MENTOR,),
    },
    # Canvas adds institution roles and system#User to every launch.
    vocab.PRODUCT_CANVAS: {
        "learner": (vocab.ROLE_INSTITUTION_STUDENT, vocab.ROLE_LEARNER, vocab.ROLE_SYSTEM_USER),
        "instructor": (vocab.ROLE_INSTITUTION_INSTRUCTOR, vocab.ROLE_INSTRUCTOR, vocab.ROLE_SYSTEM_USER),
        "teaching_assistant": (
            vocab.ROLE_INSTITUTION_INSTRUCTOR,
            vocab.ROLE_INSTRUCTOR,
            vocab.ROLE_TEACHING_ASSISTANT,
            vocab.ROLE_SYSTEM_USER,
        ),
        "content_developer": (vocab.ROLE_CONTENT_DEVELOPER, vocab.ROLE_SYSTEM_USER),
        "administrator": (
            vocab.ROLE_INSTITUTION_ADMINISTRATOR,
            vocab.ROLE_INSTITUTION_INSTRUCTOR,
            vocab.ROLE_SYSTEM_SYSADMIN,
            vocab.ROLE_SYSTEM_USER,
        ),
        "mentor": (vocab.ROLE_MENTOR, vocab.ROLE_SYSTEM_USER),
    },
    "generic": {
        "learner": (vocab.ROLE_LEARNER,),
        "instructor": (vocab.ROLE_INSTRUCTOR,),
        "teaching_assistant": (vocab.ROLE_INSTRUCTOR, vocab.ROLE_TEACHING_ASSISTANT),
        "content_developer": (vocab.ROLE_CONTENT_DEVELOPER,),
        "administrator": (vocab.ROLE_INSTITUTION_ADMINISTRATOR, vocab.ROLE_SYSTEM_ADMINISTRATOR),
        "mentor": (vocab.ROLE_MENTOR,),
    },
}

_ROLE_ALIASES = {
    "student": "learner",
    "participant": "learner",
    "trainer": "instructor",
    "teacher": "instructor",
    "ta": "teaching_assistant",
    "admin": "administrator",
    "observer": "mentor",
}

ROLE_SET_NAMES: tuple[str, ...] = tuple(_ROLE_SETS["generic"])


def role_uris(roles: str | Iterable[str], product_family: str = vocab.PRODUCT_MOODLE) -> list[str]:
    """Expand role-set names into the role URIs the given product sends; full URIs pass through."""
    names = [roles] if isinstance(roles, str) else list(roles)
    table = _ROLE_SETS.get(product_family, _ROLE_SETS["generic"])
    out: list[str] = []
    for name in names:
        if "://" in name or name.startswith("urn:"):
            expanded: tuple[str, ...] = (name,)
        else:
            key = _ROLE_ALIASES.get(name.lower(), name.lower())
            if key not in table:
                raise ValueError(f"unknown role set {name!r}; use one of {ROLE_SET_NAMES} or a role URI")
            expanded = table[key]
        out.extend(uri for uri in expanded if uri not in out)
    return out


def short_role_name(uri: str) -> str:
    """The simple name of a context role (LTI Core §A.2.3.1), as Moodle's NRPS answers: ``Learner``."""
    prefix = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    if uri.startswith(prefix + "#"):
        return uri[len(prefix) + 1 :]
    if uri.startswith(prefix + "/"):
        return uri[len(prefix) + 1 :]
    return uri


def default_target(config: PlatformConfig, launch: Launch) -> str:
    """The URL a launch targets: the tool's deep linking URL for deep linking when it has one (Moodle's
    ``toolurl_ContentItemSelectionRequest``), its launch URL otherwise."""
    if launch.kind == "deep_linking" and config.tool_deep_link_url:
        return config.tool_deep_link_url
    return config.tool_launch_url
