"""Moodle web services (REST protocol) for what LTI does not carry: profile fields and course completion.

Moodle quirks handled here:

* parameters are PHP-style form fields: arrays as ``values[0]=…``, structures as ``options[name]=…``;
* errors come back as HTTP 200 with ``{"exception": …, "errorcode": …, "message": …}``, so a 200 is not a
  success until the body says so;
* the token authenticates as a Moodle user, so it is sent in the POST body (the REST server reads GET and
  POST parameters alike) rather than in the URL, and is masked from anything logged or raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from marshmallow import fields, post_load

from .errors import LMSRequestError, redact_secrets
from .http import LMSHttp, json_body
from .schemas import BaseSchema, OptionalText, load

REST_PATH = "/webservice/rest/server.php"
USER_FIELDS = ("id", "idnumber", "username", "email")  # core_user_get_users_by_field accepts these


def encode_params(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten ``params`` the way PHP parses form fields: ``{"values": ["a"]}`` → ``values[0]=a``,
    ``{"options": {"ids": [1]}}`` → ``options[ids][0]=1``. Booleans become ``1``/``0``; ``None`` is left
    out (Moodle then applies the parameter's default)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        pairs.extend(_encode_value(name, value))
    return pairs


def _encode_value(name: str, value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, bool):
        return [(name, "1" if value else "0")]
    if isinstance(value, Mapping):
        return encode_params(value, name)
    if isinstance(value, list | tuple):
        pairs: list[tuple[str, str]] = []
        for index, item in enumerate(value):
            pairs.extend(_encode_value(f"{name}[{index}]", item))
        return pairs
    return [(name, str(value))]


def _from_timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


@dataclass(frozen=True)
class MoodleSiteInfo:
    site_name: str
    site_url: str
    user_id: int
    username: str
    release: str | None
    version: str | None
    functions: tuple[str, ...]  # web service functions the token may call


@dataclass(frozen=True)
class MoodleCustomField:
    shortname: str
    value: str | None
    name: str | None = None
    type: str | None = None
    display_value: str | None = None


@dataclass(frozen=True)
class MoodleUser:
    id: int
    username: str | None
    firstname: str | None
    lastname: str | None
    fullname: str | None
    email: str | None
    idnumber: str | None
    department: str | None
    institution: str | None
    city: str | None
    country: str | None
    interests: tuple[str, ...]  # Moodle returns tags as one comma-separated string
    profile_image_url: str | None
    suspended: bool | None
    customfields: tuple[MoodleCustomField, ...]

    def custom_field(self, shortname: str) -> str | None:
        """Value of the custom profile field ``shortname`` (as configured by the Moodle admin)."""
        for field in self.customfields:
            if field.shortname == shortname:
                return field.value
        return None


@dataclass(frozen=True)
class CompletionCriterion:
    type: int
    title: str
    status: str
    complete: bool
    time_completed: datetime | None
    details: Mapping[str, Any]


@dataclass(frozen=True)
class CourseCompletionStatus:
    completed: bool
    aggregation: int  # 1 = all criteria required, 2 = any
    criteria: tuple[CompletionCriterion, ...]


class FunctionSchema(BaseSchema):
    name = fields.String(required=True)


class SiteInfoSchema(BaseSchema):
    sitename = fields.String(required=True)
    siteurl = fields.String(required=True)
    userid = fields.Integer(required=True)
    username = fields.String(required=True)
    release = fields.String(load_default=None)
    version = fields.String(load_default=None)
    functions = fields.List(fields.Nested(FunctionSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> MoodleSiteInfo:
        return MoodleSiteInfo(
            site_name=data["sitename"],
            site_url=data["siteurl"],
            user_id=data["userid"],
            username=data["username"],
            release=data["release"],
            version=data["version"],
            functions=tuple(f["name"] for f in data["functions"]),
        )


class CustomFieldSchema(BaseSchema):
    shortname = fields.String(required=True)
    value = fields.String(load_default=None, allow_none=True)
    name = fields.String(load_default=None, allow_none=True)
    type = fields.String(load_default=None, allow_none=True)
    displayvalue = fields.String(load_default=None, allow_none=True)


class UserSchema(BaseSchema):
    id = fields.Integer(required=True)
    username = OptionalText()
    firstname = OptionalText()
    lastname = OptionalText()
    fullname = OptionalText()
    email = OptionalText()
    idnumber = OptionalText()
    department = OptionalText()
    institution = OptionalText()
    city = OptionalText()
    country = OptionalText()
    interests = OptionalText()
    profileimageurl = OptionalText()
    suspended = fields.Boolean(load_default=None, allow_none=True)
    customfields = fields.List(fields.Nested(CustomFieldSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> MoodleUser:
        interests = data["interests"] or ""
        return MoodleUser(
            id=data["id"],
            username=data["username"],
            firstname=data["firstname"],
            lastname=data["lastname"],
            fullname=data["fullname"],
            email=data["email"],
            idnumber=data["idnumber"],
            department=data["department"],
            institution=data["institution"],
            city=data["city"],
            country=data["country"],
            interests=tuple(i.strip() for i in interests.split(",") if i.strip()),
            profile_image_url=data["profileimageurl"],
            suspended=data["suspended"],
            customfields=tuple(
                MoodleCustomField(
                    shortname=f["shortname"],
                    value=f["value"],
                    name=f["name"],
                    type=f["type"],
                    display_value=f["displayvalue"],
                )
                for f in data["customfields"]
            ),
        )


class UserListSchema(BaseSchema):
    items = fields.List(fields.Nested(UserSchema), required=True)


class CriterionSchema(BaseSchema):
    type = fields.Integer(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    complete = fields.Boolean(required=True)
    timecompleted = fields.Integer(load_default=None, allow_none=True)
    details = fields.Dict(load_default=dict)


class CompletionStatusSchema(BaseSchema):
    completed = fields.Boolean(required=True)
    aggregation = fields.Integer(required=True)
    completions = fields.List(fields.Nested(CriterionSchema), load_default=list)


class CompletionAnswerSchema(BaseSchema):
    completionstatus = fields.Nested(CompletionStatusSchema, required=True)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> CourseCompletionStatus:
        status = data["completionstatus"]
        return CourseCompletionStatus(
            completed=status["completed"],
            aggregation=status["aggregation"],
            criteria=tuple(
                CompletionCriterion(
                    type=c["type"],
                    title=c["title"],
                    status=c["status"],
                    complete=c["complete"],
                    time_completed=_from_timestamp(c["timecompleted"]),
                    details=c["details"],
                )
                for c in status["completions"]
            ),
        )


class MoodleWebServiceClient:
    """Calls Moodle's REST web service with a web service token (Site administration > Server > Web
    services > Manage tokens), for the few functions Tandem needs beyond LTI."""

    def __init__(self, site_url: str, token: str, http: LMSHttp) -> None:
        self.site_url = site_url.rstrip("/")
        self.endpoint = self.site_url + REST_PATH
        self._token = token
        self.http = http

    def __repr__(self) -> str:  # never show the token
        return f"{type(self).__name__}({self.site_url!r})"

    def call(
        self, wsfunction: str, params: Mapping[str, Any] | None = None, *, read_only: bool = False
    ) -> Any:
        """Call ``wsfunction`` and return its decoded JSON answer, or raise :class:`LMSRequestError` with
        Moodle's ``errorcode`` and message. ``read_only`` functions are retried after lost answers."""
        return self._call(wsfunction, params, read_only)[0]

    def _call(
        self, wsfunction: str, params: Mapping[str, Any] | None, read_only: bool
    ) -> tuple[Any, requests.Response]:
        form = [("wstoken", self._token), *encode_params(params or {})]
        try:
            response = self.http.request(
                "POST",
                self.endpoint,
                params={"wsfunction": wsfunction, "moodlewsrestformat": "json"},
                data=form,
                accept="application/json",
                expected=(200,),
                idempotent=read_only,
            )
        except LMSRequestError as exc:
            raise self._redacted(exc) from None
        try:
            payload = json_body(response, media_types=None, what=f"the {wsfunction} answer")
        except LMSRequestError as exc:
            raise self._redacted(exc) from None
        # Moodle quirk: failures are HTTP 200 with an exception object in place of the result.
        if isinstance(payload, dict) and "exception" in payload:
            errorcode = str(payload.get("errorcode") or payload["exception"])
            message = redact_secrets(str(payload.get("message") or "no message"), self._token)
            raise LMSRequestError(
                f"Moodle web service {wsfunction} failed: {errorcode}: {message}",
                method="POST",
                url=response.url,
                status=response.status_code,
                body=redact_secrets(response.text, self._token),
                errorcode=errorcode,
            )
        return payload, response

    def _redacted(self, exc: LMSRequestError) -> LMSRequestError:
        """The same error with the token masked out of every text it carries (belt and braces: it is sent
        in the body, which errors never include, but a misconfigured proxy could echo it back)."""
        return LMSRequestError(
            redact_secrets(exc.message, self._token),
            method=exc.method,
            url=exc.url,
            status=exc.status,
            body=redact_secrets(exc.body, self._token) if exc.body else None,
            timed_out=exc.timed_out,
            errorcode=exc.errorcode,
        )

    def _load(self, schema: BaseSchema, wsfunction: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call a read-only function and validate its answer with ``schema``. A bare JSON array answer
        is wrapped as ``{"items": [...]}`` so the schema can describe it."""
        payload, response = self._call(wsfunction, params, True)
        if isinstance(payload, list):
            payload = {"items": payload}
        try:
            return load(schema, payload, response, f"{wsfunction} answer")
        except LMSRequestError as exc:
            raise self._redacted(exc) from None

    def site_info(self) -> MoodleSiteInfo:
        """``core_webservice_get_site_info``: who the token acts as and which functions it may call."""
        result: MoodleSiteInfo = self._load(SiteInfoSchema(), "core_webservice_get_site_info")
        return result

    def users_by_field(self, field: str, values: Iterable[str | int]) -> list[MoodleUser]:
        """``core_user_get_users_by_field``: users whose ``field`` (id, idnumber, username, email) is one
        of ``values``, with department, interests and custom profile fields."""
        if field not in USER_FIELDS:
            raise ValueError(f"field must be one of {', '.join(USER_FIELDS)}")
        wanted = [str(v) for v in values]
        if not wanted:
            return []
        loaded = self._load(
            UserListSchema(), "core_user_get_users_by_field", {"field": field, "values": wanted}
        )
        users: list[MoodleUser] = loaded["items"]  # the function answers a bare JSON array of users
        return users

    def course_completion_status(self, course_id: int, user_id: int) -> CourseCompletionStatus:
        """``core_completion_get_course_completion_status`` for one user in one course. Moodle raises
        (errorcode ``nocriteriaset`` and similar) when completion tracking is not configured."""
        status: CourseCompletionStatus = self._load(
            CompletionAnswerSchema(),
            "core_completion_get_course_completion_status",
            {"courseid": course_id, "userid": user_id},
        )
        return status
