"""Request and response shapes of the mentoring API (and of the page forms, which load the same schemas).

Field-level checks live here; rules that need the database or several fields at once live in the services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from lti_app.models.person import TANDEM_ROLES
from lti_app.models.programme import (
    DIARY_WRITERS,
    MATCHING_MODES,
    MODELS,
    PROGRAMME_STATUSES,
    RELATIONSHIP_TYPES,
    REQUEST_POLICIES,
)
from lti_app.models.relationship import RELATIONSHIP_STATUSES
from lti_app.schemas.fields import Id
from lti_app.services.notifications import render
from lti_app.services.overview import FILTER_STATUSES


class Tags(fields.Field):
    """A list of tags, sent as a JSON list or as one comma-separated string (as forms and LTI custom
    parameters send them). Normalised by the service."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise ValidationError("A list of words, or one comma-separated string.")

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return list(value or [])


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


# ----------------------------------------------------------------------------------------------- programmes


class ProgrammeIn(_In):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(max=10000))
    relationship_type = fields.String(validate=validate.OneOf(RELATIONSHIP_TYPES))
    custom_type_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    model = fields.String(validate=validate.OneOf(MODELS))
    status = fields.String(validate=validate.OneOf(PROGRAMME_STATUSES))
    request_policy = fields.String(validate=validate.OneOf(REQUEST_POLICIES))
    mentor_roles = fields.List(
        fields.String(validate=validate.OneOf(TANDEM_ROLES)), validate=validate.Length(min=1)
    )
    mentor_requires_opt_in = fields.Boolean()
    default_capacity = fields.Integer(validate=validate.Range(0, 100))
    requires_trainer_approval = fields.Boolean()
    request_expiry_days = fields.Integer(validate=validate.Range(1, 365))
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    meeting_cadence_days = fields.Integer(allow_none=True, validate=validate.Range(1, 365))
    flash_duration_days = fields.Integer(validate=validate.Range(1, 365))
    diary_writers = fields.String(validate=validate.OneOf(DIARY_WRITERS))
    diary_readable_by_trainers = fields.Boolean()
    diary_readable_by_admins = fields.Boolean()
    matching_mode = fields.String(validate=validate.OneOf(MATCHING_MODES))
    confirm_exposure = fields.Boolean(
        load_default=False,
        metadata={"description": "Confirm a change that lets more people read existing diary entries."},
    )


class ProgrammePatch(ProgrammeIn):
    """Any subset of the programme's fields (load it with ``partial=True``)."""


class ProgrammeOut(Schema):
    id = fields.Integer()
    course_id = fields.Integer()
    placement_id = fields.Integer(allow_none=True)
    title = fields.String()
    description = fields.String()
    relationship_type = fields.String()
    custom_type_name = fields.String(allow_none=True)
    type_label = fields.String()
    model = fields.String()
    status = fields.String()
    request_policy = fields.String()
    mentor_roles = fields.List(fields.String())
    mentor_requires_opt_in = fields.Boolean()
    default_capacity = fields.Integer()
    requires_trainer_approval = fields.Boolean()
    request_expiry_days = fields.Integer()
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    meeting_cadence_days = fields.Integer(allow_none=True)
    flash_duration_days = fields.Integer()
    diary_writers = fields.String()
    diary_readable_by_trainers = fields.Boolean()
    diary_readable_by_admins = fields.Boolean()
    matching_mode = fields.String()
    completion_rule = fields.Dict(allow_none=True, dump_only=True)


class MembershipIn(_In):
    open_to_mentor = fields.Boolean()
    open_to_be_mentored = fields.Boolean()
    capacity = fields.Integer(allow_none=True, validate=validate.Range(0, 100))


class MembershipOut(Schema):
    programme_id = fields.Integer()
    person_id = fields.Integer()
    open_to_mentor = fields.Boolean()
    open_to_be_mentored = fields.Boolean()
    capacity_override = fields.Integer(allow_none=True)
    trainer_capacity = fields.Integer(allow_none=True)
    capacity = fields.Integer()


# ------------------------------------------------------------------------------------------------- profiles


class ProfileIn(_In):
    headline = fields.String(validate=validate.Length(max=200))
    bio = fields.String(validate=validate.Length(max=5000))
    goals = fields.String(validate=validate.Length(max=2000))
    location = fields.String(validate=validate.Length(max=200))
    department = fields.String(validate=validate.Length(max=200))
    time_zone = fields.String(validate=validate.Length(max=64))
    availability = fields.String(validate=validate.Length(max=500))
    skills = Tags(metadata={"description": "Skills you offer."})
    skills_wanted = Tags(metadata={"description": "Skills you want to grow."})
    interests = Tags()
    languages = Tags()
    capacity = fields.Integer(allow_none=True, validate=validate.Range(0, 100))


