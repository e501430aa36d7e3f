"""Fields several features' schemas share."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from lti_app.domain.numbers import MAX_ID


class Id(fields.Integer):
    """A row id sent by a client: a whole number from 1 to the largest 64-bit id. Anything larger is a 422
    naming the field, rather than an OverflowError in the database driver."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(1, MAX_ID, error="Not a valid id."), **kwargs)
