"""The HTTP face of the test platform: routing, fault injection, bearer tokens, media types, status codes.

Everything an LMS decides (who is enrolled, which score stands, what a registration yields) lives on
:class:`~tests.platform.server.TestPlatform`; this module only turns requests into those calls and answers
the way Moodle (or Canvas) does on the wire.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from lti_app.demo_lms import vocab
from lti_app.demo_lms.platform import PlatformConfig, PlatformError, auto_submit_form, login_initiation
from lti_app.demo_lms.services import (
    LineItem,
    lineitem_json,
    link_header,
    media_type,
    membership_container,
    paginate,
    result_json,
    with_query,
)
from lti_app.demo_lms.tool_messages import AccessToken

from .faults import Fault, RecordedRequest

if TYPE_CHECKING:
    from .server import TestPlatform

ENDPOINTS: tuple[str, ...] = (
    "jwks",
    "auth",
    "token",
    "openid-configuration",
    "register",
    "nrps",
    "lineitems",
    "lineitem",
    "scores",
    "results",
    "deep_linking_return",
    "launch",
    "course_page",
)
"""Endpoint names, for fault injection and request counts."""

MAX_BODY = 2 * 1024 * 1024

URL_MAP = Map(
    [
        Rule("/jwks", endpoint="jwks"),
        Rule("/.well-known/jwks.json", endpoint="jwks"),
        Rule("/auth", endpoint="auth"),
        Rule("/token", endpoint="token"),
        Rule("/openid-configuration", endpoint="openid-configuration"),
        Rule("/.well-known/openid-configuration", endpoint="openid-configuration"),
        Rule("/register", endpoint="register"),
        Rule("/nrps/<context_id>/memberships", endpoint="nrps"),
        Rule("/ags/<context_id>/lineitems", endpoint="lineitems"),
        Rule("/ags/<context_id>/lineitems/<item_id>/lineitem", endpoint="lineitem"),
        Rule("/ags/<context_id>/lineitems/<item_id>/lineitem/scores", endpoint="scores"),
        Rule("/ags/<context_id>/lineitems/<item_id>/lineitem/results", endpoint="results"),
        Rule("/deep_linking/return", endpoint="deep_linking_return"),
        Rule("/launch/<hint>", endpoint="launch"),
        Rule("/course/<hint>", endpoint="course_page"),
    ],
    strict_slashes=False,
)

HTML = "text/html; charset=utf-8"


def html_escape(value: object) -> str:
    import html

    return html.escape(str(value), quote=True)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class QuietHandler(WSGIRequestHandler):
    """Keep the test output clean: no access log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class _LimitedRequest(Request):
    # Oversized bodies are refused with 413 before anything parses them.
    max_content_length = MAX_BODY
    max_form_memory_size = MAX_BODY


