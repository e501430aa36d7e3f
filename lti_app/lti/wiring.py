"""Per-app wiring of the launch machinery: one shared store, one key cache, one HTTP client per app, and
the objects one login or launch request needs, built from the Flask request.

The views stay thin (parse → one call → respond); this is the only LTI module that reads Flask's request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Request, current_app
from pylti1p3.exception import LtiException

from config.settings import Settings
from lms_clients.http import LMSHttp
from lti_app.crypto import SecretBox
from lti_app.errors import NotAuthenticated
from lti_app.extensions import db
from lti_app.lti.platform_keys import PlatformKeys
from lti_app.lti.protocol import (
    LaunchRequest,
    StateCookies,
    TandemMessageLaunch,
    TandemOIDCLogin,
    TandemSessionService,
    origin_of,
)
from lti_app.lti.storage import DatabaseStore, LaunchStore, RedisStore, StoreLaunchData
from lti_app.lti.tool_config import DatabaseToolConf
from lti_app.services.launch import LaunchResult

STORE_KEY = "tandem.launch_store"
KEYS_KEY = "tandem.platform_keys"
# Parameters of an OIDC login initiation (Security Framework §5.1.1.1, LTI Client Side postMessages §3).
LOGIN_PARAMS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "lti_deployment_id",
    "client_id",
    "lti_storage_target",
)


def settings_of(app: Flask) -> Settings:
    settings: Settings = app.extensions["tandem.settings"]
    return settings


def launch_store(app: Flask) -> LaunchStore:
    """The app's shared store: Redis when configured, else the database."""
    store: LaunchStore | None = app.extensions.get(STORE_KEY)
    if store is None:
        settings = settings_of(app)
        store = RedisStore.from_url(settings.redis_url) if settings.redis_url else DatabaseStore(lambda: db.session())
        app.extensions[STORE_KEY] = store
    return store


def platform_keys(app: Flask) -> PlatformKeys:
    keys: PlatformKeys | None = app.extensions.get(KEYS_KEY)
    if keys is None:
        # A person is waiting on this fetch: short timeouts, one retry.
        http = LMSHttp(connect_timeout=3.0, read_timeout=5.0, max_attempts=2, backoff_base=0.2)
        keys = PlatformKeys(launch_store(app), http, ttl_seconds=settings_of(app).platform_jwks_ttl_seconds)
        app.extensions[KEYS_KEY] = keys
    return keys


def tool_origin(app: Flask) -> str:
    return origin_of(settings_of(app).base_url)


def redirect_uri(app: Flask) -> str:
    """The one URL platforms post launches to (registered as the tool's redirect URI)."""
    return settings_of(app).base_url + "/lti/launch"


def cross_site_cookies(app: Flask, request: Request) -> bool:
    return request.is_secure or settings_of(app).base_url.startswith("https://")


def is_same_origin(app: Flask, request: Request) -> bool:
    """The browser says this POST came from a Tandem page (Fetch Metadata, else the Origin header)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    if not origin:
        return False
    own = {tool_origin(app), origin_of(request.host_url)}
    return origin in own


def _tool_key_loader(app: Flask) -> Callable[[], tuple[str, str]]:
    def load() -> tuple[str, str]:
        from lti_app.services.keys import signing_key

        key = signing_key(db.session(), SecretBox(settings_of(app).secret_key))
        return key.kid, key.private_key_pem

    return load


def session_service(app: Flask) -> TandemSessionService:
    settings = settings_of(app)
    storage = StoreLaunchData(launch_store(app), default_ttl=settings.launch_token_ttl_seconds)
    return TandemSessionService(storage, launch_data_ttl=settings.launch_token_ttl_seconds)


def tool_config(app: Flask) -> DatabaseToolConf:
    return DatabaseToolConf(db.session(), _tool_key_loader(app))


def build_login(request: Request) -> tuple[TandemOIDCLogin, StateCookies]:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    # Moodle and Canvas POST the login; other platforms use GET (Security Framework §5.1.1.1 allows both).
    params = {name: request.values.get(name, "") for name in LOGIN_PARAMS}
    lti_request = LaunchRequest(params, request.cookies, secure=request.is_secure)
    storage_target = lti_request.get_param("lti_storage_target")
    cookies = StateCookies(
        lti_request, cross_site=cross_site_cookies(app, request), enabled=not storage_target
    )
    login = TandemOIDCLogin(
        lti_request, tool_config(app), session_service(app), cookies, storage_target=storage_target
    )
    return login, cookies


def build_launch(request: Request) -> tuple[TandemMessageLaunch, StateCookies]:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    params = {name: value for name, value in request.form.items()}
    lti_request = LaunchRequest(
        params, request.cookies, secure=request.is_secure, same_origin=is_same_origin(app, request)
    )
    cookies = StateCookies(lti_request, cross_site=cross_site_cookies(app, request))
    launch = TandemMessageLaunch(
        lti_request,
        tool_config(app),
        session_service=session_service(app),
        cookie_service=cookies,
        keys=platform_keys(app),
        leeway=settings_of(app).jwt_leeway_seconds,
    )
    return launch, cookies


def restore_launch(launch_id: str) -> TandemMessageLaunch:
    """A stored launch (``launch_id`` from the launch token), for the deep linking response and services:
    ``restore_launch(id).get_deep_link()`` and friends, as pylti1p3 offers them."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    lti_request = LaunchRequest({}, {}, secure=True)
    try:
        launch = TandemMessageLaunch.from_cache(
            launch_id,
            lti_request,
            tool_config(app),
            session_service=session_service(app),
            cookie_service=StateCookies(lti_request, cross_site=True, enabled=False),
        )
    except LtiException as exc:
        raise NotAuthenticated(
            "This launch has expired. Open Tandem again from your course.", code="launch_expired"
        ) from exc
    assert isinstance(launch, TandemMessageLaunch)
    return launch


def launch_payload(result: LaunchResult, launch: TandemMessageLaunch) -> dict[str, Any]:
    """What the launch token carries for the rest of the visit (see ``lti_app.web.launch_session``)."""
    return {
        "person_id": result.person.id,
        "registration_id": result.person.registration_id,
        "course_id": result.course.id if result.course else None,
        "roles": list(result.roles),
        "placement_id": result.placement.id if result.placement else None,
        "launch_id": launch.get_launch_id(),
        "message_type": result.message_type,
    }
