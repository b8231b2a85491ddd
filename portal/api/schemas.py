"""Marshmallow schemas of API v1: they validate what comes in and describe what goes out, and the
OpenAPI document is generated from them (portal.api's docstring says why marshmallow)."""
from __future__ import annotations

from marshmallow import INCLUDE, RAISE, Schema, fields, validate

from portal.core.events import EVENTS

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
# 2**53 - 1: the largest integer every JSON client reads exactly (ids and sequences fit).
MAX_INT = 2**53 - 1


class Strict(Schema):
    class Meta:
        unknown = RAISE  # an unknown field is a 422 naming it, not silently ignored


# --- errors ---------------------------------------------------------------------------------
class ProblemSchema(Schema):
    """RFC 9457 problem details; the portal adds `code` and, per problem, extension members."""

    class Meta:
        title = "Problem"
        unknown = INCLUDE  # problems carry extension members of their own (RFC 9457 §3.2)

    type = fields.String(required=True, metadata={"description": "urn:webinar-portal:problem:<code>"})
    title = fields.String(required=True, metadata={"description": "The HTTP status phrase."})
    status = fields.Integer(required=True)
    detail = fields.String(required=True, metadata={"description": "What went wrong, for a person (translated)."})
    code = fields.String(required=True, metadata={"description": "Stable machine-readable error code."})
    errors = fields.Dict(metadata={"description": "422: the invalid fields and why, by location."})
    retry_after = fields.Integer(metadata={"description": "429, 503: seconds to wait (also Retry-After)."})
    scope = fields.String(metadata={"description": "403 insufficient_scope: the scope the call needs."})


# --- queries ------------------------------------------------------------------------------------
class PageQuery(Strict):
    cursor = fields.String(load_default=None, validate=validate.Length(max=500),
                           metadata={"description": "Opaque `next_cursor` of the previous page."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


class FeedQuery(Strict):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_INT),
                           metadata={"description": "Answer events with a larger `sequence` (0: from the start)."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    webinar_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_INT),
                                metadata={"description": "Only this webinar's events."})


# --- bodies -------------------------------------------------------------------------------------
class StatusBody(Strict):
    action = fields.String(required=True, validate=validate.OneOf(["start", "stop"]))


class CtaBody(Strict):
    visibility = fields.String(required=True, validate=validate.OneOf(["visible", "hidden"]))


class WebhookBody(Strict):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    description = fields.String(load_default="", validate=validate.Length(max=500))
    events = fields.List(fields.String(validate=validate.OneOf(sorted(EVENTS))), load_default=None,
                         validate=validate.Length(max=len(EVENTS)),
                         metadata={"description": "Event names; omitted or empty: all events."})
    webinar_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_INT),
                                metadata={"description": "Only this webinar's events (one you own)."})


# --- answers --------------------------------------------------------------------------------
def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A list page: `data` (items of `item`) and the signed cursor of the next page (or null)."""
    return Schema.from_dict({"data": fields.List(fields.Nested(item), required=True),
                             "next_cursor": fields.String(required=True, allow_none=True)}, name=name)


class WebinarSchema(Schema):
    class Meta:
        title = "Webinar"

    id = fields.Integer(required=True, attribute="webinar_id")
    title = fields.String(required=True)
    slug = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(["live", "auto"]))
    status = fields.String(required=True)
    cta_visibility = fields.String(required=True, validate=validate.OneOf(["visible", "hidden"]))
    cta_text = fields.String(required=True)
    cta_url = fields.String(required=True)
    scheduled_at = fields.DateTime(required=True, allow_none=True)
    timezone = fields.String(required=True)
    duration_minutes = fields.Integer(required=True)
    stream_type = fields.String(required=True)
    started_at = fields.DateTime(required=True, allow_none=True)
    finished_at = fields.DateTime(required=True, allow_none=True)
    owner_user_id = fields.Integer(required=True)


WebinarPage = page_of(WebinarSchema, "WebinarPage")


class ChangeSchema(Schema):
    """What a status or CTA call did: `changed` false for an idempotent repeat."""

    class Meta:
        title = "Change"

    changed = fields.Boolean(required=True)
    before = fields.String(required=True)
    after = fields.String(required=True)
    webinar = fields.Nested(WebinarSchema, required=True)


class RegistrationSchema(Schema):
    class Meta:
        title = "Registration"

    id = fields.Integer(required=True, attribute="registration_id")
    webinar_id = fields.Integer(required=True)
    lead_id = fields.Integer(required=True)
    email = fields.String(required=True, attribute="lead.email")
    name = fields.String(required=True, attribute="lead.display_name")
    slot_id = fields.Integer(required=True, allow_none=True)
    starts_at = fields.DateTime(required=True, allow_none=True)
    registered_at = fields.DateTime(required=True)
    source = fields.String(required=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)
    # issue 12: confirmed | pending (awaiting approval) | declined | waitlisted; a seat the
    # registrant cancelled; the registration questions' answers keyed by question id.
    state = fields.String(required=True)
    cancelled_at = fields.DateTime(required=True, allow_none=True)
    answers = fields.Dict(keys=fields.String(), values=fields.String(), required=True, allow_none=True)


RegistrationPage = page_of(RegistrationSchema, "RegistrationPage")


class AttendanceSchema(Schema):
    class Meta:
        title = "Attendance"

    id = fields.Integer(required=True, attribute="attendance_id")
    webinar_id = fields.Integer(required=True)
    lead_id = fields.Integer(required=True)
    session_id = fields.String(required=True)
    entered_at = fields.DateTime(required=True)
    left_at = fields.DateTime(required=True, allow_none=True)
    completed_at = fields.DateTime(required=True, allow_none=True)
    leave_reason = fields.String(required=True, allow_none=True)


AttendancePage = page_of(AttendanceSchema, "AttendancePage")


class EventSchema(Schema):
    """The SPEC §6 envelope, as webhooks deliver it."""

    class Meta:
        title = "Event"

    event = fields.String(required=True, validate=validate.OneOf(sorted(EVENTS)))
    event_id = fields.UUID(required=True)
    sequence = fields.Integer(required=True, metadata={"description": "Position in commit order."})
    occurred_at = fields.String(required=True, metadata={"description": "UTC, ISO-8601 with Z."})
    webinar_id = fields.Integer(required=True)
    lead_id = fields.Integer()
    session_id = fields.String()
    data = fields.Dict(required=True)


class FeedPage(Schema):
    data = fields.List(fields.Nested(EventSchema), required=True)
    next_after = fields.Integer(required=True, metadata={"description": "`after` for the next call."})
    has_more = fields.Boolean(required=True)


class WebhookSchema(Schema):
    class Meta:
        title = "WebhookEndpoint"

    id = fields.Integer(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    events = fields.List(fields.String(), required=True, metadata={"description": "Empty: all events."})
    webinar_id = fields.Integer(required=True, allow_none=True)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(allow_none=True)
    created_at = fields.String(required=True)


class WebhookList(Schema):
    data = fields.List(fields.Nested(WebhookSchema), required=True)


class WebhookCreated(WebhookSchema):
    class Meta:
        title = "WebhookEndpointCreated"

    secret = fields.String(required=True, metadata={"description": "whsec_…: shown once, sign-checks deliveries."})

