"""A Moodle double for Dynamic Registration: a loopback server replaying Moodle 4.5's captured exchange
(``dynreg_capture.json``), rebased onto the server's own origin."""

from __future__ import annotations

import json
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.fixtures_moodle import load_moodle_fixture

CAPTURE_ORIGIN = "http://127.0.0.1:8080"
CONFIG_PATH = "/mod/lti/openid-configuration.php"
REGISTRATION_PATH = "/mod/lti/openid-registration.php"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
# The client id Moodle answered in the capture.
CAPTURED_CLIENT_ID = "ukpsbAvHNnt6AD0"


def rebase(value: Any, origin: str) -> Any:
    return json.loads(json.dumps(value).replace(CAPTURE_ORIGIN, origin))


def moodle_double(httpserver: HTTPServer) -> dict[str, Any]:
    """A Moodle that answers the configuration and registration as in ``dynreg_capture.json``."""
    capture = load_moodle_fixture("dynreg_capture.json")
    origin = httpserver.url_for("/").rstrip("/")
    state: dict[str, Any] = {"origin": origin, "capture": capture, "requests": []}

    def config() -> dict[str, Any]:
        """A fresh copy of the captured configuration on this server's origin, to alter at will."""
        return rebase(capture["openid_configuration"], origin)  # type: ignore[no-any-return]

    def serve_config(body: dict[str, Any] | None = None) -> None:
        httpserver.expect_request(CONFIG_PATH, method="GET").respond_with_json(
            body if body is not None else config()
        )

    def serve_registration(response: Response | None = None) -> None:
        def handler(request: Request) -> Response:
            state["requests"].append(
                {"authorization": request.headers.get("Authorization"), "body": request.get_json(force=True)}
            )
            if response is not None:
                return response
            body = json.dumps(capture["registration_response"])
            return Response(body, status=200, content_type="application/json")

        httpserver.expect_request(REGISTRATION_PATH, method="POST").respond_with_handler(handler)

    state["config"] = config
    state["serve_config"] = serve_config
    state["serve_registration"] = serve_registration
    state["config_url"] = origin + CONFIG_PATH
    state["token"] = capture["query_params_from_moodle"]["registration_token"]
    return state


def register(client, moodle: dict[str, Any], **params: str):  # type: ignore[no-untyped-def]
    """Open ``/lti/register`` as the LMS's dialog does."""
    query = {"openid_configuration": moodle["config_url"], "registration_token": moodle["token"], **params}
    return client.get("/lti/register", query_string=query)
