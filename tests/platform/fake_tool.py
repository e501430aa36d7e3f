"""A minimal, careful LTI 1.3 tool, for testing the platform (and anything else) without the real tool.

Written from the specs with Flask, requests and PyJWT only: OIDC login with a state cookie and a
server-side nonce, launch validation against the platform's JWKS fetched over HTTP (refetched once on an
unknown kid), a JWKS endpoint and a Dynamic Registration endpoint. It refuses everything a tool must refuse,
which is how the bad-launch catalogue is checked. ``LiveServer`` serves any WSGI app on loopback.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from flask import Flask, Response, jsonify, request
from pylti1p3.cookies_allowed_check import CookiesAllowedCheckPage
from werkzeug.serving import make_server

from lti_app.demo_lms import vocab
from lti_app.demo_lms.platform import PlatformKey

from .server import TestPlatform
from .tool_side import tool_registration_request

LOGIN_MODES = ("redirect", "js", "meta", "form", "cookie_check")


class LaunchRefused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def make_fake_tool(
    platform: TestPlatform,
    key: PlatformKey,
    *,
    login_mode: str = "redirect",
    secure_cookie: bool = False,
    base_url: str = "http://localhost",
) -> Flask:
    """A Flask app that behaves like a careful LTI 1.3 tool registered on ``platform``."""
    app = Flask("fake_tool")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    nonces: dict[str, str] = {}
    jwks_cache: dict[str, Any] = {}
    app.extensions["fake_tool"] = {"registrations": [], "launches": []}

    def registration(issuer: str, client_id: str | None) -> dict[str, Any]:
        for config in platform.configs:
            if config.issuer == issuer and client_id in (None, config.client_id):
                return platform.registration_details(config)
        raise LaunchRefused(400, "unknown issuer or client")

    @app.route("/lti/login", methods=["GET", "POST"])
    def login() -> Any:
        params = request.values
        reg = registration(params.get("iss", ""), params.get("client_id"))
        if not params.get("login_hint"):
            raise LaunchRefused(400, "login_hint missing")
        if login_mode == "cookie_check" and not params.get("lti1p3_new_window"):
            names = (
                "iss",
                "login_hint",
                "target_link_uri",
                "lti_message_hint",
                "lti_deployment_id",
                "client_id",
            )
            page_params = {"lti1p3_new_window": "1", **{n: params[n] for n in names if params.get(n)}}
            return CookiesAllowedCheckPage(page_params, "http", "No cookies", "Open", "Loading").get_html()
        state, nonce = "state-" + secrets.token_hex(8), secrets.token_hex(16)
        nonces[state] = nonce
        auth = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
            "client_id": reg["client_id"],
            "redirect_uri": base_url + "/lti/launch",
            "state": state,
            "nonce": nonce,
            "login_hint": params["login_hint"],
        }
        if params.get("lti_message_hint"):
            auth["lti_message_hint"] = params["lti_message_hint"]
        url = reg["auth_login_url"] + "?" + urlencode(auth)
        if login_mode == "redirect":
            response = Response(status=302, headers={"Location": url})
        elif login_mode == "js":
            script_url = json.dumps(url).replace("&", "\\u0026").replace("/", "\\/")
            response = Response(f"<html><script>window.location.href = {script_url};</script></html>")
        elif login_mode == "meta":
            response = Response(
                f'<html><head><meta http-equiv="refresh" content="0; url={url.replace("&", "&amp;")}">'
            )
        else:
            escape = html.escape
            inputs = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in auth.items())
            response = Response(f'<form method="get" action="{reg["auth_login_url"]}">{inputs}</form>')
        response.set_cookie(
            "tool-state",
            state,
            max_age=300,
            secure=secure_cookie,
            httponly=True,
            samesite="None" if secure_cookie else None,
        )
        return response

    def platform_key(issuer_jwks_url: str, kid: str) -> Any:
        for attempt in range(2):
            if attempt or issuer_jwks_url not in jwks_cache:
                jwks_cache[issuer_jwks_url] = requests.get(issuer_jwks_url, timeout=5).json()
            for candidate in jwks_cache[issuer_jwks_url]["keys"]:
                if candidate.get("kid") == kid:
                    return jwt.PyJWK.from_dict(candidate, algorithm="RS256").key
        raise LaunchRefused(401, f"unknown kid {kid}")

    @app.route("/lti/launch", methods=["POST"])
    def launch() -> Any:
        state, token = request.form.get("state", ""), request.form.get("id_token", "")
        if not state or request.cookies.get("tool-state") != state:
            raise LaunchRefused(400, "state missing or not this browser's")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise LaunchRefused(400, f"malformed id_token: {exc}") from exc
        if header.get("alg") != "RS256":
            raise LaunchRefused(401, "alg must be RS256")
        aud = unverified.get("aud")
        client_id = unverified.get("azp") or (aud[0] if isinstance(aud, list) and aud else aud)
        reg = registration(str(unverified.get("iss", "")), str(client_id))
        try:
            claims = jwt.decode(
                token,
                platform_key(reg["key_set_url"], header.get("kid", "")),
                algorithms=["RS256"],
                audience=reg["client_id"],
                issuer=reg["issuer"],
                options={"require": ["iss", "aud", "exp", "iat", "nonce"]},
            )
        except jwt.InvalidTokenError as exc:
            raise LaunchRefused(401, f"id_token refused: {exc}") from exc
        if nonces.pop(state, None) != claims["nonce"]:
            raise LaunchRefused(401, "nonce unknown or already used")
        if claims.get(vocab.CLAIM_DEPLOYMENT_ID) not in reg["deployment_ids"]:
            raise LaunchRefused(403, "unknown deployment")
        if claims.get(vocab.CLAIM_VERSION) != vocab.LTI_VERSION:
            raise LaunchRefused(400, "wrong version")
        kind = claims.get(vocab.CLAIM_MESSAGE_TYPE)
        if kind not in (vocab.MSG_RESOURCE_LINK, vocab.MSG_DEEP_LINKING):
            raise LaunchRefused(400, "unsupported message type")
        if not isinstance(claims.get(vocab.CLAIM_ROLES), list):
            raise LaunchRefused(400, "roles claim missing")
        if kind == vocab.MSG_RESOURCE_LINK and not (claims.get(vocab.CLAIM_RESOURCE_LINK) or {}).get("id"):
            raise LaunchRefused(400, "resource link missing")
        app.extensions["fake_tool"]["launches"].append(claims)
        return jsonify({"ok": True, "sub": claims.get("sub"), "message_type": kind, "claims": claims})

    @app.route("/lti/jwks")
    def tool_jwks() -> Any:
        return jsonify({"keys": [key.public_jwk]})

    @app.route("/lti/register")
    def register() -> Any:
        config_url = request.args["openid_configuration"]
        token = request.args.get("registration_token", "")
        configuration = requests.get(config_url, timeout=5).json()
        answer = requests.post(
            configuration["registration_endpoint"],
            json=tool_registration_request(base_url),
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=5,
        )
        app.extensions["fake_tool"]["registrations"].append((answer.status_code, answer.json()))
        if answer.status_code != 200:
            return Response("registration refused", status=400)
        return Response(
            "<script>(window.opener || window.parent).postMessage("
            "{subject: 'org.imsglobal.lti.close'}, '*');</script>"
        )

    @app.errorhandler(LaunchRefused)
    def refused(exc: LaunchRefused) -> Any:
        return jsonify({"error": exc.reason}), exc.status

    return app


class LiveServer:
    """Serve a WSGI app on 127.0.0.1 in a daemon thread. The port is bound first, so an app that must know
    its own URL can be built afterwards: ``server = LiveServer(); server.app = make_app(server.url)``."""

    def __init__(self, app: Callable[..., Any] | None = None) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.socket.getsockname()[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app yet"]
        return self.app(environ, start_response)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
