"""What every page view does the same way: load a form with the API's schema, redirect after a post
(keeping the launch token), and show the fixed confirmation a redirect asked for.

Each feature keeps its own confirmation texts (``NOTICES``); how they are chosen and shown is here, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, redirect, request
from marshmallow import Schema, ValidationError

from lti_app.errors import ValidationFailed
from lti_app.web.templating import launch_url


def parse(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """Load form data with the API's schema; a bad field is a 422 naming it, like on the API."""
    try:
        return dict(schema.load(data))
    except ValidationError as exc:
        raise ValidationFailed("Some fields are missing or invalid.", details=exc.messages) from exc


def done(endpoint: str, notice: str, **values: Any) -> Response:
    """Post/redirect/get, keeping the launch token on the way; ``notice`` names the confirmation to show."""
    return redirect(launch_url(endpoint, done=notice, **values), code=303)  # type: ignore[return-value]


def notices(texts: Mapping[str, str]) -> list[tuple[str, str]]:
    """The confirmation a redirect asked for (``?done=key``), from the feature's fixed texts: never the
    request's own words echoed back."""
    key = request.args.get("done", "")
    return [("success", texts[key])] if key in texts else []
