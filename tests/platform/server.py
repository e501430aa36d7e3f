"""A complete LTI 1.3 platform for the test suite, served over loopback by a real HTTP server.

Built on :mod:`lti_app.demo_lms` (the same core as the demo LMS), it behaves like Moodle 4.5 by default or
like Canvas (``product_family="canvas"``): OIDC authorization endpoint, JWKS with key rotation, token
endpoint, Dynamic Registration, NRPS with paging and differences, AGS line items, scores and results, and a
Deep Linking return endpoint. Tests script faults per endpoint and read back what the tool sent.

Typical use::

    platform = TestPlatform(tool_url="http://localhost", tool_jwks_provider=lambda cfg: client.get(
        "/lti/jwks").get_json())
    platform.start()
    sam = platform.add_user(given_name="Sam", family_name="Student")
    course = platform.add_course(title="Leadership 101")
    platform.enrol(sam, course, "learner")
    response = drive_launch(client, platform, sam, course)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from werkzeug.serving import BaseWSGIServer, make_server

from lti_app.demo_lms import vocab
from lti_app.demo_lms.dynreg import (
    ToolRegistration,
    issue_registration_token,
    new_client_id,
    openid_configuration,
    register_tool,
)
from lti_app.demo_lms.platform import (
    AuthResponse,
    Course,
    DeepLinkingSettings,
    Launch,
    LaunchKind,
    LoginInitiation,
    PlatformConfig,
    PlatformError,
    PlatformKey,
    ResourceLink,
    User,
    authorize,
    jwks,
    login_initiation,
    role_uris,
)
from lti_app.demo_lms.services import (
    LineItem,
    Member,
    Score,
    parse_lineitem,
    parse_score,
    role_matches,
    with_query,
)
from lti_app.demo_lms.tool_messages import (
    AccessTokenStore,
    ReplayCache,
    decode_deep_linking_response,
    fetch_jwks,
    issue_access_token,
    peek_client_id,
)

from .faults import FaultInjector, RequestLog
from .wsgi import ENDPOINTS, PlatformWsgi, QuietHandler


@dataclass(frozen=True)
class Enrolment:
    """A user's membership of a course: role-set names or URIs, NRPS status, mentees for mentors."""

    user_id: str
    roles: tuple[str, ...]
    status: str = "Active"
    mentees: tuple[str, ...] = ()
    changed: int = 0


@dataclass(frozen=True)
class PendingLaunch:
    """A launch the platform started, found again by its lti_message_hint at the auth endpoint."""

    hint: str
    config: PlatformConfig
    user: User
    launch: Launch


@dataclass(frozen=True)
class ReceivedScore:
    """A score the platform accepted (AGS 2.0 §3.4), with where and when it arrived."""

    context_id: str
    line_item_id: str
    user_id: str
    score_given: float | None
    score_maximum: float | None
    activity_progress: str
    grading_progress: str
    timestamp: str
    comment: str | None
    client_id: str
    received_at: float
    raw: Mapping[str, Any]
    score: Score

    @property
    def scaled(self) -> float | None:
        """``scoreGiven / scoreMaximum`` (0..1 for an ordinary score), None without a grade."""
        if self.score_given is None or not self.score_maximum:
            return None
        return self.score_given / self.score_maximum


@dataclass(frozen=True)
class DeepLinkReturn:
    """A Deep Linking response the tool posted back, with the resource links it created."""

    hint: str
    client_id: str
    claims: Mapping[str, Any]
    content_items: list[dict[str, Any]]
    created_links: list[ResourceLink]


ToolJwksProvider = Callable[[PlatformConfig], Mapping[str, Any]]


