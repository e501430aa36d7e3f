"""pylti1p3, extended where it falls short. Every extension of the library lives in this one module.

pylti1p3 2.0 does the OIDC login parameters, the JWT format checks, the message validators (resource link,
deep linking) and later the deep linking response and service objects. What it leaves open, and what is
done here instead:

* **Nonces are never consumed.** Its ``check_nonce`` only asks whether a nonce was ever issued, so a
  captured launch could be posted again and again. :class:`TandemSessionService` *pops* the nonce from the
  shared store: one launch per login, atomically across workers.
* **State lives in a cookie or nowhere.** Its state cookie has no ``Partitioned`` attribute and there is no
  support for LTI Client Side postMessages (``lti_storage_target``). :class:`StateCookies` sets
  ``SameSite=None; Secure; Partitioned``; :class:`TandemOIDCLogin` records which way the login went, and
  :meth:`TandemMessageLaunch.validate_state` asks for the platform-storage proof when the login used it.
* **Key handling.** It fetches the JWKS on every launch and never refreshes on an unknown ``kid``; it picks
  the algorithm from the token header. Here only RS256 is accepted, keys come from the shared cache
  (:mod:`lti_app.lti.platform_keys`), refreshed once for an unknown kid.
* **Claims.** It does not verify ``aud`` (``verify_aud`` is off), ignores ``azp`` and allows no leeway on
  ``exp``/``iat``. Here ``aud`` must contain the client id, ``azp`` must name it when present (and is
  required when ``aud`` lists several parties, OIDC Core §2), and ``exp``/``iat`` get
  ``Settings.jwt_leeway_seconds``.
* **Errors.** Its messages ("Invalid Nonce", "State not found") become :class:`LaunchError` pages saying
  what was wrong and what to do.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from pylti1p3.cookie import CookieService
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.request import Request
from pylti1p3.session import SessionService

from lti_app.errors import LaunchError, UnknownPlatform
from lti_app.lti import claims as c
from lti_app.lti.platform_keys import PlatformKeys, PlatformKeySet
from lti_app.lti.storage import StoreLaunchData
from lti_app.lti.tool_config import DatabaseToolConf, TandemRegistration
from lti_app.models.registration import Deployment, Registration

# pylti1p3 names its state cookie "lti1p3-<state>"; kept, so its own readers still find it.
COOKIE_PREFIX = "lti1p3"
# A login must turn into a launch within this time (the platform's auth step is usually under a second).
LOGIN_TTL_SECONDS = 600
# Field the postMessage check page posts back with the value it read from the platform's storage.
STORAGE_PROOF_FIELD = "lti_storage_state"
STORAGE_NONCE_FIELD = "lti_storage_nonce"


class PlatformInactive(LaunchError):
    status = 403
    code = "platform_inactive"


class UnknownDeployment(UnknownPlatform):
    code = "unknown_deployment"


def unknown_platform_message(iss: str, client_id: str | None) -> str:
    who = f"issuer {iss}, client id {client_id}" if client_id else f"issuer {iss}"
    return f"This LMS ({who}) is not registered with Tandem. Ask your LMS administrator to register it."


@dataclass(frozen=True)
class StorageCheckRequired(Exception):  # noqa: N818 - a signal to the view, not an error
    """The launch is valid so far but its login kept state in the platform's storage, which only the
    browser can read: the view answers with the page that reads it and posts the launch back."""

    storage_target: str
    platform_origin: str
    state: str
    nonce: str


# ------------------------------------------------------------------------------------------ plumbing


class LaunchRequest(Request):
    """One login or launch request, free of Flask: its parameters, cookies and where it came from.

    ``same_origin`` is True only when the browser says the request came from a Tandem page (``Origin``
    header or ``Sec-Fetch-Site``): the platform-storage proof is only believed from there, so a page on
    another site cannot post a forged proof.
    """

    def __init__(
        self,
        params: Mapping[str, str],
        cookies: Mapping[str, str],
        *,
        secure: bool,
        same_origin: bool = False,
    ) -> None:
        super().__init__()
        self._params = dict(params)
        self._cookies = dict(cookies)
        self._secure = secure
        self.same_origin = same_origin

    def get_param(self, key: str) -> str | None:  # type: ignore[override]
        value = self._params.get(key)
        return value if isinstance(value, str) and value != "" else None

    def has_param(self, key: str) -> bool:
        return key in self._params

    def get_cookie(self, key: str) -> str | None:
        return self._cookies.get(key)

    def is_secure(self) -> bool:
        return self._secure


class StateCookies(CookieService):
    """The OIDC state cookie. ``cross_site`` (any HTTPS deployment) makes it
    ``SameSite=None; Secure; Partitioned``: the launch is a cross-site POST from the LMS, and CHIPS
    (``Partitioned``) is what Chrome still accepts in a third-party frame. Plain-HTTP development gets a Lax
    cookie, which works when the demo LMS and Tandem share a site. ``enabled`` is False when the login keeps
    its state in the platform's storage instead."""

    def __init__(self, request: LaunchRequest, *, cross_site: bool, enabled: bool = True) -> None:
        self._request = request
        self._cross_site = cross_site
        self._enabled = enabled
        self._pending: dict[str, tuple[str, int]] = {}

    @staticmethod
    def name(state_or_name: str) -> str:
        return f"{COOKIE_PREFIX}-{state_or_name}"

    def get_cookie(self, name: str) -> str | None:
        return self._request.get_cookie(self.name(name))

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        # As long as the login's state record, whatever pylti1p3 asks for (5 minutes): a cookie that
        # outlived its state, or the reverse, would only turn "expired" into a misleading message.
        if self._enabled:
            self._pending[self.name(name)] = (str(value), LOGIN_TTL_SECONDS)

    def expire(self, name: str) -> None:
        """Drop a state cookie once its launch is done (a tidy jar, and no second use)."""
        if self._request.get_cookie(self.name(name)) is not None:
            self._pending[self.name(name)] = ("", 0)

    def apply(self, response: Any) -> None:
        for key, (value, max_age) in self._pending.items():
            if self._cross_site:
                response.set_cookie(
                    key,
                    value,
                    max_age=max_age,
                    path="/lti/",
                    secure=True,
                    httponly=True,
                    samesite="None",
                    partitioned=True,
                )
            else:
                response.set_cookie(key, value, max_age=max_age, path="/lti/", httponly=True, samesite="Lax")


