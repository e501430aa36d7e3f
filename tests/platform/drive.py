"""Drive real LTI 1.3 round trips against the tool, as a browser between the LMS and the tool would.

``drive_launch`` delivers the login initiation to the tool's ``/lti/login``, follows the tool's redirect
(a 302, or a 200 page that redirects by script or meta refresh, including pylti1p3's cookie check page) to
the platform's authorization endpoint, gets the id_token form there, and posts it to the tool's
``/lti/launch`` with whatever cookies the login set. The tool may be a Flask test client (cookies live in
the client; the platform is then called in-process by default) or the base URL of a live server (a
``requests.Session`` plays the browser and calls the platform over HTTP).
"""

from __future__ import annotations

import html
import http.cookiejar
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import jwt
import requests

from lti_app.demo_lms.platform import AuthResponse, LoginInitiation, PlatformError

from .server import DeepLinkReturn, TestPlatform, host_of

LaunchName = Literal["resource_link", "deep_linking"]


class LaunchDriveError(AssertionError):
    """The round trip could not go on: the tool (or platform) answered something no browser could follow.

    An ``AssertionError`` so a test fails with the tool's answer in the message instead of erroring out.
    """


# ----------------------------------------------------------------------------------------------- browsers


@dataclass(frozen=True)
class HttpReply:
    """A response, whichever client got it; ``raw`` is the client's own response object."""

    status: int
    headers: Mapping[str, str]
    text: str
    raw: Any

    def describe(self) -> str:
        return f"HTTP {self.status} {dict(self.headers)!r}\n{self.text[:1500]}"


class Browser(Protocol):
    def send(
        self, method: str, url: str, data: Mapping[str, str] | None = None, *, follow_redirects: bool = False
    ) -> HttpReply: ...


class TestClientBrowser:
    """A Flask/Werkzeug test client used as the browser: every URL goes to the app under test."""

    __test__ = False

    def __init__(self, client: Any) -> None:
        self.client = client

    def send(
        self, method: str, url: str, data: Mapping[str, str] | None = None, *, follow_redirects: bool = False
    ) -> HttpReply:
        parts = urlsplit(url)
        response = self.client.open(
            parts.path or "/",
            base_url=f"{parts.scheme}://{parts.netloc}",
            method=method,
            query_string=parts.query,
            data=dict(data) if data is not None else None,
            follow_redirects=follow_redirects,
        )
        return HttpReply(response.status_code, response.headers, response.get_data(as_text=True), response)


class RequestsBrowser:
    """A ``requests.Session`` used as the browser, for a tool served over HTTP."""

    def __init__(self, session: requests.Session | None = None, *, timeout: float = 30.0) -> None:
        self.session = session or browser_session()
        self.timeout = timeout

    def send(
        self, method: str, url: str, data: Mapping[str, str] | None = None, *, follow_redirects: bool = False
    ) -> HttpReply:
        response = self.session.request(
            method,
            url,
            data=dict(data) if data is not None else None,
            allow_redirects=follow_redirects,
            timeout=self.timeout,
        )
        return HttpReply(response.status_code, response.headers, response.text, response)


class LoopbackCookieJar(requests.cookies.RequestsCookieJar):
    """Keep ``Secure`` cookies usable on http://127.0.0.1 and localhost, as browsers treat loopback as secure.

    The tool sets its state cookie ``SameSite=None; Secure`` (it must, inside an LMS iframe); a plain
    ``requests`` jar would store it and never send it back over plain-HTTP loopback. Clearing the flag when
    the cookie is stored survives the jar copies ``requests`` makes for every request.
    """

    LOOPBACK = frozenset({"127.0.0.1", "localhost", "localhost.local", "::1", "[::1]"})

    def set_cookie(self, cookie: http.cookiejar.Cookie, *args: Any, **kwargs: Any) -> None:
        if cookie.secure and cookie.domain.lstrip(".") in self.LOOPBACK:
            cookie.secure = False
        super().set_cookie(cookie, *args, **kwargs)


def browser_session() -> requests.Session:
    """A ``requests.Session`` that behaves like a browser on loopback (see :class:`LoopbackCookieJar`)."""
    session = requests.Session()
    session.cookies = LoopbackCookieJar()
    session.headers["User-Agent"] = "Mozilla/5.0 (tandem-test-platform)"
    return session


# -------------------------------------------------------------------------------------------- page parsing