class ProfileOut(Schema):
    """A public profile: what people in the same course may see (no email)."""

    person_id = fields.Integer(attribute="person.id")
    name = fields.String(attribute="person.display_name")
    picture = fields.String(attribute="person.picture", allow_none=True)
    headline = fields.Function(lambda v: v.profile.headline if v.profile else "")
    bio = fields.Function(lambda v: v.profile.bio if v.profile else "")
    goals = fields.Function(lambda v: v.profile.goals if v.profile else "")
    skills = fields.Function(lambda v: list(v.profile.skills) if v.profile else [])
    skills_wanted = fields.Function(lambda v: list(v.profile.skills_wanted) if v.profile else [])
    interests = fields.Function(lambda v: list(v.profile.interests) if v.profile else [])
    languages = fields.Function(lambda v: list(v.profile.languages) if v.profile else [])
    location = fields.Function(lambda v: v.profile.location if v.profile else "")
    department = fields.Function(lambda v: v.profile.department if v.profile else "")
    time_zone = fields.Function(lambda v: v.profile.time_zone if v.profile else "")
    availability = fields.Function(lambda v: v.profile.availability if v.profile else "")


class OwnProfileOut(ProfileOut):
    email = fields.String(attribute="person.email", allow_none=True)
    email_notifications = fields.Boolean(attribute="person.email_notifications")
    capacity = fields.Function(lambda v: v.profile.capacity if v.profile else None)


# ------------------------------------------------------------------------------------------------- search


class MentorSearchArgs(_In):
    q = fields.String(
        load_default="", validate=validate.Length(max=200), metadata={"description": "Free text."}
    )
    skill = fields.String(load_default="", validate=validate.Length(max=60))
    interest = fields.String(load_default="", validate=validate.Length(max=60))
    language = fields.String(load_default="", validate=validate.Length(max=60))
    location = fields.String(load_default="", validate=validate.Length(max=200))
    department = fields.String(load_default="", validate=validate.Length(max=200))
    availability = fields.String(load_default="", validate=validate.Length(max=200))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 100000))


class MentorMatchOut(Schema):
    person_id = fields.Integer(attribute="person.id")
    name = fields.String(attribute="person.display_name")
    picture = fields.String(attribute="person.picture", allow_none=True)
    headline = fields.Function(lambda m: m.profile.headline if m.profile else "")
    skills = fields.Function(lambda m: list(m.profile.skills) if m.profile else [])
    languages = fields.Function(lambda m: list(m.profile.languages) if m.profile else [])
    location = fields.Function(lambda m: m.profile.location if m.profile else "")
    department = fields.Function(lambda m: m.profile.department if m.profile else "")
    availability = fields.Function(lambda m: m.profile.availability if m.profile else "")
    capacity = fields.Integer()
    load = fields.Integer()
    free_places = fields.Integer()
    score = fields.Float()
    reasons = fields.List(fields.String())
    lms_mentor = fields.Boolean()
    open_relationship_id = fields.Integer(allow_none=True)


class MentorSearchOut(Schema):
    programme_id = fields.Integer(attribute="programme.id")
    total = fields.Integer()
    results = fields.List(fields.Nested(MentorMatchOut))


# ---------------------------------------------------------------------------------- requests, relationships


class RequestIn(_In):
    programme_id = Id(required=True)
    person_id = Id(required=True, metadata={"description": "Whom you ask (or offer to mentor)."})
    as_role = fields.String(
        load_default="mentee",
        validate=validate.OneOf(("mentee", "mentor")),
        metadata={"description": "mentee: ask them to mentor you; mentor: offer to mentor them."},
    )
    message = fields.String(load_default="", validate=validate.Length(max=2000))


class ReasonIn(_In):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class ReassignIn(_In):
    remove_person_id = Id(required=True)
    add_person_id = Id(required=True)


class TrainerRelationshipIn(_In):
    programme_id = Id(required=True)
    mentor_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=50))
    mentee_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=200))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class RequestListArgs(_In):
    direction = fields.String(load_default="all", validate=validate.OneOf(("inbound", "outbound", "all")))
    course_id = Id(load_default=None, allow_none=True)


class RelationshipListArgs(_In):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(RELATIONSHIP_STATUSES))
    course_id = Id(load_default=None, allow_none=True)


class MemberOut(Schema):
    person_id = fields.Integer()
    name = fields.Function(lambda m: m.person.display_name)
    role = fields.String()
    joined_at = fields.DateTime()