class TestPlatform:
    """An LTI 1.3 platform on 127.0.0.1, with users, courses, a roster, a gradebook and fault injection.

    Construct, register the tool (``tool_url=`` or :meth:`add_tool`, several client ids and deployments
    allowed), add people and courses, then :meth:`start`. The tool's JWKS, needed to verify its client
    assertions and deep linking responses, comes from ``tool_jwks`` (a fixed JWKS), ``tool_jwks_provider``
    (a callable: how a Flask test client, which serves no HTTP, hands it over) or else over HTTP from the
    registered ``tool_jwks_url``.
    """

    __test__ = False  # a class named Test* is not a pytest test class

    def __init__(
        self,
        *,
        product_family: str = vocab.PRODUCT_MOODLE,
        tool_url: str | None = None,
        tool_jwks: Mapping[str, Any] | None = None,
        tool_jwks_provider: ToolJwksProvider | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        nrps_short_roles: bool | None = None,
        nrps_page_size: int | None = None,
        require_type_id: bool | None = None,
        id_token_lifetime: int = 60,
        access_token_lifetime: int = 3600,
        latency: float = 0.0,
        auto_activate_registrations: bool = True,
        lti_storage_target: str | None = None,
        fresh_key: bool = False,
    ) -> None:
        self.product_family = product_family
        moodle = product_family == vocab.PRODUCT_MOODLE
        self.nrps_short_roles = moodle if nrps_short_roles is None else nrps_short_roles
        self.require_type_id = moodle if require_type_id is None else require_type_id
        # Canvas pages rosters even when the tool asks for no limit; None sends everything at once (Moodle).
        self.nrps_page_size = nrps_page_size
        self.id_token_lifetime = id_token_lifetime
        self.access_token_lifetime = access_token_lifetime
        self.latency = latency
        self.auto_activate_registrations = auto_activate_registrations
        self.lti_storage_target = lti_storage_target
        self.tool_jwks = tool_jwks
        self.tool_jwks_provider = tool_jwks_provider

        self.keys: list[PlatformKey] = [PlatformKey.generate() if fresh_key else _quick_key()]
        self._signing_kid = self.keys[0].kid
        self._unpublished: set[str] = set()

        self.faults = FaultInjector(ENDPOINTS)
        self.log = RequestLog()
        self.access_tokens = AccessTokenStore()
        self._used_jti = ReplayCache()
        self._used_dl_nonces = ReplayCache()
        self._used_registration_tokens = ReplayCache()

        self.configs: list[PlatformConfig] = []
        self.pending_client_ids: set[str] = set()
        self.registrations: list[ToolRegistration] = []
        self.users: dict[str, User] = {}
        self.courses: dict[str, Course] = {}
        self.enrolments: dict[str, dict[str, Enrolment]] = {}
        self.resource_links: dict[str, list[ResourceLink]] = {}
        self._link_custom: dict[tuple[str, str], dict[str, str]] = {}
        self.line_items: dict[str, LineItem] = {}
        self._deleted_line_items: set[str] = set()
        self.received_scores: list[ReceivedScore] = []
        self.rejected_scores: list[tuple[int, str, Mapping[str, Any]]] = []
        self.deep_link_returns: list[DeepLinkReturn] = []
        self.launches: dict[str, PendingLaunch] = {}
        self.issued: list[AuthResponse] = []
        self.errors: list[Exception] = []

        self._ids = itertools.count(2)  # Moodle's first real user and course are id 2
        self._deployment_ids = itertools.count(1)
        self._change_seq = itertools.count(1)
        self._lock = threading.RLock()

        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        if tool_url is not None:
            self.add_tool(tool_url)

    # ------------------------------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Serve on loopback in a daemon thread; returns the base URL. Idempotent; after :meth:`stop` it
        serves again on the same port, so registered URLs stay valid."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self.base_url
            server = self._bind()
            # A short poll interval keeps stop() (and every fixture teardown) fast.
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="test-lti-platform",
                daemon=True,
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and close the socket: the tool now gets *connection refused*."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is not None:
            if thread is not None:
                server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def restart(self) -> str:
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> TestPlatform:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bind(self) -> BaseWSGIServer:
        if self._server is None:
            self._server = make_server(
                self._host, self._port, PlatformWsgi(self), threaded=True, request_handler=QuietHandler
            )
            self._port = self._server.socket.getsockname()[1]
        return self._server

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: also the issuer. Binds the port on first use."""
        if not self._port:
            with self._lock:
                self._bind()
        return f"http://{self._host}:{self._port}"

    @property
    def issuer(self) -> str:
        return self.base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def auth_url(self) -> str:
        return self.url("/auth")

    @property
    def token_url(self) -> str:
        return self.url("/token")

    @property
    def jwks_url(self) -> str:
        return self.url("/jwks")

    @property
    def openid_configuration_url(self) -> str:
        return self.url("/openid-configuration")

    @property
    def registration_url(self) -> str:
        return self.url("/register")

    # ------------------------------------------------------------------------------------------------ keys

    @property
    def signing_key(self) -> PlatformKey:
        """The key id_tokens are signed with now."""
        return next(key for key in self.keys if key.kid == self._signing_kid)

    def published_keys(self) -> list[PlatformKey]:
        return [key for key in self.keys if key.kid not in self._unpublished]

    def jwks(self) -> dict[str, Any]:
        """The JWKS served at ``/jwks``."""
        return jwks(self.published_keys())

    def rotate_key(
        self, kid: str | None = None, *, publish: bool = True, retire_previous: bool = False
    ) -> PlatformKey:
        """Add a key and sign with it from now on (Security Framework §6.3 key rotation).

        ``publish=False`` signs with a key the JWKS does not list yet, the moment a tool must refetch the
        JWKS instead of trusting its cache; ``retire_previous`` drops the older keys from the JWKS.
        """
        key = PlatformKey.generate(kid)
        with self._lock:
            if retire_previous:
                self.keys = [k for k in self.keys if k.kid == self._signing_kid]
            self.keys.append(key)
            self._signing_kid = key.kid
            if not publish:
                self._unpublished.add(key.kid)
        return key

    def publish_key(self, kid: str) -> None:
        with self._lock:
            self._unpublished.discard(kid)

    # ----------------------------------------------------------------------------------------- tool setup

    def _template_config(self) -> PlatformConfig:
        base = self.base_url
        return PlatformConfig(
            issuer=self.issuer,
            client_id="",
            deployment_id="",
            auth_url=self.auth_url,
            token_url=self.token_url,
            jwks_url=self.jwks_url,
            tool_login_url="",
            tool_launch_url="",
            product_family=self.product_family,
            deep_link_return_url=base + "/deep_linking/return",
            return_url=base + "/return",
            memberships_url=base + "/nrps/{context_id}/memberships",
            lineitems_url=base + "/ags/{context_id}/lineitems",
            lineitem_url=base + "/ags/{context_id}/lineitems/{lineitem_id}/lineitem",
            outcome_service_url=base + "/outcomes" if self.product_family == vocab.PRODUCT_MOODLE else "",
            platform_name="Test LMS",
            platform_description=f"Test platform shaped like {self.product_family}",
            platform_guid=hashlib.md5(base.encode(), usedforsecurity=False).hexdigest(),
            id_token_lifetime=self.id_token_lifetime,
            lti_storage_target=self.lti_storage_target,
        )

    def _new_ids(self, client_id: str | None, deployment_id: str | None) -> tuple[str, str]:
        number = next(self._deployment_ids)
        if self.product_family == vocab.PRODUCT_CANVAS:
            client = client_id or f"1000000000{number:04d}"
            deployment = deployment_id or f"{number}:{secrets.token_hex(20)}"
        else:
            # Moodle: random client id, the tool type id as deployment id.
            client = client_id or new_client_id()
            deployment = deployment_id or str(number)
        return client, deployment

    def _finish_config(self, config: PlatformConfig) -> PlatformConfig:
        if self.product_family == vocab.PRODUCT_MOODLE:
            # Moodle puts the tool type id in every AGS URL's query (?type_id=1).
            config = replace(config, service_query=f"type_id={quote(config.deployment_id, safe='')}")
        return config

    def add_tool(
        self,
        tool_url: str = "http://localhost",
        *,
        client_id: str | None = None,
        deployment_id: str | None = None,
        login_path: str = "/lti/login",
        launch_path: str = "/lti/launch",
        jwks_path: str = "/lti/jwks",
        deep_link_path: str | None = None,
        redirect_uris: Sequence[str] | None = None,
        custom: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> PlatformConfig:
        """Register the tool at ``tool_url`` under a new (or the given) client id with one deployment.

        ``overrides`` go straight into :class:`PlatformConfig` (``aud_as_list=True``, ``ags_scopes=…``).
        """
        base = tool_url.rstrip("/")
        client, deployment = self._new_ids(client_id, deployment_id)
        launch_url = base + launch_path
        config = replace(
            self._template_config(),
            client_id=client,
            deployment_id=deployment,
            tool_login_url=base + login_path,
            tool_launch_url=launch_url,
            tool_jwks_url=base + jwks_path,
            tool_deep_link_url=base + deep_link_path if deep_link_path else "",
            redirect_uris=tuple(redirect_uris) if redirect_uris else (),
            custom=dict(custom or {}),
            **overrides,
        )
        config = self._finish_config(config)
        with self._lock:
            self.configs.append(config)
        return config

    def add_deployment(
        self, client_id: str | None = None, deployment_id: str | None = None
    ) -> PlatformConfig:
        """Another deployment of an already registered client (a second placement of the same tool)."""
        base = self.config(client_id)
        _, deployment = self._new_ids(base.client_id, deployment_id)
        config = self._finish_config(replace(base, deployment_id=deployment))
        with self._lock:
            self.configs.append(config)
        return config

    def config(self, client_id: str | None = None, deployment_id: str | None = None) -> PlatformConfig:
        """The registration for ``client_id``/``deployment_id``; with neither, the first one added."""
        with self._lock:
            for config in self.configs:
                if (client_id is None or config.client_id == client_id) and (
                    deployment_id is None or config.deployment_id == deployment_id
                ):
                    return config
        raise LookupError(f"no tool registered for client_id={client_id!r} deployment_id={deployment_id!r}")

    def registration_details(self, config: PlatformConfig | None = None) -> dict[str, Any]:
        """What an admin types into the tool for a manual registration (pylti1p3 ``ToolConfDict`` keys)."""
        config = config or self.config()
        deployments = [c.deployment_id for c in self.configs if c.client_id == config.client_id]
        return {
            "issuer": config.issuer,
            "client_id": config.client_id,
            "deployment_id": config.deployment_id,
            "deployment_ids": deployments,
            "auth_login_url": config.auth_url,
            "auth_token_url": config.token_url,
            "key_set_url": config.jwks_url,
            "key_set": None,
            "auth_audience": None,
            "openid_configuration_url": self.openid_configuration_url,
            "product_family": self.product_family,
        }

    def tool_jwks_for(self, config: PlatformConfig) -> Mapping[str, Any]:
        """The tool's JWKS: the provider, the fixed JWKS, or an HTTP fetch of ``tool_jwks_url``."""
        if self.tool_jwks_provider is not None:
            return self.tool_jwks_provider(config)
        if self.tool_jwks is not None:
            return self.tool_jwks
        return fetch_jwks(config.tool_jwks_url)

    # ------------------------------------------------------------------------------- people and courses

    def add_user(
        self,
        id: str | None = None,
        *,
        given_name: str | None = None,
        family_name: str | None = None,
        email: str | None = None,
        username: str | None = None,
        **fields: Any,
    ) -> User:
        """A person; ids count up like Moodle's unless given. Extra ``fields`` go to :class:`User`."""
        number = next(self._ids)
        user_id = id or (
            str(number) if self.product_family != vocab.PRODUCT_CANVAS else secrets.token_hex(16)
        )
        given = given_name or f"User{number}"
        family = family_name or "Test"
        login = username or f"{given}.{family}{number}".lower()
        user = User(
            id=user_id,
            given_name=given,
            family_name=family,
            email=email if email is not None else f"{login}@example.com",
            username=login,
            **fields,
        )
        with self._lock:
            self.users[user.id] = user
        return user

    def add_course(
        self,
        id: str | None = None,
        *,
        title: str | None = None,
        label: str | None = None,
        types: tuple[str, ...] | None = None,
    ) -> Course:
        """A course (LTI context)."""
        number = next(self._ids)
        course = Course(
            id=id or str(number), label=label or f"C{number}", title=title or f"Course {number}", types=types
        )
        with self._lock:
            self.courses[course.id] = course
            self.enrolments.setdefault(course.id, {})
            self.resource_links.setdefault(course.id, [])
        return course

    def enrol(
        self,
        user: User | str,
        course: Course | str,
        role: str | Sequence[str] = "learner",
        *,
        status: str = "Active",
        mentees: Iterable[User | str] = (),
    ) -> Enrolment:
        """Put ``user`` in ``course`` with ``role`` (role-set names or URIs; see ``role_uris``)."""
        user_id, course_id = _uid(user), self._course(course).id
        roles = (role,) if isinstance(role, str) else tuple(role)
        role_uris(roles, self.product_family)  # fail early on an unknown role name
        enrolment = Enrolment(user_id, roles, status, tuple(_uid(m) for m in mentees), next(self._change_seq))
        with self._lock:
            self.enrolments.setdefault(course_id, {})[user_id] = enrolment
        return enrolment

    def set_status(self, user: User | str, course: Course | str, status: str) -> None:
        """Change an enrolment's NRPS status: ``Active``, ``Inactive`` or ``Deleted`` (NRPS 2.0 §2.3)."""
        course_id, user_id = self._course(course).id, _uid(user)
        with self._lock:
            current = self.enrolments[course_id][user_id]
            self.enrolments[course_id][user_id] = replace(
                current, status=status, changed=next(self._change_seq)
            )

    def unenrol(self, user: User | str, course: Course | str) -> None:
        """Remove ``user``: gone from the roster, listed as ``Deleted`` in the differences."""
        self.set_status(user, course, "Deleted")

    def members(self, course: Course | str) -> list[Member]:
        """The roster, in enrolment order."""
        course_id = self._course(course).id
        with self._lock:
            enrolments = list(self.enrolments.get(course_id, {}).values())
        return [
            Member(self.users[e.user_id], tuple(role_uris(e.roles, self.product_family)), e.status)
            for e in enrolments
        ]

    def add_resource_link(
        self,
        course: Course | str,
        title: str = "Mentoring programme",
        *,
        id: str | None = None,
        description: str = "",
        line_item: bool = True,
        score_maximum: float = 100,
        custom: Mapping[str, str] | None = None,
    ) -> ResourceLink:
        """A placement of the tool in ``course``; with ``line_item`` its gradebook column, as Moodle makes
        for an activity that accepts grades."""
        course_obj = self._course(course)
        link_id = id or str(next(self._ids))
        item_id = None
        if line_item:
            item_id = self.add_line_item(course_obj, title, score_maximum, resource_link_id=link_id).id
        link = ResourceLink(id=link_id, title=title, description=description, line_item_id=item_id)
        with self._lock:
            self.resource_links.setdefault(course_obj.id, []).append(link)
            self._link_custom[(course_obj.id, link_id)] = dict(custom or {})
        return link

    def add_line_item(
        self,
        course: Course | str,
        label: str,
        score_maximum: float = 100,
        *,
        resource_link_id: str = "",
        resource_id: str = "",
        tag: str = "",
    ) -> LineItem:
        """A gradebook column, as if created in the LMS or by the tool through AGS."""
        item = LineItem(
            id=str(next(self._ids)),
            context_id=self._course(course).id,
            label=label,
            score_maximum=float(score_maximum),
            resource_link_id=resource_link_id,
            resource_id=resource_id,
            tag=tag,
        )
        with self._lock:
            self.line_items[item.id] = item
        return item

    def lineitem_url(self, item: LineItem | str, config: PlatformConfig | None = None) -> str:
        """The AGS URL of a line item, as a launch or the lineitems container names it."""
        line_item = self.line_items[item if isinstance(item, str) else item.id]
        config = config or self.config()
        return config.service_url(
            config.lineitem_url, context_id=line_item.context_id, lineitem_id=line_item.id
        )

    def _course(self, course: Course | str) -> Course:
        course_id = course if isinstance(course, str) else course.id
        try:
            return self.courses[course_id]
        except KeyError:
            raise LookupError(f"unknown course {course_id!r}; add it with add_course()") from None

    def _user(self, user: User | str) -> User:
        user_id = _uid(user)
        try:
            return self.users[user_id]
        except KeyError:
            raise LookupError(f"unknown user {user_id!r}; add it with add_user()") from None

    # ------------------------------------------------------------------------------------------- launches

    def launch(
        self,
        user: User | str,
        course: Course | str,
        *,
        kind: LaunchKind = "resource_link",
        resource_link: ResourceLink | str | None = None,
        role: str | Sequence[str] | None = None,
        custom: Mapping[str, str] | None = None,
        mentees: Iterable[User | str] | None = None,
        config: PlatformConfig | None = None,
        client_id: str | None = None,
        deployment_id: str | None = None,
        method: Literal["GET", "POST"] = "POST",
        deep_linking: DeepLinkingSettings | None = None,
        target_link_uri: str | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> LoginInitiation:
        """Start a launch: remember it under a fresh lti_message_hint and return the login initiation the
        browser delivers to the tool.

        The role defaults to the user's enrolment; a user not enrolled yet is enrolled with the launch
        role, as a self-enrolling Moodle course does. A resource link launch without a link uses the
        course's first link, creating one (with a line item) if the course has none.
        """
        user_obj, course_obj = self._user(user), self._course(course)
        config = config or self.config(client_id, deployment_id)
        if config.client_id in self.pending_client_ids:
            raise PlatformError("unauthorized_client", "the tool is registered but not activated yet")
        with self._lock:
            enrolment = self.enrolments.get(course_obj.id, {}).get(user_obj.id)
        if enrolment is None:
            enrolment = self.enrol(user_obj, course_obj, role or "learner", mentees=mentees or ())
        roles = role if role is not None else enrolment.roles
        mentee_ids = tuple(_uid(m) for m in mentees) if mentees is not None else enrolment.mentees

        link: ResourceLink | None = None
        link_custom: dict[str, str] = {}
        if kind == "resource_link":
            link = self._resource_link(course_obj, resource_link)
            link_custom = dict(self._link_custom.get((course_obj.id, link.id), {}))
        link_custom.update(custom or {})

        hint = self._message_hint(link)
        settings = None
        if kind == "deep_linking":
            settings = deep_linking or DeepLinkingSettings()
            if not settings.return_url:
                return_url = with_query(config.deep_link_return_url, launch=hint)
                settings = replace(settings, return_url=return_url)
        launch = Launch(
            course=course_obj,
            kind=kind,
            resource_link=link,
            roles=roles,
            custom=link_custom,
            mentees=mentee_ids,
            deep_linking=settings,
            target_link_uri=target_link_uri,
            message_hint=hint,
            extra_claims=dict(extra_claims or {}),
        )
        with self._lock:
            self.launches[hint] = PendingLaunch(hint, config, user_obj, launch)
        return login_initiation(config, user_obj, launch, method=method)

    def launch_page_url(self, initiation: LoginInitiation) -> str:
        """A platform URL that delivers ``initiation`` from a browser (auto-submitting form), for browser
        tests that start where a learner clicks the activity."""
        return self.url("/launch/" + quote(initiation.params["lti_message_hint"], safe=""))

    def course_page_url(self, initiation: LoginInitiation) -> str:
        """A course page with the tool in an iframe and the platform's postMessage storage (browser tests
        of launches where third-party cookies are blocked)."""
        return self.url("/course/" + quote(initiation.params["lti_message_hint"], safe=""))

    def _resource_link(self, course: Course, wanted: ResourceLink | str | None) -> ResourceLink:
        with self._lock:
            links = list(self.resource_links.get(course.id, []))
        if isinstance(wanted, ResourceLink):
            return wanted
        if isinstance(wanted, str):
            for link in links:
                if link.id == wanted:
                    return link
            raise LookupError(f"no resource link {wanted!r} in course {course.id!r}")
        return links[0] if links else self.add_resource_link(course)

    def _message_hint(self, link: ResourceLink | None) -> str:
        launch_id = f"ltilaunch{link.id if link else ''}_{secrets.randbelow(2**31)}"
        if self.product_family == vocab.PRODUCT_MOODLE:
            # Moodle's hint is JSON naming the course module and a launch id (launch_student.json).
            data: dict[str, Any] = (
                {"cmid": int(link.id) if link and link.id.isdigit() else link.id} if link else {}
            )
            data["launchid"] = launch_id
            return json.dumps(data, separators=(",", ":"))
        return secrets.token_urlsafe(24)

    def authorize_request(self, params: Mapping[str, str]) -> AuthResponse:
        """The authorization endpoint in-process: validate the tool's OIDC request, return the form fields
        to post to its redirect_uri. Raises :class:`PlatformError` as ``/auth`` would answer it."""
        hint = params.get("lti_message_hint", "")
        with self._lock:
            pending = self.launches.get(hint)
            key = self.signing_key
        if pending is None:
            raise PlatformError("invalid_request", "lti_message_hint does not name a launch of this platform")
        if params.get("client_id") != pending.config.client_id:
            raise PlatformError("unauthorized_client", "client_id does not match the launch")
        response = authorize(pending.config, params, pending.user, pending.launch, key)
        with self._lock:
            self.issued.append(response)
        return response

    @property
    def last_launch(self) -> AuthResponse:
        """The last id_token issued (claims and fields), for assertions."""
        with self._lock:
            if not self.issued:
                raise LookupError("no launch has been authorized yet")
            return self.issued[-1]

    # ------------------------------------------------------------------------------ dynamic registration

    def start_registration(self, *, client_id: str | None = None) -> dict[str, str]:
        """The query parameters the platform opens the tool's registration URL with (DR 1.0 §3.3)."""
        token, _ = issue_registration_token(self.signing_key, client_id=client_id)
        return {"openid_configuration": self.openid_configuration_url, "registration_token": token}

    def registration_start_url(self, tool_registration_url: str, *, client_id: str | None = None) -> str:
        """The tool's registration URL with the platform's parameters, as the admin's browser opens it."""
        separator = "&" if "?" in tool_registration_url else "?"
        return tool_registration_url + separator + urlencode(self.start_registration(client_id=client_id))

    def activate(self, client_id: str) -> None:
        """Activate a dynamically registered tool (Moodle keeps new tools pending until an admin does)."""
        with self._lock:
            self.pending_client_ids.discard(client_id)

    def openid_configuration(self) -> dict[str, Any]:
        return openid_configuration(
            self.issuer,
            authorization_endpoint=self.auth_url,
            token_endpoint=self.token_url,
            jwks_uri=self.jwks_url,
            registration_endpoint=self.registration_url,
            product_family_code=self.product_family,
        )

    # ------------------------------------------------------------------------------------------ gradebook

    def scores_for(
        self, user: User | str | None = None, line_item: LineItem | ResourceLink | str | None = None
    ) -> list[ReceivedScore]:
        """Accepted scores in arrival order, optionally for one user and/or line item."""
        item_id = _item_id(line_item)
        with self._lock:
            return [
                s
                for s in self.received_scores
                if (user is None or s.user_id == _uid(user))
                and (item_id is None or s.line_item_id == item_id)
            ]

    def final_scores(
        self, line_item: LineItem | ResourceLink | str | None = None
    ) -> dict[tuple[str, str], ReceivedScore]:
        """The standing score per (line item id, user id): the one with the latest timestamp."""
        result: dict[tuple[str, str], ReceivedScore] = {}
        for score in self.scores_for(line_item=line_item):
            key = (score.line_item_id, score.user_id)
            if key not in result or score.score.at >= result[key].score.at:
                result[key] = score
        return result

    def final_score(
        self, user: User | str, line_item: LineItem | ResourceLink | str | None = None
    ) -> ReceivedScore | None:
        """The user's standing score on ``line_item`` (or on the only line item they have scores on)."""
        finals = {key: s for key, s in self.final_scores(line_item).items() if key[1] == _uid(user)}
        if len(finals) > 1:
            raise LookupError(f"user {_uid(user)!r} has scores on several line items; name one")
        return next(iter(finals.values()), None)

    def count(self, endpoint: str | None = None, **filters: Any) -> int:
        """Requests served (per endpoint): ``platform.count("token")``."""
        return self.log.count(endpoint, **filters)

    def expire_access_tokens(self) -> None:
        """Expire every issued access token: the tool's next service call gets 401."""
        self.access_tokens.expire_all()

    # --------------------------------------------------------------- services (what the HTTP layer asks)

    def issue_token(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The token endpoint's decision for a client-credentials request (see ``issue_access_token``)."""
        try:
            config = self.config(peek_client_id(form))
        except LookupError:
            raise PlatformError("invalid_client", "unknown client id", status=401) from None
        if config.client_id in self.pending_client_ids:
            raise PlatformError("invalid_client", "the tool is not activated yet", status=401)
        return issue_access_token(
            config,
            form,
            lambda: self.tool_jwks_for(config),
            replay_cache=self._used_jti,
            token_store=self.access_tokens,
            lifetime=self.access_token_lifetime,
        )

    def register(self, metadata: Any, authorization: str) -> ToolRegistration:
        """Dynamic Registration: validate the tool's metadata and add its client id and deployment."""
        _, deployment = self._new_ids(None, None)
        registration = register_tool(
            metadata,
            authorization,
            keys=self.keys,
            deployment_id=deployment,
            used_tokens=self._used_registration_tokens,
        )
        config = self._finish_config(registration.platform_config(self._template_config()))
        with self._lock:
            self.registrations.append(registration)
            self.configs.append(config)
            if not self.auto_activate_registrations:
                self.pending_client_ids.add(config.client_id)
        return registration

    def roster(
        self, course: Course | str, *, role: str | None = None, since: int | None = None
    ) -> tuple[list[Member], int]:
        """NRPS members (optionally of one role) and the change mark to ask for differences from.

        With ``since`` only memberships changed after that mark, removals included as ``Deleted`` (NRPS
        2.0 §2.4.2); otherwise the current roster without the removed.
        """
        course_id = self._course(course).id
        with self._lock:
            enrolments = list(self.enrolments.get(course_id, {}).values())
        latest = max((e.changed for e in enrolments), default=0)
        if since is not None:
            enrolments = [e for e in enrolments if e.changed > since]
        else:
            enrolments = [e for e in enrolments if e.status != "Deleted"]
        members = [
            Member(self.users[e.user_id], tuple(role_uris(e.roles, self.product_family)), e.status)
            for e in enrolments
        ]
        if role:
            members = [m for m in members if role_matches(m.roles, role)]
        return members, latest

    def resource_link_messages(
        self, course: Course, rlid: str, members: Iterable[Member], config: PlatformConfig
    ) -> dict[str, Any]:
        """The ``message`` NRPS adds per member when asked about one resource link (NRPS 2.0 §3.2)."""
        if not any(link.id == rlid for link in self.resource_links.get(course.id, [])):
            raise LookupError(f"resource link {rlid} doesn't exist")
        custom = self._link_custom.get((course.id, rlid))
        messages: dict[str, Any] = {}
        for member in members:
            message: dict[str, Any] = {vocab.CLAIM_MESSAGE_TYPE: vocab.MSG_RESOURCE_LINK}
            if custom:
                message[vocab.CLAIM_CUSTOM] = dict(custom)
            if self.product_family == vocab.PRODUCT_MOODLE:
                # Moodle repeats the LTI 1.1 outcome claim (svc_03_nrps_learners_rlid.json).
                data = {"instanceid": rlid, "userid": member.user.id, "typeid": config.deployment_id}
                message[vocab.CLAIM_BASIC_OUTCOME] = {
                    "lis_result_sourcedid": json.dumps({"data": data}),
                    "lis_outcome_service_url": config.outcome_service_url,
                }
            messages[member.user.id] = [message]
        return messages

    def find_line_item(self, context_id: str, item_id: str) -> LineItem | None:
        with self._lock:
            item = self.line_items.get(item_id)
            gone = item_id in self._deleted_line_items
        return item if item is not None and item.context_id == context_id and not gone else None

    def line_items_of(self, course: Course | str, **filters: str) -> list[LineItem]:
        """A course's line items, filtered on ``resource_link_id``, ``resource_id``, ``tag`` (AGS §3.2.4)."""
        course_id = self._course(course).id
        with self._lock:
            items = [
                i
                for i in self.line_items.values()
                if i.context_id == course_id and i.id not in self._deleted_line_items
            ]
        return [i for i in items if all(getattr(i, name) == value for name, value in filters.items())]

    def create_line_item(self, course: Course | str, payload: Any) -> LineItem:
        """A line item the tool POSTs (validated by ``parse_lineitem``)."""
        fields = parse_lineitem(payload)
        item = self.add_line_item(
            course,
            fields["label"],
            fields["score_maximum"],
            resource_link_id=fields["resource_link_id"],
            resource_id=fields["resource_id"],
            tag=fields["tag"],
        )
        with self._lock:
            item.start_date_time = fields["start_date_time"]
            item.end_date_time = fields["end_date_time"]
            item.extra = fields["extra"]
        return item

    def update_line_item(self, item: LineItem, payload: Any) -> None:
        """A line item the tool PUTs: label and maximum replaced, other fields kept unless given."""
        fields = parse_lineitem(payload)
        with self._lock:
            item.label = fields["label"]
            item.score_maximum = fields["score_maximum"]
            item.resource_id = fields["resource_id"] or item.resource_id
            item.tag = fields["tag"] or item.tag
            item.start_date_time = fields["start_date_time"] or item.start_date_time
            item.end_date_time = fields["end_date_time"] or item.end_date_time

    def delete_line_item(self, item: LineItem) -> None:
        with self._lock:
            self._deleted_line_items.add(item.id)

    def accept_score(self, item: LineItem, payload: Any, *, client_id: str) -> tuple[int, str] | None:
        """Record a score for ``item`` as Moodle would, or say why not: ``(status, reason)``.

        Moodle refuses (400) a malformed score or one for someone not in the course, and (409) a score
        whose timestamp is not later than the last one for that user and line item, even an equal one.
        """
        try:
            score = parse_score(payload)
        except PlatformError as exc:
            return self._refuse_score(400, f"Incorrect score received: {exc.description}", payload)
        with self._lock:
            enrolment = self.enrolments.get(item.context_id, {}).get(score.user_id)
            if enrolment is None or enrolment.status == "Deleted":
                return self._refuse_score(
                    400, f"Incorrect score received: user {score.user_id} is not in the course", payload
                )
            previous = [
                s.score.at
                for s in self.received_scores
                if s.line_item_id == item.id and s.user_id == score.user_id
            ]
            if previous and max(previous) >= score.at:
                reason = (
                    f"Refusing score with an earlier timestamp for item {item.id} and user {score.user_id}"
                )
                return self._refuse_score(409, reason, payload)
            self.received_scores.append(
                ReceivedScore(
                    context_id=item.context_id,
                    line_item_id=item.id,
                    user_id=score.user_id,
                    score_given=score.score_given if score.counts_as_grade else None,
                    score_maximum=score.score_maximum,
                    activity_progress=score.activity_progress,
                    grading_progress=score.grading_progress,
                    timestamp=score.timestamp,
                    comment=score.comment,
                    client_id=client_id,
                    received_at=time.time(),
                    raw=score.raw,
                    score=score,
                )
            )
        return None

    def _refuse_score(self, status: int, reason: str, payload: Any) -> tuple[int, str]:
        with self._lock:
            self.rejected_scores.append(
                (status, reason, payload if isinstance(payload, dict) else {"_body": payload})
            )
        return status, reason

    def results(self, item: LineItem, *, user_id: str | None = None) -> list[ReceivedScore]:
        """The standing score of each user on ``item`` (what AGS results report)."""
        standing = [s for (item_id, _), s in self.final_scores(item.id).items() if item_id == item.id]
        return [s for s in standing if user_id is None or s.user_id == user_id]

    def receive_deep_linking_response(self, token: str, hint: str) -> DeepLinkReturn:
        """Verify and apply a Deep Linking response for the launch ``hint`` (what ``/deep_linking/return``
        does): every ``ltiResourceLink`` becomes a resource link, with a line item when it asks for one."""
        with self._lock:
            pending = self.launches.get(hint)
        if pending is None or pending.launch.kind != "deep_linking":
            raise PlatformError("invalid_request", "the return URL does not name a deep linking launch")
        settings = pending.launch.deep_linking or DeepLinkingSettings()
        claims = decode_deep_linking_response(
            token,
            lambda: self.tool_jwks_for(pending.config),
            pending.config,
            expected_data=settings.data,
            replay_cache=self._used_dl_nonces,
        )
        items = list(claims.get(vocab.CLAIM_DL_CONTENT_ITEMS, []))
        if settings.accept_multiple is False and len(items) > 1:
            raise PlatformError("invalid_request", "several content items, but accept_multiple is false")
        created: list[ResourceLink] = []
        course = pending.launch.course
        for item in items:
            if item.get("type") != "ltiResourceLink":
                continue
            line_item = item.get("lineItem") if isinstance(item.get("lineItem"), dict) else None
            link = self.add_resource_link(
                course,
                str(item.get("title") or "Untitled"),
                description=str(item.get("text") or ""),
                line_item=line_item is not None,
                score_maximum=float((line_item or {}).get("scoreMaximum", 100)),
                custom={str(k): str(v) for k, v in dict(item.get("custom") or {}).items()},
            )
            if line_item is not None and link.line_item_id is not None:
                stored = self.line_items[link.line_item_id]
                stored.label = str(line_item.get("label") or stored.label)
                stored.resource_id = str(line_item.get("resourceId") or "")
                stored.tag = str(line_item.get("tag") or "")
            created.append(link)
        result = DeepLinkReturn(hint, pending.config.client_id, claims, items, created)
        with self._lock:
            self.deep_link_returns.append(result)
        return result


# ----------------------------------------------------------------------------------------------- internals

_shared_key_pem: list[str] = []
_shared_key_lock = threading.Lock()


def _quick_key() -> PlatformKey:
    """A key with its own kid over RSA material made once per process.

    Generating RSA 2048 takes a good part of a second on a busy CI machine, and nearly every test makes a
    platform. Tools pick keys by kid, so platforms stay distinct; ``fresh_key=True`` (and every
    ``rotate_key``) makes new material for tests where that matters.
    """
    with _shared_key_lock:
        if not _shared_key_pem:
            _shared_key_pem.append(PlatformKey.generate().private_pem)
        return PlatformKey.from_pem(_shared_key_pem[0])


def _uid(user: User | str) -> str:
    return user if isinstance(user, str) else user.id


def _item_id(item: LineItem | ResourceLink | str | None) -> str | None:
    if item is None or isinstance(item, str):
        return item
    if isinstance(item, ResourceLink):
        if item.line_item_id is None:
            raise LookupError(f"resource link {item.id!r} has no line item")
        return item.line_item_id
    return item.id


def host_of(url: str) -> str:
    """``scheme://host:port`` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
