"""The one place exceptions become responses: an HTML page inside the LMS frame, or JSON on ``/api``
(``{"error": code, "message": ..., "details": ...}``). Unexpected errors are logged with the request id and
answered without internals."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from lti_app.errors import TandemError
from lti_app.extensions import db
from lti_app.web.observability import current_request_id

log = logging.getLogger("tandem.errors")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz" or (
        request.accept_mimetypes.best == "application/json"
    )


def error_response(status: int, code: str, message: str, details: Any = None) -> tuple[Response | str, int]:
    if wants_json():
        body: dict[str, Any] = {"error": code, "message": message, "request_id": current_request_id()}
        if details is not None:
            body["details"] = details
        return jsonify(body), status
    return (
        render_template(
            "error.html", status=status, code=code, message=message, details=details,
            request_id=current_request_id(),
        ),
        status,
    )


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(TandemError)
    def _tandem(exc: TandemError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        log.info("refused %s %s: %s (%s)", request.method, request.path, exc.code, exc.status)
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):  # type: ignore[no-untyped-def]
        db.session.rollback()
        return error_response(
            400, "csrf_failed",
            "This form has expired or was not sent from Tandem. Reload the page and try again.",
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        db.session.rollback()
        status = exc.code or 500
        messages = {
            404: "There is nothing at this address.",
            405: "This address does not accept that method.",
            413: "The request is too large.",
        }
        data = getattr(exc, "data", None) or {}
        if status == 422 and ("messages" in data or "errors" in data):
            # Validation errors from a marshmallow schema (webargs/flask-smorest): name every bad field.
            return error_response(
                422, "validation_failed", "Some fields are missing or invalid.",
                data.get("errors") or data.get("messages"),
            )
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(status, code, data.get("message") or messages.get(status, exc.description or exc.name))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        db.session.rollback()
        log.exception("unexpected error on %s %s", request.method, request.path)
        if current_app.config.get("TANDEM_RERAISE"):
            raise exc
        return error_response(
            500, "internal_error",
            f"Something went wrong on our side. If it keeps happening, quote request id {current_request_id()}.",
        )