@dataclass
class HtmlForm:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self.meta_refresh: str | None = None
        self.links: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(HtmlForm(values.get("action", ""), values.get("method", "get").upper()))
        elif tag in ("input", "button", "textarea") and self.forms and values.get("name"):
            if (
                tag == "input"
                and values.get("type", "").lower() in ("checkbox", "radio")
                and "checked" not in values
            ):
                return
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            match = re.search(r"url\s*=\s*['\"]?([^'\"]+)", values.get("content", ""), re.IGNORECASE)
            if match:
                self.meta_refresh = match.group(1).strip()
        elif tag == "a" and values.get("href"):
            self.links.append(values["href"])
        elif tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and self.scripts:
            self.scripts[-1] += data


def parse_forms(page: str, base_url: str = "") -> list[HtmlForm]:
    """The forms of an HTML page, with actions made absolute against ``base_url``."""
    parser = _PageParser()
    parser.feed(page)
    for form in parser.forms:
        form.action = urljoin(base_url, form.action) if base_url else form.action
    return parser.forms


_JS_LOCATION = re.compile(
    r"""(?:location(?:\.href)?\s*=|location\.(?:replace|assign)\()\s*(["'`])(.+?)\1""", re.DOTALL
)


def _js_unescape(value: str) -> str:
    value = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), value)
    value = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), value)
    return value.replace("\\/", "/")


def find_redirect(page: str, base_url: str, *, prefer: str = "") -> str | None:
    """Where an HTML page sends the browser: a script ``location`` assignment, a meta refresh, or (as a
    last resort) any URL in the page that starts with ``prefer`` (the platform's auth URL)."""
    parser = _PageParser()
    parser.feed(page)
    for script in parser.scripts:
        for match in _JS_LOCATION.finditer(script):
            target = _js_unescape(match.group(2))
            if not prefer or target.startswith(prefer):
                return urljoin(base_url, target)
    if parser.meta_refresh:
        return urljoin(base_url, parser.meta_refresh)
    if prefer:
        # Last resort: the auth URL written anywhere in the page, plain or with JSON-escaped slashes.
        for pattern in (re.escape(prefer), re.escape(prefer.replace("/", "\\/"))):
            found = re.search(pattern + r"""[^"'<>\s`]*""", page)
            if found:
                return _js_unescape(html.unescape(found.group(0)))
    return None


# ------------------------------------------------------------------------------------------- the round trip


@dataclass(frozen=True)
class AuthRequest:
    """The tool's OIDC authentication request as the browser would send it to the platform."""

    url: str
    method: str
    params: dict[str, str]