class TandemSessionService(SessionService):
    """pylti1p3's session service over the shared store, with single-use nonces."""

    def __init__(self, storage: StoreLaunchData, *, launch_data_ttl: int) -> None:
        # No super().__init__: it would build a storage on the Flask session, i.e. on a cookie.
        self.data_storage = storage
        self._launch_data_lifetime = launch_data_ttl

    def save_nonce(self, nonce: str) -> None:
        self.data_storage.set_value(self._get_key("nonce", nonce), True, exp=LOGIN_TTL_SECONDS)

    def save_state_params(self, state: str, params: Mapping[str, object]) -> None:
        self.data_storage.set_value(self._get_key(state), dict(params), exp=LOGIN_TTL_SECONDS)

    def nonce_is_open(self, nonce: str) -> bool:
        """Issued and not used yet (a read: only :meth:`check_nonce` uses it up)."""
        return bool(self.data_storage.check_value(self._get_key("nonce", nonce)))

    def check_nonce(self, nonce: str) -> bool:
        """True exactly once per issued nonce: the first caller takes it out of the store."""
        storage = self.data_storage
        assert isinstance(storage, StoreLaunchData)
        return storage.pop_value(self._get_key("nonce", nonce)) is not None


# --------------------------------------------------------------------------------------------- login


@dataclass(frozen=True)
class AuthRequest:
    """Where to send the browser after the login: the platform's OIDC auth URL, and what it carries."""

    url: str
    state: str
    nonce: str
    storage_target: str | None
    platform_origin: str