class RelationshipOut(Schema):
    id = fields.Integer()
    programme_id = fields.Integer()
    programme_title = fields.String(attribute="programme.title")
    status = fields.String()
    source = fields.String()
    requested_by_id = fields.Integer(allow_none=True)
    request_message = fields.String()
    needs_trainer_approval = fields.Boolean()
    trainer_approved_at = fields.DateTime(allow_none=True)
    requested_at = fields.DateTime()
    expires_at = fields.DateTime(allow_none=True)
    responded_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    scheduled_end_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    close_reason = fields.String()
    members = fields.List(fields.Nested(MemberOut))


class TimelineOut(Schema):
    at = fields.DateTime(attribute="event.at")
    actor_id = fields.Integer(attribute="event.actor_id", allow_none=True)
    actor_name = fields.String()
    from_status = fields.String(attribute="event.from_status", allow_none=True)
    to_status = fields.String(attribute="event.to_status")
    note = fields.String(attribute="event.note")


class RelationshipDetailOut(Schema):
    relationship = fields.Nested(RelationshipOut)
    viewer_role = fields.String(allow_none=True)
    actions = fields.Function(lambda d: sorted(d.actions))
    timeline = fields.List(fields.Nested(TimelineOut))


class RequestListOut(Schema):
    inbound = fields.List(fields.Nested(RelationshipOut))
    outbound = fields.List(fields.Nested(RelationshipOut))


# -------------------------------------------------------------------------------------------- notifications


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    text = fields.Function(render)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    relationship_id = fields.Function(lambda n: (n.link_values or {}).get("relationship_id"))


class NotificationListOut(Schema):
    unread = fields.Integer()
    items = fields.List(fields.Nested(NotificationOut))


class MarkReadIn(_In):
    ids = fields.List(
        Id(),
        load_default=None,
        allow_none=True,
        metadata={"description": "Which to mark read; omit for all."},
    )


class EmailPreferenceIn(_In):
    email_notifications = fields.Boolean(required=True)


# ------------------------------------------------------------------------------------------------- overview


class OverviewArgs(_In):
    status = fields.String(load_default="", validate=validate.OneOf(("", *FILTER_STATUSES)))
    q = fields.String(load_default="", validate=validate.Length(max=200))
    stale_days = fields.Integer(load_default=7, validate=validate.Range(0, 365))


class OverviewParticipantOut(Schema):
    person_id = fields.Integer(attribute="person.id")
    name = fields.String(attribute="person.display_name")
    roles = fields.List(fields.String())
    is_mentor = fields.Boolean()
    seeks_mentor = fields.Boolean()
    capacity = fields.Integer()
    load = fields.Integer()
    mentors = fields.List(fields.String())


class OverviewPairOut(Schema):
    relationship_id = fields.Integer(attribute="relationship.id")
    status = fields.String(attribute="relationship.status")
    mentors = fields.List(fields.String())
    mentees = fields.List(fields.String())


class OverviewPendingOut(Schema):
    relationship_id = fields.Integer(attribute="relationship.id")
    asker = fields.String()
    receivers = fields.List(fields.String())
    age_days = fields.Integer()
    awaiting_approval = fields.Boolean()


class OverviewOut(Schema):
    programme_id = fields.Integer(attribute="programme.id")
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    participants = fields.List(fields.Nested(OverviewParticipantOut))
    mentors = fields.List(fields.Nested(OverviewParticipantOut))
    unmatched = fields.List(fields.Nested(OverviewParticipantOut))
    pairs = fields.List(fields.Nested(OverviewPairOut))
    stale_requests = fields.List(fields.Nested(OverviewPendingOut))


# ------------------------------------------------------------------------------------------------ HTML forms


def form_values(
    form: Any, *, lists: Iterable[str] = (), booleans: Iterable[str] = (), nullable: Iterable[str] = ()
) -> dict[str, Any]:
    """A posted form as the API would send it: checkboxes present → True, absent → False; blank optional
    fields → None; multi-value fields as lists. The CSRF and launch tokens are left out."""
    lists, booleans, nullable = set(lists), set(booleans), set(nullable)
    data: dict[str, Any] = {}
    for key in form:
        if key in ("csrf_token", "lt") or key in booleans:
            continue
        if key in lists:
            data[key] = [v for v in form.getlist(key) if v != ""]
            continue
        value = form.get(key, "").strip()
        data[key] = None if value == "" and key in nullable else value
    for key in booleans:
        data[key] = key in form and form.get(key) not in ("", "0", "false", "off")
    return data
