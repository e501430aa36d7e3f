"""The platform (LMS) side of an LTI 1.3 launch, free of any web framework.

A platform does four things in a launch (LTI 1.3 Core §4, Security Framework 1.0 §5.1):

1. it starts a *third-party initiated login* by sending the tool's OIDC login URL a handful of parameters
   (:func:`login_initiation`);
2. the tool answers with an OIDC authentication request, which the platform must validate to the letter
   before it says anything about the user (:func:`authorize`);
3. it builds the id_token claims for the message (:func:`build_id_token_claims`) and
4. signs them with one of its keys, naming the key in the JWT header so the tool can pick it from the
   platform's JWKS (:func:`sign_id_token`, :func:`jwks`).

The demo LMS wires these into Flask views and a database; the test platform serves them over loopback. Both
rely on the messages having the exact shape real LMSs send, so the claim builders follow Moodle 4.5 (the
captured fixtures) and Canvas claim for claim; a tool that passes against them passes against the real thing.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode

import jwt
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


# -------------------------------------------------------------------------------------- login initiation


@dataclass(frozen=True)
class LoginInitiation:
    """The third-party initiated login the platform sends to the tool (Security Framework §5.1.1.1).

    Moodle and Canvas both send it as an auto-submitted POST form; GET with a query string is allowed and
    some platforms use it, so a tool must take both.
    """

    url: str
    params: dict[str, str]
    method: Literal["GET", "POST"] = "POST"

    def get_url(self) -> str:
        """The login URL with the parameters in the query string (the GET variant)."""
        return self.url + ("&" if "?" in self.url else "?") + urlencode(self.params)

    def html(self) -> str:
        """An auto-submitting page that delivers the login from a browser, the way an LMS does."""
        if self.method == "GET":
            target = html.escape(self.get_url(), quote=True)
            return (
                '<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0; url='
                f'{target}"></head><body><a href="{target}">Continue</a></body></html>'
            )
        return auto_submit_form(self.url, self.params)


def login_initiation(
    config: PlatformConfig, user: User, launch: Launch, *, method: Literal["GET", "POST"] = "POST"
) -> LoginInitiation:
    """Build the login initiation for ``user`` launching ``launch``.

    ``login_hint`` is the user id and ``lti_message_hint`` names the launch: both come back in the tool's
    authentication request and are all the platform needs to rebuild the message there.
    """
    target = launch.target_link_uri or _default_target(config, launch)
    hint = launch.message_hint
    if config.product_family == vocab.PRODUCT_CANVAS:
        # Canvas's order, with its own region/environment hints.
        params = {
            "iss": config.issuer,
            "login_hint": user.id,
            "client_id": config.client_id,
            "lti_deployment_id": config.deployment_id,
            "target_link_uri": target,
        }
        if hint:
            params["lti_message_hint"] = hint
        params.update({"canvas_environment": "prod", "canvas_region": "not_configured"})
    else:
        # Moodle's order (launch_student.json: login_initiation).
        params = {"iss": config.issuer, "target_link_uri": target, "login_hint": user.id}
        if hint:
            params["lti_message_hint"] = hint
        params.update({"client_id": config.client_id, "lti_deployment_id": config.deployment_id})
    if config.lti_storage_target:
        # LTI Client Side postMessages: the platform offers its storage frame to keep state without cookies.
        params["lti_storage_target"] = config.lti_storage_target
    return LoginInitiation(url=config.tool_login_url, params=params, method=method)


def _default_target(config: PlatformConfig, launch: Launch) -> str:
    if launch.kind == "deep_linking" and config.tool_deep_link_url:
        return config.tool_deep_link_url
    return config.tool_launch_url


# ------------------------------------------------------------------------------------------- authorize


@dataclass(frozen=True)
class AuthResponse:
    """What the platform posts back to the tool's redirect_uri (OIDC Core §3.2.2.5, form_post mode)."""

    redirect_uri: str
    fields: dict[str, str]
    claims: dict[str, Any]

    @property
    def id_token(self) -> str:
        return self.fields["id_token"]

    @property
    def state(self) -> str:
        return self.fields.get("state", "")

    def html(self) -> str:
        """The auto-submitting form a browser receives from the authorization endpoint."""
        return auto_submit_form(self.redirect_uri, self.fields)