class TandemOIDCLogin(OIDCLogin):
    def __init__(
        self,
        request: LaunchRequest,
        tool_config: DatabaseToolConf,
        session_service: TandemSessionService,
        cookie_service: StateCookies,
        *,
        storage_target: str | None = None,
    ) -> None:
        super().__init__(request, tool_config, session_service=session_service, cookie_service=cookie_service)
        self._storage_target = storage_target
        # A fresh dict per login: pylti1p3 declares it on the class, shared by every instance.
        self._state_params = {}

    def get_redirect(self, url: str) -> Any:
        raise NotImplementedError("Tandem builds the response itself; use auth_request()")

    def _generate_nonce(self) -> str:
        nonce = secrets.token_urlsafe(32)
        # Bound to the state, so the launch can check the token's nonce came from *this* login.
        self._state_params = {**self._state_params, "nonce": nonce}
        return nonce

    def validate_oidc_login(self) -> TandemRegistration:
        iss = self._get_request_param("iss")
        if not iss:
            raise LaunchError(
                "The LMS started a login without saying who it is (no iss parameter).", code="missing_issuer"
            )
        if not self._get_request_param("login_hint"):
            raise LaunchError("The LMS started a login without a login_hint.", code="missing_login_hint")
        client_id = self._get_request_param("client_id")
        conf: DatabaseToolConf = self._tool_config
        # client_id is optional in the login (Security Framework §5.1.1.1); without it the issuer must
        # have exactly one registration.
        registration = (
            conf.find_registration_by_params(iss, client_id)
            if client_id
            else conf.find_registration_by_issuer(iss)
        )
        if registration is None:
            raise UnknownPlatform(unknown_platform_message(iss, client_id))
        _require_active(registration.row)
        deployment_id = self._get_request_param("lti_deployment_id")
        if deployment_id and conf.deployment_row(registration.row, deployment_id) is None:
            raise UnknownDeployment(_unknown_deployment_message(registration.row, deployment_id))
        self._state_params = {
            **self._state_params,
            "iss": registration.row.issuer,
            "client_id": registration.row.client_id,
            "storage_target": self._storage_target,
        }
        return registration

    def auth_request(self, redirect_uri: str) -> AuthRequest:
        """Validate the login, remember state and nonce, and build the platform auth URL."""
        try:
            url = self._prepare_redirect_url(redirect_uri)
        except OIDCException as exc:
            raise LaunchError(f"The login could not be started: {exc}.", code="invalid_login") from exc
        auth_login_url = self._registration.get_auth_login_url() or ""
        if "?" in auth_login_url:
            # pylti1p3 2.0 appends "?" even when the auth URL already has a query string.
            url = auth_login_url + "&" + url[len(auth_login_url) + 1 :]
        query = parse_qs(urlsplit(url).query)
        return AuthRequest(
            url=url,
            state=query["state"][0],
            nonce=query["nonce"][0],
            storage_target=self._storage_target,
            platform_origin=origin_of(auth_login_url),
        )


# -------------------------------------------------------------------------------------------- launch