class LaunchFlow:
    """The launch round trip in steps, for tests that need to meddle between them (bad launches).

    ``start`` → :class:`LoginInitiation`; ``login`` delivers it to the tool → :class:`AuthRequest`;
    ``authorize`` gets the platform's answer → :class:`AuthResponse`; ``post`` delivers form fields to
    the tool's redirect_uri → the tool's response. ``run`` does all four.
    """

    def __init__(
        self,
        tool: Any,
        platform: TestPlatform,
        *,
        session: requests.Session | None = None,
        tool_base_url: str | None = None,
        via_http: bool | None = None,
    ) -> None:
        self.platform = platform
        self.live = isinstance(tool, str)
        if not platform.configs:
            platform.add_tool(
                tool.rstrip("/") if isinstance(tool, str) else (tool_base_url or "http://localhost")
            )
        if isinstance(tool, str):
            self.browser: Browser = RequestsBrowser(session)
        else:
            self.browser = TestClientBrowser(tool)
        self.platform_browser = self.browser if self.live else RequestsBrowser(session)
        self.via_http = self.live if via_http is None else via_http
        self.history: list[HttpReply] = []
        self.auth: AuthResponse | None = None

    def start(
        self, user: Any, course: Any, launch: LaunchName = "resource_link", **options: Any
    ) -> LoginInitiation:
        """Have the platform start a launch (``options`` as :meth:`TestPlatform.launch`)."""
        return self.platform.launch(user, course, kind=launch, **options)

    def login(self, initiation: LoginInitiation) -> AuthRequest:
        """Deliver the login initiation to the tool and read where it sends the browser."""
        if initiation.method == "POST":
            reply = self._send(self.browser, "POST", initiation.url, initiation.params)
        else:
            reply = self._send(self.browser, "GET", initiation.get_url())
        login_url = initiation.url
        for _ in range(3):
            found = self._auth_request_from(reply, login_url)
            if isinstance(found, AuthRequest):
                return found
            # pylti1p3's cookie check page reloads the login URL with lti1p3_new_window=1.
            reply = self._send(self.browser, "GET", found)
        raise LaunchDriveError("the tool's login kept answering its cookie check page:\n" + reply.describe())

    def _auth_request_from(self, reply: HttpReply, login_url: str) -> AuthRequest | str:
        auth_url = self.platform.auth_url
        if reply.status in (301, 302, 303, 307, 308):
            location = urljoin(login_url, reply.headers.get("Location", ""))
            return self._check_auth_url(location, reply)
        if reply.status != 200:
            raise LaunchDriveError("the tool's login did not redirect to the platform:\n" + reply.describe())
        page = reply.text
        cookie_check = re.search(r"var urlParams = (\{.*?\});", page, re.DOTALL)
        if "lti1p3_new_window" in page and cookie_check:
            params = {k: html.unescape(v) for k, v in json.loads(cookie_check.group(1)).items()}
            return login_url.split("?", 1)[0] + "?" + urlencode(params)
        for form in parse_forms(page, login_url):
            if form.action.split("?", 1)[0] == auth_url:
                if form.method == "GET":
                    return AuthRequest(
                        form.action.split("?", 1)[0] + "?" + urlencode(form.fields), "GET", dict(form.fields)
                    )
                return AuthRequest(form.action, "POST", dict(form.fields))
        target = find_redirect(page, login_url, prefer=auth_url)
        if target is None:
            raise LaunchDriveError(
                "the tool's login page does not lead to the platform:\n" + reply.describe()
            )
        return self._check_auth_url(target, reply)

    def _check_auth_url(self, url: str, reply: HttpReply) -> AuthRequest:
        if url.split("?", 1)[0] != self.platform.auth_url:
            raise LaunchDriveError(
                f"the tool's login sent the browser to {url}, not to the platform's authorization endpoint "
                f"{self.platform.auth_url}:\n" + reply.describe()
            )
        return AuthRequest(url, "GET", dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)))

    def authorize(self, request: AuthRequest) -> AuthResponse:
        """The platform's answer to the tool's authentication request: in-process, or over HTTP."""
        if self.via_http:
            if request.method == "GET":
                reply = self._send(self.platform_browser, "GET", request.url)
            else:
                reply = self._send(self.platform_browser, "POST", request.url, request.params)
            forms = parse_forms(reply.text, request.url)
            if reply.status != 200 or not forms:
                raise LaunchDriveError(
                    "the platform refused the tool's authentication request:\n" + reply.describe()
                )
            form = forms[0]
            claims: dict[str, Any] = {}
            if "id_token" in form.fields:
                claims = jwt.decode(form.fields["id_token"], options={"verify_signature": False})
            self.auth = AuthResponse(form.action, dict(form.fields), claims)
            return self.auth
        try:
            self.auth = self.platform.authorize_request(request.params)
        except PlatformError as exc:
            if not exc.redirectable:
                raise LaunchDriveError(
                    f"the platform refused the tool's authentication request: {exc}"
                ) from exc
            # OIDC Core §3.1.2.6: the error goes back to the tool's redirect_uri, as over HTTP.
            fields = {"error": exc.error, "error_description": exc.description}
            if request.params.get("state"):
                fields["state"] = request.params["state"]
            self.auth = AuthResponse(request.params["redirect_uri"], fields, {})
        return self.auth

    def post(
        self, fields: Mapping[str, str], action: str | None = None, *, follow_redirects: bool = False
    ) -> Any:
        """POST ``fields`` to the tool (``action`` defaults to the redirect_uri); the client's response."""
        target = action or (self.auth.redirect_uri if self.auth else "")
        if not target:
            raise LaunchDriveError("nothing to post to: authorize first or give the action URL")
        return self._send(self.browser, "POST", target, fields, follow_redirects=follow_redirects).raw

    def run(
        self,
        user: Any,
        course: Any,
        launch: LaunchName = "resource_link",
        *,
        follow_redirects: bool = False,
        fields_hook: Callable[[dict[str, str]], Mapping[str, str]] | None = None,
        **options: Any,
    ) -> Any:
        """The whole round trip; returns the tool's response to the launch POST."""
        auth = self.authorize(self.login(self.start(user, course, launch, **options)))
        fields = dict(auth.fields)
        if fields_hook is not None:
            fields = dict(fields_hook(fields))
        return self.post(fields, auth.redirect_uri, follow_redirects=follow_redirects)

    def _send(
        self, browser: Browser, method: str, url: str, data: Mapping[str, str] | None = None, **kwargs: Any
    ) -> HttpReply:
        reply = browser.send(method, url, data, **kwargs)
        self.history.append(reply)
        return reply


