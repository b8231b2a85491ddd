"""The public registration form (fields name, email, slot_id, source + csrf_token)."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField, ValidationError
from wtforms.validators import Email, InputRequired, Length

from portal.core.models import Webinar
from portal.errors import Invalid
from portal.registration import choices, inputs


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class RegistrationForm(FlaskForm):
    """Bound to one webinar: call `for_webinar()` before validating."""

    class Meta:
        # CSRFProtect already checks every POST before the view runs (400, nothing stored);
        # a second token check per form would only cost time on the burst path.
        csrf = False

    name = StringField(_l("Your name"), render_kw={"maxlength": inputs.NAME_MAX, "autocomplete": "name"})
    email = EmailField(
        _l("Email"),
        filters=[_strip],
        validators=[
            InputRequired(message=_l("Please enter your email address.")),
            Length(max=inputs.EMAIL_MAX, message=_l("Please use at most %(max)d characters.")),
            Email(check_deliverability=False, message=_l("Please enter a valid email address.")),
        ],
        render_kw={"maxlength": inputs.EMAIL_MAX, "autocomplete": "email", "inputmode": "email"},
    )
    slot_id = StringField(_l("When"))
    source = HiddenField(_l("Source"), filters=[inputs.clean_source])  # a label, so none is made per request
    # The browser's IANA zone, filled by static/js/registration.js; an unknown zone is dropped
    # (None: mails show the webinar's zone), never refused.
    timezone = HiddenField(_l("Time zone"), filters=[inputs.clean_timezone])

    webinar: Webinar | None = None
    now: datetime | None = None
    resolved: choices.Resolved | None = None

    def for_webinar(self, webinar: Webinar, *, now: datetime) -> RegistrationForm:
        self.webinar, self.now = webinar, now
        return self

    def validate_name(self, field: StringField) -> None:
        try:
            field.data = inputs.clean_name(field.data)
        except Invalid as error:
            raise ValidationError(error.translated()) from None

    def validate_slot_id(self, field: StringField) -> None:
        assert self.webinar is not None and self.now is not None, "call for_webinar() first"
        try:
            self.resolved = choices.resolve(self.webinar, field.data, now=self.now)
        except Invalid as error:
            raise ValidationError(error.translated()) from None