class TandemMessageLaunch(MessageLaunch):
    """A launch validated in Tandem's order: the token (format, platform, signature, deployment, message)
    first, then the browser binding (state) and last the single-use nonce, so a refused launch never burns
    a nonce it did not have to."""

    _request: LaunchRequest
    _tool_config: DatabaseToolConf
    _session_service: TandemSessionService
    _cookie_service: StateCookies

    def __init__(
        self,
        request: LaunchRequest,
        tool_config: DatabaseToolConf,
        session_service: TandemSessionService | None = None,
        cookie_service: StateCookies | None = None,
        launch_data_storage: Any = None,
        requests_session: Any = None,
        *,
        keys: PlatformKeys | None = None,
        leeway: int = 0,
    ) -> None:
        super().__init__(
            request,
            tool_config,
            session_service=session_service,
            cookie_service=cookie_service,
            launch_data_storage=launch_data_storage,
            requests_session=requests_session,
        )
        self._keys = keys
        self._leeway = leeway
        self.deployment: Deployment | None = None

    def _get_request_param(self, key: str) -> str | None:  # type: ignore[override]
        return self._request.get_param(key)

    @property
    def registration(self) -> Registration:
        assert isinstance(self._registration, TandemRegistration), "registration not validated yet"
        return self._registration.row

    @property
    def state(self) -> str:
        return self._get_request_param("state") or ""

    def validate(self) -> TandemMessageLaunch:
        if self._restored:
            raise LaunchError("A stored launch cannot be validated again.", code="invalid_launch")
        self._validated = True
        steps = (
            (self.validate_jwt_format, "malformed_token"),
            (self.validate_registration, "invalid_launch"),
            (self.validate_jwt_signature, "invalid_token"),
            (self.validate_deployment, "unknown_deployment"),
            (self.validate_message, "invalid_message"),
            (self.validate_state, "invalid_state"),
            (self.validate_nonce, "replayed_launch"),
            (self.save_launch_data, "invalid_launch"),
        )
        try:
            for step, code in steps:
                try:
                    step()
                except LtiException as exc:
                    raise LaunchError(_sentence(str(exc)), code=code) from exc
        except BaseException:
            self._validated = False
            raise
        return self

    # ---- the token

    def validate_jwt_format(self) -> TandemMessageLaunch:
        error = self._get_request_param("error")
        if error and not self._get_request_param("id_token"):
            # OIDC Core §3.1.2.6: the platform answered the login with an error instead of a token.
            description = self._get_request_param("error_description") or ""
            raise LaunchError(
                f"The LMS refused to sign you in to Tandem ({error[:60]}: {description[:200]}). "
                "Launch again from the LMS; if it keeps happening, show this to your LMS administrator.",
                code="platform_refused",
            )
        if not self._get_request_param("id_token"):
            raise LaunchError(
                "The launch has no id_token: it did not come from an LMS launch.", code="missing_id_token"
            )
        try:
            super().validate_jwt_format()
        except LtiException as exc:
            raise LaunchError(
                "The launch token (id_token) is not a well-formed JWT.", code="malformed_token"
            ) from exc
        if not isinstance(self._jwt.get("header"), dict) or not isinstance(self._jwt.get("body"), dict):
            raise LaunchError("The launch token (id_token) is not a well-formed JWT.", code="malformed_token")
        return self

    def get_client_id(self) -> str:
        """The client id the token was issued to: ``azp`` when present, else the single ``aud``."""
        body = self._get_jwt_body()
        aud = body.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        audiences = [a for a in audiences if isinstance(a, str) and a]
        if not audiences:
            raise LaunchError("The launch token has no audience (aud).", code="missing_claim")
        azp = body.get("azp")
        if azp is not None:
            if not isinstance(azp, str) or azp not in audiences:
                raise LaunchError(
                    "The launch token's azp does not name one of its audiences.", code="wrong_audience"
                )
            return azp
        if len(audiences) > 1:
            raise LaunchError(
                "The launch token names several audiences but no azp (OIDC Core §2).", code="wrong_audience"
            )
        return audiences[0]

    def validate_registration(self) -> TandemMessageLaunch:
        iss = self._get_jwt_body().get("iss")
        if not isinstance(iss, str) or not iss:
            raise LaunchError(
                "The launch token does not say which LMS sent it (no iss).", code="missing_claim"
            )
        client_id = self.get_client_id()
        self._registration = self._tool_config.find_registration_by_params(iss, client_id)
        if self._registration is None:
            raise UnknownPlatform(unknown_platform_message(iss, client_id))
        _require_active(self.registration)
        return self

    def validate_jwt_signature(self) -> TandemMessageLaunch:
        header = self._jwt.get("header", {})
        alg, kid = header.get("alg"), header.get("kid")
        if alg != "RS256":
            # "none" and HS256 (signed with the public key as an HMAC secret) are the classic forgeries.
            raise LaunchError(
                f"The launch token is signed with {alg!r}; LTI 1.3 requires RS256.", code="bad_algorithm"
            )
        if not isinstance(kid, str) or not kid:
            raise LaunchError("The launch token does not name its signing key (no kid).", code="missing_kid")
        assert self._keys is not None, "PlatformKeys required to validate a launch"
        row = self.registration
        key = self._keys.key_for(PlatformKeySet(row.id, row.key_set_url), kid)
        try:
            jwt.decode(
                self._get_request_param("id_token") or "",
                key.key,
                algorithms=["RS256"],
                audience=self.get_client_id(),
                issuer=row.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise LaunchError(
                "The launch token has expired. Launch Tandem again from the LMS (if this keeps "
                "happening, the LMS server's clock may be wrong).",
                code="token_expired",
            ) from exc
        except jwt.ImmatureSignatureError as exc:
            raise LaunchError(
                "The launch token was issued in the future: the LMS server's clock is ahead. "
                "Ask your LMS administrator to check it.",
                code="token_not_yet_valid",
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise LaunchError(
                "The launch token was issued for another tool (aud).", code="wrong_audience"
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise LaunchError("The launch token's issuer does not match.", code="wrong_issuer") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise LaunchError(f"The launch token has no {exc.claim!r} claim.", code="missing_claim") from exc
        except jwt.InvalidSignatureError as exc:
            raise LaunchError(
                "The launch token's signature does not match the LMS's key.", code="bad_signature"
            ) from exc
        except jwt.InvalidTokenError as exc:
            raise LaunchError(f"The launch token was refused: {exc}.", code="invalid_token") from exc
        return self

    def validate_deployment(self) -> TandemMessageLaunch:
        deployment_id = self._get_jwt_body().get(c.DEPLOYMENT_ID)
        if not isinstance(deployment_id, str) or not deployment_id:
            raise LaunchError("The launch token has no deployment_id claim.", code="missing_claim")
        self.deployment = self._tool_config.deployment_row(self.registration, deployment_id)
        if self.deployment is None:
            raise UnknownDeployment(_unknown_deployment_message(self.registration, deployment_id))
        return self

    def validate_message(self) -> TandemMessageLaunch:
        body = self._get_jwt_body()
        message_type = body.get(c.MESSAGE_TYPE)
        if not message_type:
            raise LaunchError("The launch token has no message_type claim.", code="missing_claim")
        if message_type not in c.SUPPORTED_MESSAGE_TYPES:
            raise LaunchError(
                f"Tandem does not handle {str(message_type)[:80]!r} messages, only "
                f"{' and '.join(c.SUPPORTED_MESSAGE_TYPES)}.",
                code="unsupported_message_type",
            )
        version = body.get(c.VERSION)
        if version is None:
            raise LaunchError(
                f"The launch token has no LTI version claim; Tandem speaks {c.LTI_VERSION}.",
                code="wrong_version",
            )
        if version != c.LTI_VERSION:
            raise LaunchError(
                f"The launch is LTI version {str(version)[:20]!r}; Tandem speaks {c.LTI_VERSION}.",
                code="wrong_version",
            )
        if not isinstance(body.get("sub"), str) or not body.get("sub"):
            raise LaunchError("The launch token does not identify the user (no sub).", code="missing_claim")
        if not isinstance(body.get(c.ROLES), list):
            raise LaunchError("The launch token has no roles claim.", code="missing_claim")
        if message_type == c.DEEP_LINKING_REQUEST:
            _require_resource_links(body.get(c.DEEP_LINKING_SETTINGS))
        try:
            super().validate_message()
        except LtiException as exc:
            raise LaunchError(
                f"The launch message is incomplete: {_sentence(str(exc))}", code="missing_claim"
            ) from exc
        return self

    # ---- the browser

    def validate_state(self) -> TandemMessageLaunch:
        state = self._get_request_param("state")
        if not state:
            raise LaunchError(
                "The launch has no state parameter, so Tandem cannot tell it belongs to a login in "
                "this browser. Launch again from the LMS.",
                code="missing_state",
            )
        params = self._session_service.get_state_params(state)
        if not isinstance(params, dict):
            raise LaunchError(
                "This launch's state is unknown or has expired. Launch Tandem again from the LMS.",
                code="unknown_state",
            )
        body = self._get_jwt_body()
        if params.get("iss") != body.get("iss") or params.get("client_id") != self.registration.client_id:
            raise LaunchError(
                "This launch's state belongs to a login with another LMS.", code="state_mismatch"
            )
        if not params.get("nonce") or params.get("nonce") != body.get("nonce"):
            raise LaunchError(
                "The launch token's nonce does not belong to this login.", code="nonce_mismatch"
            )
        if not self._session_service.nonce_is_open(str(params["nonce"])):
            # Said before any cookie complaint: a reload of the launch page is the common way here.
            raise LaunchError(
                "This launch has already been used. Launch Tandem again from the LMS.", code="replayed_launch"
            )
        storage_target = params.get("storage_target")
        if storage_target:
            self._validate_storage_proof(state, str(params["nonce"]), str(storage_target))
        elif self._cookie_service.get_cookie(state) != state:
            raise LaunchError(
                "Tandem could not confirm this launch started in your browser: its state cookie is missing. "
                "Your browser may be blocking cookies in the LMS frame; open Tandem in a new window, or ask "
                "your LMS administrator to enable LTI platform storage.",
                code="state_cookie_missing",
            )
        return self

    def _validate_storage_proof(self, state: str, nonce: str, storage_target: str) -> None:
        """LTI Client Side postMessages: only the browser can read the platform's storage. The first post
        (from the LMS) gets the page that reads it; the proof is only believed from a Tandem page."""
        if not self._request.same_origin or not self._request.has_param(STORAGE_PROOF_FIELD):
            raise StorageCheckRequired(
                storage_target=storage_target,
                platform_origin=origin_of(self.registration.auth_login_url),
                state=state,
                nonce=nonce,
            )
        proof = self._get_request_param(STORAGE_PROOF_FIELD)
        if proof != state or self._get_request_param(STORAGE_NONCE_FIELD) != nonce:
            raise LaunchError(
                "The LMS's platform storage does not hold this launch's state: it was started in "
                "another browser. Launch Tandem again from the LMS.",
                code="state_mismatch",
            )

    def validate_nonce(self) -> TandemMessageLaunch:
        nonce = self._get_jwt_body().get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise LaunchError("The launch token has no nonce.", code="missing_claim")
        if not self._session_service.check_nonce(nonce):
            raise LaunchError(
                "This launch has already been used. Launch Tandem again from the LMS.", code="replayed_launch"
            )
        return self

    def save_launch_data(self) -> TandemMessageLaunch:
        # Unlike pylti1p3, no "state is valid for this token" marker: that marker is what lets a replay
        # through its state check.
        self._session_service.save_launch_data(self._launch_id, self._jwt["body"])
        return self


# ------------------------------------------------------------------------------------------- helpers


def origin_of(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _require_active(row: Registration) -> None:
    if not row.is_active:
        raise PlatformInactive(
            f"Tandem's registration with this LMS ({row.issuer}, client id {row.client_id}) is not "
            "active yet. Ask a Tandem administrator to activate it.",
        )


def _require_resource_links(settings: Any) -> None:
    """Tandem is only ever placed as an LTI resource link (Deep Linking 2.0 §3.1): refuse, naming what the
    platform does accept, a deep linking request that cannot take one. pylti1p3 refuses it too, but only as
    "Must support resource link placement types". Missing settings are left to pylti1p3's own message."""
    if not isinstance(settings, dict) or "accept_types" not in settings:
        return
    accepted = settings.get("accept_types")
    if isinstance(accepted, list) and c.RESOURCE_LINK_TYPE in accepted:
        return
    named = [str(t)[:40] for t in accepted if isinstance(t, str)][:10] if isinstance(accepted, list) else []
    raise LaunchError(
        "This LMS does not accept LTI resource links from deep linking "
        f"(it accepts: {', '.join(named) or 'nothing'}). Tandem can only be added as an LTI resource link.",
        code="resource_link_not_accepted",
    )


def _unknown_deployment_message(row: Registration, deployment_id: str) -> str:
    return (
        f"Deployment {deployment_id[:255]!r} of this LMS (issuer {row.issuer}, client id {row.client_id}) "
        "is not registered with Tandem. Ask your LMS administrator to register it."
    )


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return (text[:1].upper() + text[1:] + ".") if text else "The launch was refused."
