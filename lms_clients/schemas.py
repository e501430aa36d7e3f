"""Shared marshmallow pieces for validating LMS answers.

Every answer is validated before the rest of Tandem sees it: unknown fields are dropped (platforms add
extensions freely, e.g. Moodle's ``ext_user_username``), but a missing or mistyped required field is an
:class:`~lms_clients.errors.LMSRequestError` naming the field, not a ``KeyError`` three layers up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from .errors import LMSRequestError


class BaseSchema(Schema):
    class Meta:
        unknown = EXCLUDE


class Identifier(fields.Field):
    """An identifier the spec defines as a string that some platforms send as a JSON number."""

    default_error_messages = {"invalid": "Not a valid identifier."}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.make_error("invalid")
        return str(value)


class OptionalText(fields.String):
    """A string where the empty string means "not given" (Moodle sends ``""`` for unset values such as
    ``lis_person_sourcedid``, ``resourceId`` and ``tag``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", None)
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        result = super()._deserialize(value, attr, data, **kwargs)
        return result or None


def describe_errors(exc: ValidationError) -> str:
    """Flatten marshmallow's nested messages into ``field: message; other.field: message``."""

    def walk(prefix: str, node: Any) -> list[str]:
        if isinstance(node, dict):
            out: list[str] = []
            for key, value in node.items():
                # "_schema" holds errors about the whole object: report them at the parent's name.
                name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
                out.extend(walk(name, value))
            return out
        text = " ".join(map(str, node)) if isinstance(node, list) else str(node)
        return [f"{prefix}: {text}" if prefix else text]

    return "; ".join(walk("", exc.normalized_messages())[:10])


def load(schema: Schema, payload: Any, response: requests.Response, what: str) -> Any:
    """Validate one JSON object from ``response`` with ``schema``, or raise LMSRequestError saying why."""
    if not isinstance(payload, dict):
        raise response_error(response, f"The LMS sent {what} that is not a JSON object")
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise response_error(response, f"The LMS sent an invalid {what}: {describe_errors(exc)}") from None


def response_error(response: requests.Response, message: str, **extra: Any) -> LMSRequestError:
    """An :class:`LMSRequestError` about a received answer, carrying its request, status and body."""
    request = response.request
    return LMSRequestError(
        message,
        method=request.method if request is not None else None,
        url=response.url,
        status=response.status_code,
        body=response.content,
        **extra,
    )
