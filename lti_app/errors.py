"""The one exception hierarchy. Services raise these; ``lti_app.views.errors`` turns them into an HTML page
inside the LMS frame or a JSON body on ``/api`` (``{"error": code, "message": ..., "details": ...}``).

No Flask here: the domain raises them without knowing about HTTP.
"""

from __future__ import annotations

from typing import Any


class TandemError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class ValidationFailed(TandemError):
    status = 422
    code = "validation_failed"


class NotAuthenticated(TandemError):
    status = 401
    code = "not_authenticated"


class PermissionDenied(TandemError):
    status = 403
    code = "forbidden"


class NotFound(TandemError):
    status = 404
    code = "not_found"


class Conflict(TandemError):
    status = 409
    code = "conflict"


class RuleViolation(Conflict):
    """The request is well formed but the programme's rules forbid it (capacity, policy, timeline)."""

    code = "rule_violation"


class StaleVersion(Conflict):
    """Optimistic locking: someone saved a newer version first."""

    code = "stale_version"


class LaunchError(TandemError):
    """An LTI message that cannot be accepted. Always a 4xx: the platform or the browser sent it."""

    status = 400
    code = "invalid_launch"


class UnknownPlatform(LaunchError):
    status = 404
    code = "unknown_platform"


class RequestTooLarge(TandemError):
    status = 413
    code = "too_large"