class HttpError(Exception):
    """An answer with a status and a plain-text reason, as Moodle's services give."""

    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class PlatformWsgi:
    """The WSGI application serving one :class:`TestPlatform`."""

    def __init__(self, platform: TestPlatform) -> None:
        self.platform = platform
        self.handlers: dict[str, Callable[..., Response]] = {
            "jwks": self.jwks,
            "auth": self.auth,
            "token": self.token,
            "openid-configuration": self.openid_configuration,
            "register": self.register,
            "nrps": self.nrps,
            "lineitems": self.lineitems,
            "lineitem": self.lineitem,
            "scores": self.scores,
            "results": self.results,
            "deep_linking_return": self.deep_linking_return,
            "launch": self.launch_page,
            "course_page": self.course_page,
        }

    # -------------------------------------------------------------------------------------------- plumbing

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = _LimitedRequest(environ)
        try:
            endpoint, args = URL_MAP.bind_to_environ(environ).match(return_rule=False)
        except HTTPException:
            return Response("Not Found", status=404)(environ, start_response)
        endpoint = str(endpoint)
        platform = self.platform
        if platform.latency:
            time.sleep(platform.latency)
        fault = platform.faults.next_for(endpoint)
        body = b""
        try:
            body = request.get_data(cache=True)
        except RequestEntityTooLarge:
            response = Response("Request Entity Too Large", status=413)
        else:
            response = self._respond(request, endpoint, dict(args), fault)
        if fault is not None and fault.drop:
            _drop(environ)
        platform.log.record(
            RecordedRequest(
                endpoint,
                request.method,
                request.path,
                request.query_string.decode("latin-1"),
                response.status_code,
                dict(request.headers),
                body,
                fault,
            )
        )
        return response(environ, start_response)

    def _respond(
        self, request: Request, endpoint: str, args: dict[str, Any], fault: Fault | None
    ) -> Response:
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                return Response(b"", status=200)
            if fault.status is not None:
                payload = fault.body if fault.body is not None else f"injected fault: {fault.status}"
                return Response(
                    payload,
                    status=fault.status,
                    headers=dict(fault.headers),
                    content_type=fault.content_type or "text/plain; charset=utf-8",
                )
        try:
            response = self.handlers[endpoint](request, **args)
        except HttpError as exc:
            response = Response(
                exc.message, status=exc.status, headers=exc.headers, content_type="text/plain"
            )
        except PlatformError as exc:
            response = _json(exc.as_json(), status=exc.status)
        except Exception as exc:  # a bug here must reach the test as a 500, and be kept for the report
            self.platform.errors.append(exc)
            response = Response(f"platform error: {exc!r}", status=500, content_type="text/plain")
        if fault is not None:
            if fault.content_type:
                response.headers["Content-Type"] = fault.content_type
            if fault.truncate:
                data = response.get_data()
                response.set_data(data[: len(data) // 2] if len(data) > 1 else b"{")
            for name, value in fault.headers.items():
                response.headers[name] = value
        return response

    def _bearer(self, request: Request, *scopes: str) -> AccessToken:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        token = self.platform.access_tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None or not token.allows(*scopes):
            # Moodle answers 401 both for a bad token and for one without the needed scope.
            expired = token is None or time.time() >= token.expires_at
            reason = "invalid_token" if expired else "insufficient_scope"
            raise HttpError(
                401, f"Unauthorized: {reason}", headers={"WWW-Authenticate": f'Bearer error="{reason}"'}
            )
        return token

    def _type_id(self, request: Request) -> None:
        if not self.platform.require_type_id:
            return
        type_id = request.args.get("type_id")
        if type_id is None or type_id not in {c.deployment_id for c in self.platform.configs}:
            # Moodle: an AGS request without ?type_id= is taken for LTI 2 and refused.
            raise HttpError(403, "Forbidden: type_id is missing or unknown (keep the line item URL's query)")

    def _media_type(self, request: Request, expected: str) -> None:
        if media_type(request.content_type) != expected:
            # Moodle answers 400 to a body of the wrong media type (ltiservice_gradebookservices scores.php).
            status = 400 if self.platform.product_family == vocab.PRODUCT_MOODLE else 415
            raise HttpError(status, f"Content-Type must be {expected}, not {request.content_type!r}")

    def _course(self, context_id: str) -> Any:
        course = self.platform.courses.get(context_id)
        if course is None:
            raise HttpError(404, f"Not Found: Course {context_id} doesn't exist.")
        return course

    def _line_item(self, context_id: str, item_id: str) -> LineItem:
        self._course(context_id)
        item = self.platform.find_line_item(context_id, item_id)
        if item is None:
            raise HttpError(404, f"Not Found: Grade item {item_id} doesn't exist.")
        return item

    def _config(self, token: AccessToken, request: Request) -> PlatformConfig:
        """The registration a service call acts for: the token's client, the deployment named by type_id."""
        type_id = request.args.get("type_id")
        for config in self.platform.configs:
            if config.client_id == token.client_id and type_id in (None, config.deployment_id):
                return config
        return self.platform.config(token.client_id)

    def _page_links(self, request: Request, limit: int | None, following: int | None) -> dict[str, str]:
        if following is None:
            return {}
        here = self.platform.base_url + request.full_path.rstrip("?")
        return {"next": with_query(here, limit=limit or 0, **{"from": following})}

    # ----------------------------------------------------------------------------- OIDC, keys, registration

    def jwks(self, request: Request) -> Response:
        _allow(request, "GET")
        return _json(self.platform.jwks())

    def launch_page(self, request: Request, hint: str) -> Response:
        _allow(request, "GET")
        pending = self.platform.launches.get(hint)
        if pending is None:
            raise HttpError(404, "unknown launch")
        initiation = login_initiation(pending.config, pending.user, pending.launch)
        return Response(initiation.html(), content_type=HTML)

    def course_page(self, request: Request, hint: str) -> Response:
        """A course page the way an LMS shows an LTI activity: the tool in an iframe, the login initiation
        posted into that frame, and the platform side of LTI Client Side postMessages (``lti.put_data`` /
        ``lti.get_data`` answered from this window), so a tool can keep its OIDC state without cookies."""
        _allow(request, "GET")
        pending = self.platform.launches.get(hint)
        if pending is None:
            raise HttpError(404, "unknown launch")
        initiation = login_initiation(pending.config, pending.user, pending.launch)
        fields = "".join(
            f'<input type="hidden" name="{html_escape(k)}" value="{html_escape(v)}">'
            for k, v in initiation.params.items()
        )
        tool_origin = json.dumps(_origin(pending.config.tool_login_url))
        page = f"""<!DOCTYPE html><html><head><title>Course</title></head><body>
<h1>Course page</h1>
<iframe name="tool-frame" id="tool-frame" title="Tandem" style="width:1200px;height:1400px"></iframe>
<form id="login" method="post" action="{html_escape(initiation.url)}" target="tool-frame">{fields}</form>
<script>
window.ltiStorage = {{puts: 0, gets: 0, data: {{}}}};
window.addEventListener('message', function (event) {{
  var d = event.data;
  if (!d || typeof d !== 'object' || event.origin !== {tool_origin}) {{ return; }}
  var answer = {{subject: d.subject + '.response', message_id: d.message_id, key: d.key}};
  if (d.subject === 'lti.put_data') {{
    window.ltiStorage.data[d.key] = d.value; window.ltiStorage.puts += 1; answer.value = d.value;
  }} else if (d.subject === 'lti.get_data') {{
    window.ltiStorage.gets += 1; answer.value = window.ltiStorage.data[d.key];
  }} else if (d.subject === 'lti.capabilities') {{
    answer.supported_messages = [{{subject: 'lti.put_data'}}, {{subject: 'lti.get_data'}}];
  }} else {{ return; }}
  event.source.postMessage(answer, event.origin);
}});
document.getElementById('login').submit();
</script></body></html>"""
        return Response(page, content_type=HTML)

    def auth(self, request: Request) -> Response:
        _allow(request, "GET", "POST")
        params = {**request.args.to_dict(), **request.form.to_dict()}
        try:
            answer = self.platform.authorize_request(params)
        except PlatformError as exc:
            if not exc.redirectable:
                page = f"<!DOCTYPE html><p>{exc.error}: {exc.description}</p>"
                return Response(page, status=exc.status, content_type=HTML)
            # OIDC Core §3.1.2.6: the error goes back to the (validated) redirect_uri.
            fields = {"error": exc.error, "error_description": exc.description}
            if params.get("state"):
                fields["state"] = params["state"]
            return Response(auto_submit_form(params["redirect_uri"], fields), content_type=HTML)
        return Response(answer.html(), content_type=HTML)

    def token(self, request: Request) -> Response:
        _allow(request, "POST")
        answer = self.platform.issue_token(request.form.to_dict())
        # Moodle quirk (svc_01_token.json): the token JSON comes labelled text/html.
        moodle = self.platform.product_family == vocab.PRODUCT_MOODLE
        return _json(answer, content_type=HTML if moodle else None)

    def openid_configuration(self, request: Request) -> Response:
        _allow(request, "GET")
        return _json(self.platform.openid_configuration())

    def register(self, request: Request) -> Response:
        _allow(request, "POST")
        if media_type(request.content_type) != "application/json":
            raise PlatformError("invalid_client_metadata", "registration requests are application/json")
        registration = self.platform.register(_json_body(request), request.headers.get("Authorization", ""))
        return _json(dict(registration.response))

    # ---------------------------------------------------------------------------------------------- NRPS

    def nrps(self, request: Request, context_id: str) -> Response:
        _allow(request, "GET")
        token = self._bearer(request, vocab.SCOPE_NRPS)
        course = self._course(context_id)
        config = self._config(token, request)
        since = _int_arg(request, "since")
        members, latest = self.platform.roster(course, role=request.args.get("role"), since=since)
        messages = None
        if request.args.get("rlid"):
            try:
                messages = self.platform.resource_link_messages(course, request.args["rlid"], members, config)
            except LookupError as exc:
                raise HttpError(404, f"Not Found: {exc}") from exc
        limit = _int_arg(request, "limit") or self.platform.nrps_page_size
        page, following = paginate(members, limit, _int_arg(request, "from") or 0)
        url = config.memberships_url.format(context_id=quote(course.id, safe=""))
        # NRPS 2.0 §2.4.1-2.4.2: next page while there is one; the last page says where changes will be.
        links = self._page_links(request, limit, following) or {"differences": with_query(url, since=latest)}
        document = membership_container(
            url,
            course,
            page,
            self.platform.product_family,
            short_roles=self.platform.nrps_short_roles,
            messages=messages,
        )
        response = _json(document, content_type=vocab.MEDIA_MEMBERSHIP_CONTAINER + "; charset=utf-8")
        response.headers["Link"] = link_header(links)
        return response

    # ----------------------------------------------------------------------------------------------- AGS

    def lineitems(self, request: Request, context_id: str) -> Response:
        _allow(request, "GET", "POST")
        self._type_id(request)
        course = self._course(context_id)
        platform = self.platform
        if request.method == "POST":
            token = self._bearer(request, vocab.SCOPE_LINEITEM)
            self._media_type(request, vocab.MEDIA_LINEITEM)
            item = platform.create_line_item(course, _json_body(request))
            url = platform.lineitem_url(item, self._config(token, request))
            return _json(
                lineitem_json(item, url, platform.product_family),
                status=201,
                content_type=vocab.MEDIA_LINEITEM + "; charset=utf-8",
            )
        token = self._bearer(request, vocab.SCOPE_LINEITEM, vocab.SCOPE_LINEITEM_READONLY)
        config = self._config(token, request)
        filters = {
            name: request.args[name]
            for name in ("resource_link_id", "resource_id", "tag")
            if name in request.args
        }
        limit = _int_arg(request, "limit")
        page, following = paginate(
            platform.line_items_of(course, **filters), limit, _int_arg(request, "from") or 0
        )
        # Moodle answers a bare JSON array (svc_04_ags_lineitems.json).
        response = _json(
            [lineitem_json(i, platform.lineitem_url(i, config), platform.product_family) for i in page],
            content_type=vocab.MEDIA_LINEITEM_CONTAINER + "; charset=utf-8",
        )
        if following is not None:
            response.headers["Link"] = link_header(self._page_links(request, limit, following))
        return response

    def lineitem(self, request: Request, context_id: str, item_id: str) -> Response:
        _allow(request, "GET", "PUT", "DELETE")
        self._type_id(request)
        item = self._line_item(context_id, item_id)
        readonly = (vocab.SCOPE_LINEITEM_READONLY,) if request.method == "GET" else ()
        token = self._bearer(request, vocab.SCOPE_LINEITEM, *readonly)
        if request.method == "DELETE":
            self.platform.delete_line_item(item)
            return Response(status=204)
        if request.method == "PUT":
            self._media_type(request, vocab.MEDIA_LINEITEM)
            self.platform.update_line_item(item, _json_body(request))
        url = self.platform.lineitem_url(item, self._config(token, request))
        return _json(
            lineitem_json(item, url, self.platform.product_family),
            content_type=vocab.MEDIA_LINEITEM + "; charset=utf-8",
        )

    def scores(self, request: Request, context_id: str, item_id: str) -> Response:
        _allow(request, "POST")
        self._type_id(request)
        token = self._bearer(request, vocab.SCOPE_SCORE)
        self._media_type(request, vocab.MEDIA_SCORE)
        item = self._line_item(context_id, item_id)
        try:
            payload: Any = json.loads(request.get_data(as_text=True))
        except ValueError:
            payload = request.get_data(as_text=True)
        refusal = self.platform.accept_score(item, payload, client_id=token.client_id)
        if refusal is not None:
            raise HttpError(*refusal)
        # Moodle answers 200 with an empty body labelled as a score (svc_06_ags_post_score.json).
        return Response(b"", status=200, content_type=vocab.MEDIA_SCORE + "; charset=utf-8")

    def results(self, request: Request, context_id: str, item_id: str) -> Response:
        _allow(request, "GET")
        self._type_id(request)
        token = self._bearer(request, vocab.SCOPE_RESULT_READONLY)
        item = self._line_item(context_id, item_id)
        standing = self.platform.results(item, user_id=request.args.get("user_id"))
        limit = _int_arg(request, "limit")
        page, following = paginate(standing, limit, _int_arg(request, "from") or 0)
        url = self.platform.lineitem_url(item, self._config(token, request))
        response = _json(
            [result_json(item, url, s.score) for s in page],
            content_type=vocab.MEDIA_RESULT_CONTAINER + "; charset=utf-8",
        )
        if following is not None:
            response.headers["Link"] = link_header(self._page_links(request, limit, following))
        return response

    # -------------------------------------------------------------------------------------- deep linking

    def deep_linking_return(self, request: Request) -> Response:
        _allow(request, "POST")
        result = self.platform.receive_deep_linking_response(
            request.form.get("JWT", ""), request.args.get("launch", "")
        )
        titles = ", ".join(link.title for link in result.created_links) or "nothing"
        return Response(f"<!DOCTYPE html><p>Added: {titles}</p>", content_type=HTML)


def _drop(environ: Mapping[str, Any]) -> None:
    """Close the client's connection under the server's feet: it sees a reset, not an answer."""
    connection = environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


def _allow(request: Request, *methods: str) -> None:
    if request.method not in methods:
        raise HttpError(405, f"Method {request.method} not allowed", headers={"Allow": ", ".join(methods)})


def _json(data: Any, *, status: int = 200, content_type: str | None = None) -> Response:
    return Response(json.dumps(data), status=status, content_type=content_type or "application/json")


def _json_body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(as_text=True))
    except ValueError as exc:
        raise PlatformError("invalid_request", f"the body is not JSON: {exc}") from exc


def _int_arg(request: Request, name: str) -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise HttpError(400, f"{name} must be an integer") from None