def authorize(
    config: PlatformConfig,
    auth_request_params: Mapping[str, str],
    user: User,
    launch: Launch,
    key: PlatformKey,
    *,
    now: int | None = None,
) -> AuthResponse:
    """Validate the tool's OIDC authentication request and answer it with a signed id_token.

    Security Framework §5.1.1.2 fixes every parameter: ``scope=openid``, ``response_type=id_token``,
    ``response_mode=form_post``, ``prompt=none``, the registered ``client_id`` and an exactly registered
    ``redirect_uri``; ``login_hint`` (and ``lti_message_hint``) must be the ones the platform sent, and
    ``nonce`` and ``state`` must be present. Anything else raises :class:`PlatformError`.
    """
    params = {name: str(value) for name, value in auth_request_params.items()}
    client_id = params.get("client_id", "")
    if client_id != config.client_id:
        raise PlatformError("unauthorized_client", f"unknown client_id {client_id!r}")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in config.allowed_redirect_uris:
        raise PlatformError(
            "invalid_request", f"redirect_uri {redirect_uri!r} is not registered for this tool"
        )

    def refuse(error: str, description: str) -> PlatformError:
        return PlatformError(error, description, redirectable=True)

    if params.get("scope", "").split() != ["openid"]:
        raise refuse("invalid_scope", "scope must be openid")
    if params.get("response_type") != "id_token":
        raise refuse("unsupported_response_type", "response_type must be id_token")
    if params.get("response_mode") != "form_post":
        raise refuse("invalid_request", "response_mode must be form_post")
    if params.get("prompt") != "none":
        raise refuse("invalid_request", "prompt must be none")
    if params.get("login_hint") != user.id:
        raise refuse("login_required", "login_hint does not identify the signed-in user")
    if launch.message_hint and params.get("lti_message_hint") != launch.message_hint:
        raise refuse("invalid_request", "lti_message_hint does not match the launch")
    nonce = params.get("nonce", "")
    if not nonce:
        raise refuse("invalid_request", "nonce is required")
    state = params.get("state", "")
    if not state:
        raise refuse("invalid_request", "state is required")

    claims = build_id_token_claims(config, user, launch, nonce=nonce, now=now)
    fields = {"id_token": sign_id_token(claims, key), "state": state}
    if params.get("lti_storage_target"):
        # LTI Client Side postMessages §4: echo the storage target so the tool looks for its state there.
        fields["lti_storage_target"] = params["lti_storage_target"]
    return AuthResponse(redirect_uri=redirect_uri, fields=fields, claims=claims)


def sign_id_token(claims: Mapping[str, Any], key: PlatformKey) -> str:
    """RS256 with the key's kid in the header, the only combination LTI allows (Security Framework §5.1.3)."""
    return jwt.encode(
        dict(claims), key.private_pem, algorithm="RS256", headers={"kid": key.kid, "typ": "JWT"}
    )


def auto_submit_form(action: str, fields: Mapping[str, str]) -> str:
    """An HTML page that POSTs ``fields`` to ``action`` on load, with a button for script-less browsers."""
    escape = html.escape
    inputs = "".join(
        f'<input type="hidden" name="{escape(name, quote=True)}" value="{escape(value, quote=True)}">'
        for name, value in fields.items()
    )
    return (
        "<!DOCTYPE html><html><head><title>Launching…</title></head>"
        '<body onload="document.forms[0].submit()">'
        f'<form method="post" action="{html.escape(action, quote=True)}">{inputs}'
        '<noscript><button type="submit">Continue</button></noscript></form></body></html>'
    )


# ------------------------------------------------------------------------------------------------ claims


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
        return self.launch.target_link_uri or _default_target(self.config, self.launch)

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
