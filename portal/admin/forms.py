"""Organizer forms (Flask-WTF, CSRF-protected). Field names are the model field names."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal import timefmt
from portal.admin.webinars import WebinarInput
from portal.core.models import Role, StreamType, Webinar, WebinarType

_DURATION = re.compile(r"^(?:(\d{1,2}):)?(\d{1,4}):([0-5]\d)$")


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """IANA zones people pick from (no legacy aliases such as posix/* or US/*)."""
    regions = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
    names = {z for z in available_timezones() if z.split("/", 1)[0] in regions}
    return ("UTC", *sorted(names))


def options(pairs) -> list[SelectChoice]:  # noqa: ANN001 - (value, label) pairs
    """SelectField choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def parse_seconds(raw: str) -> int:
    """90, 1:30 or 1:02:03 as seconds; ValueError otherwise."""
    raw = raw.strip()
    if raw.isdigit():
        return int(raw)
    match = _DURATION.match(raw)
    if not match:
        raise ValueError(raw)
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


class SecondsField(StringField):
    """A duration typed as seconds (90) or minutes:seconds (1:30); data is int or None."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        raw = (valuelist[0] if valuelist else "") or ""
        if raw.strip():
            try:
                self.data = parse_seconds(raw)
            except ValueError:
                self.data = None
                raise ValueError(str(_l("Write seconds (90) or minutes:seconds (1:30)."))) from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return timefmt.clock(self.data)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


WEEKDAYS = options([(0, _l("Mon")), (1, _l("Tue")), (2, _l("Wed")), (3, _l("Thu")), (4, _l("Fri")),
                    (5, _l("Sat")), (6, _l("Sun"))])


class ScheduleForm(Form):
    """The evergreen schedule (auto_schedule JSON); validated by portal.autowebinar.schedule."""

    kind = SelectField(_l("Start times"), choices=options([
        ("on_demand", _l("On demand only (watch now)")),
        ("every", _l("Every N minutes")),
        ("daily", _l("Daily at fixed times")),
        ("weekly", _l("On chosen weekdays at fixed times")),
    ]), default="every")
    watch_now = BooleanField(_l("Also offer “watch now”"), default=True)
    every_minutes = StringField(_l("Every (minutes)"), default="15")
    times = StringField(_l("Times (HH:MM, comma separated)"))
    weekdays = MultiCheckboxField(_l("Weekdays"), choices=WEEKDAYS, coerce=int, validate_choice=False)
    timezone = SelectField(_l("Schedule time zone"))
    blackout_dates = StringField(_l("Blackout dates (YYYY-MM-DD, comma separated)"))
    horizon = StringField(_l("Start times offered"), default="4")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice("", str(_l("Same as the webinar"))), *zone_names()]

    def to_json(self) -> dict[str, Any]:
        """The settings the chosen kind uses, as the schedule module expects them."""
        kind = self.kind.data
        out: dict[str, Any] = {"kind": kind, "watch_now": bool(self.watch_now.data), "horizon": self.horizon.data or ""}
        if self.timezone.data:
            out["timezone"] = self.timezone.data
        if kind == "every":
            out["every_minutes"] = self.every_minutes.data or ""
        if kind in ("daily", "weekly"):
            out["times"] = self.times.data or ""
        if kind == "weekly":
            out["weekdays"] = list(self.weekdays.data or [])
        if (self.blackout_dates.data or "").strip():
            out["blackout_dates"] = self.blackout_dates.data
        return out

    def load(self, data: dict[str, Any] | None) -> None:
        data = data or {}
        self.kind.data = data.get("kind", "every")
        self.watch_now.data = bool(data.get("watch_now", data.get("kind") == "on_demand"))
        self.every_minutes.data = str(data.get("every_minutes", 15))
        self.times.data = ", ".join(data.get("times") or [])
        self.weekdays.data = list(data.get("weekdays") or [])
        self.timezone.data = data.get("timezone", "")
        self.blackout_dates.data = ", ".join(data.get("blackout_dates") or [])
        self.horizon.data = str(data.get("horizon", 4))


class WebinarForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(_l("Address (slug)"), validators=[Optional(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Length(max=20000)])
    type = SelectField(_l("Type"), choices=options([(WebinarType.live.value, _l("Live")),
                                                    (WebinarType.auto.value, _l("Auto (evergreen recording)"))]))
    scheduled_at = DateTimeLocalField(_l("Starts at"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
                                      validators=[Optional()])
    timezone = SelectField(_l("Time zone"), default="UTC")
    duration_minutes = IntegerField(_l("Duration (minutes)"), default=60,
                                    validators=[InputRequired(), NumberRange(1, 24 * 60)])
    slots = TextAreaField(_l("More start times"), validators=[Length(max=5000)])
    stream_type = SelectField(_l("Stream"), choices=options([
        (StreamType.obs.value, _l("OBS / HLS stream (internal chat)")),
        (StreamType.youtube.value, _l("YouTube embed (internal chat)")),
        (StreamType.vimeo.value, _l("Vimeo embed (internal chat)")),
        (StreamType.zoom.value, _l("Zoom (external chat)")),
        (StreamType.telegram.value, _l("Telegram (external chat)")),
    ]))
    stream_url = StringField(_l("Stream link"), validators=[Length(max=2000)])
    external_chat_ref = StringField(_l("External chat link"), validators=[Length(max=2000)])
    cta_text = StringField(_l("Call-to-action text"), validators=[Length(max=200)])
    cta_url = StringField(_l("Call-to-action link"), validators=[Length(max=2000)])
    cta_at_sec = SecondsField(_l("Show the call-to-action at"))
    chat_lobby_minutes = IntegerField(_l("Chat opens (minutes before start)"), default=15,
                                      validators=[InputRequired(), NumberRange(0, 24 * 60)])
    show_attendee_count = BooleanField(_l("Show the attendee count in the room"), default=True)
    remind_24h = BooleanField(_l("Reminder 24 hours before"), default=True)
    remind_1h = BooleanField(_l("Reminder 1 hour before"), default=True)
    remind_live = BooleanField(_l("“We are live” when the speaker starts (auto: at the chosen start)"), default=True)
    auto_schedule = FormField(ScheduleForm, label=_l("Evergreen schedule"))
    owner_user_id = SelectField(_l("Owner"), coerce=int)

    def __init__(self, *args: Any, owners: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = list(zone_names())
        if owners is None:
            del self.owner_user_id  # only admins hand webinars to someone else
        else:
            self.owner_user_id.choices = options(owners)

    def load(self, webinar: Webinar) -> None:
        """Fill a GET form from a webinar; times shown in its own time zone."""
        zone = ZoneInfo(webinar.timezone or "UTC")
        for name in ("title", "slug", "description", "type", "timezone", "duration_minutes", "stream_type",
                     "stream_url", "external_chat_ref", "cta_text", "cta_url", "cta_at_sec", "chat_lobby_minutes",
                     "show_attendee_count",
                     "remind_24h", "remind_1h", "remind_live"):
            getattr(self, name).data = getattr(webinar, name)
        if webinar.scheduled_at is not None:
            self.scheduled_at.data = webinar.scheduled_at.astimezone(zone).replace(tzinfo=None)
        self.slots.data = "\n".join(timefmt.wall_time(s.starts_at, zone) for s in webinar.slots)
        self.auto_schedule.form.load(webinar.auto_schedule)
        if self.owner_user_id is not None:
            self.owner_user_id.data = webinar.owner_user_id

    def to_input(self) -> WebinarInput:
        return WebinarInput(
            title=self.title.data or "",
            slug=self.slug.data or "",
            description=self.description.data or "",
            type=self.type.data,
            scheduled_at=self.scheduled_at.data,
            timezone=self.timezone.data,
            duration_minutes=self.duration_minutes.data,
            slots=self.slots.data or "",
            stream_type=self.stream_type.data,
            stream_url=self.stream_url.data or "",
            external_chat_ref=self.external_chat_ref.data or "",
            cta_text=self.cta_text.data or "",
            cta_url=self.cta_url.data or "",
            cta_at_sec=self.cta_at_sec.data,
            chat_lobby_minutes=self.chat_lobby_minutes.data,
            show_attendee_count=bool(self.show_attendee_count.data),
            remind_24h=bool(self.remind_24h.data),
            remind_1h=bool(self.remind_1h.data),
            remind_live=bool(self.remind_live.data),
            auto_schedule=self.auto_schedule.form.to_json() if self.type.data == WebinarType.auto.value else None,
            owner_user_id=self.owner_user_id.data if self.owner_user_id is not None else None,
        )

    def add_errors(self, errors: dict[str, list[str]]) -> None:
        """Attach a service's field messages (names like "slug" or "auto_schedule-times")."""
        for name, messages in errors.items():
            target = self._field(name)
            target.errors = [*target.errors, *messages]

    def _field(self, name: str):  # noqa: ANN202 - a WTForms field
        if name.startswith("auto_schedule-"):
            sub = name.removeprefix("auto_schedule-")
            return getattr(self.auto_schedule.form, sub, self.auto_schedule.form.kind)
        return getattr(self, name, self.title)


STAFF_ROLES = options([(Role.organizer.value, _l("Organizer")), (Role.speaker.value, _l("Speaker")),
                       (Role.admin.value, _l("Admin"))])


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=STAFF_ROLES)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=STAFF_ROLES)


class SpeakerForm(FlaskForm):
    user_id = SelectField(_l("Speaker"), coerce=int)


class ActionForm(FlaskForm):
    """A button that posts nothing but its CSRF token."""


class RegistrationSettingsForm(FlaskForm):
    """Seats per start time, manual approval, the live completion share (portal.admin.regform)."""

    capacity = IntegerField(_l("Seats per start time"), validators=[Optional()])
    requires_approval = BooleanField(_l("Approve each registration by hand"))
    completion_percent = IntegerField(_l("Completed when present for at least this percentage of the live time"),
                                      default=50, validators=[InputRequired(message=_l("Enter a percentage."))])


class QuestionForm(FlaskForm):
    """One extra field of the registration form (portal.registration.questions)."""

    label = StringField(_l("Question"), validators=[Length(max=300)])
    kind = SelectField(_l("Answer type"), choices=options([("text", _l("Text")),
                                                           ("choice", _l("One of several answers")),
                                                           ("checkbox", _l("Checkbox"))]))
    options = TextAreaField(_l("Answers to choose from (one per line)"), validators=[Length(max=3000)])
    required = BooleanField(_l("Required"))


API_SCOPES = options([("read", _l("read: webinars, registrations, attendance, events")),
                      ("control", _l("control: start/stop and the call-to-action")),
                      ("webhooks", _l("webhooks: manage webhook endpoints"))])


class TokenForm(FlaskForm):
    """A new API token (/admin/tokens): a name to tell it apart and its scopes."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    scopes = MultiCheckboxField(_l("Scopes"), choices=API_SCOPES, default=["read"])
