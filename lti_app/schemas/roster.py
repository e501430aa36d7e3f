"""Shapes of the roster sync status (API and the page's polling script) and of the admin's Moodle web
service form."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load, validate

from lti_app.models.roster import SYNC_STATUSES


class RosterSyncOut(Schema):
    id = fields.Integer()
    course_id = fields.Integer()
    status = fields.String(metadata={"enum": list(SYNC_STATUSES)})
    trigger = fields.String()
    total = fields.Integer(allow_none=True, metadata={"description": "Expected members: an estimate (the "
                           "course's enrolments) until the sync is done, then the number read."})
    processed = fields.Integer(metadata={"description": "Members read from the LMS so far."})
    added = fields.Integer()
    updated = fields.Integer()
    deactivated = fields.Integer()
    unchanged = fields.Integer()
    skipped = fields.Integer()
    enriched = fields.Integer(metadata={"description": "Profiles completed from Moodle web services."})
    progress = fields.Method("_progress", metadata={"description": "0 to 1, for a progress bar."})
    error = fields.String(allow_none=True)
    notice = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)

    def _progress(self, job: Any) -> float:
        if job.status in ("done", "failed"):
            return 1.0
        if not job.processed:
            return 0.0
        expected = max(job.total or 0, job.processed)
        # Never claim to be finished before the last page: the estimate may be short.
        return round(min(0.99, job.processed / expected), 3)


class MoodleWsForm(Schema):
    """The admin form: site URL, token (blank keeps the stored one) and mapping rows."""

    class Meta:
        unknown = EXCLUDE

    action = fields.String(load_default="save", validate=validate.OneOf(("save", "check", "clear")))
    url = fields.String(load_default="", validate=validate.Length(max=1000))
    token = fields.String(load_default="", validate=validate.Length(max=200))
    moodle_field = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list)
    profile_field = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list)

    @post_load
    def _mapping(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Rows as ``moodle_field=profile_field`` (the CLI's spelling); rows left blank are dropped."""
        rows = zip(data.pop("moodle_field"), data.pop("profile_field"), strict=False)
        data["mapping"] = [f"{moodle}={target}" for moodle, target in rows if (moodle + target).strip()]
        return data