def drive_launch(
    tool: Any,
    platform: TestPlatform,
    user: Any,
    course: Any,
    launch: LaunchName = "resource_link",
    *,
    session: requests.Session | None = None,
    tool_base_url: str | None = None,
    via_http: bool | None = None,
    follow_redirects: bool = False,
    fields_hook: Callable[[dict[str, str]], Mapping[str, str]] | None = None,
    **options: Any,
) -> Any:
    """Perform a real OIDC launch of ``user`` in ``course`` against ``tool``; the tool's final response.

    ``tool`` is a Flask test client (``app.test_client()``) or a live base URL. ``options`` go to
    :meth:`TestPlatform.launch`: ``role``, ``custom``, ``resource_link``, ``mentees``, ``method`` ("GET"
    login initiation), ``client_id``/``deployment_id``/``config``, ``deep_linking``, ``extra_claims``.
    With no tool registered yet, registers ``tool_base_url`` (test client, default ``http://localhost``) or
    the live base URL. ``fields_hook`` may alter the id_token/state form before it is posted.
    """
    flow = LaunchFlow(tool, platform, session=session, tool_base_url=tool_base_url, via_http=via_http)
    return flow.run(
        user, course, launch, follow_redirects=follow_redirects, fields_hook=fields_hook, **options
    )


# ------------------------------------------------------------------------------- deep linking, registration


def submit_deep_linking_response(
    platform: TestPlatform,
    page_or_jwt: str,
    *,
    return_url: str | None = None,
    session: requests.Session | None = None,
    via_http: bool = True,
) -> DeepLinkReturn:
    """Deliver the tool's Deep Linking response (its auto-submitting page, or the bare JWT with
    ``return_url``) to the platform, and return what the platform made of it.

    Raises :class:`LaunchDriveError` when the platform refuses it (bad signature, wrong ``data`` …).
    """
    token, action = page_or_jwt.strip(), return_url
    if "<" in token:
        forms = [f for f in parse_forms(page_or_jwt) if "JWT" in f.fields]
        if not forms:
            raise LaunchDriveError(
                "no form with a JWT field in the tool's deep linking page:\n" + page_or_jwt[:1500]
            )
        token, action = forms[0].fields["JWT"], action or forms[0].action
    if not action:
        raise LaunchDriveError("give return_url with a bare JWT")
    before = len(platform.deep_link_returns)
    if via_http:
        reply = RequestsBrowser(session).send("POST", action, {"JWT": token})
        if reply.status != 200 or len(platform.deep_link_returns) == before:
            raise LaunchDriveError("the platform refused the deep linking response:\n" + reply.describe())
        return platform.deep_link_returns[-1]
    hint = dict(parse_qsl(urlsplit(action).query)).get("launch", "")
    try:
        return platform.receive_deep_linking_response(token, hint)
    except PlatformError as exc:
        raise LaunchDriveError(f"the platform refused the deep linking response: {exc}") from exc


def drive_dynamic_registration(
    tool: Any,
    platform: TestPlatform,
    *,
    register_path: str = "/lti/register",
    tool_base_url: str = "http://localhost",
    session: requests.Session | None = None,
    client_id: str | None = None,
) -> tuple[Any, Any]:
    """Open the tool's registration URL the way an LMS admin's browser does (Dynamic Registration 1.0
    §3.3) and return ``(tool response, ToolRegistration or None)``.

    The tool then reads the platform's OpenID configuration and POSTs its metadata to ``/register`` over
    HTTP, so the platform must be started even when the tool is a test client.
    """
    base = tool.rstrip("/") if isinstance(tool, str) else tool_base_url.rstrip("/")
    browser: Browser = RequestsBrowser(session) if isinstance(tool, str) else TestClientBrowser(tool)
    before = len(platform.registrations)
    reply = browser.send("GET", platform.registration_start_url(base + register_path, client_id=client_id))
    registration = platform.registrations[-1] if len(platform.registrations) > before else None
    return reply.raw, registration


__all__ = [
    "AuthRequest",
    "HtmlForm",
    "HttpReply",
    "LaunchDriveError",
    "LaunchFlow",
    "LoopbackCookieJar",
    "RequestsBrowser",
    "TestClientBrowser",
    "browser_session",
    "drive_dynamic_registration",
    "drive_launch",
    "find_redirect",
    "host_of",
    "parse_forms",
    "submit_deep_linking_response",
]
