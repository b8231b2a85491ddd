"""The webinar's registration settings (issue 12, points 6 and 7): seats per start time,
manual approval, the live completion share, and the registration questions."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from portal.core.models import Status, User, Webinar
from portal.core.permissions import Action, require
from portal.errors import N_, Conflict, Invalid
from portal.extensions import db
from portal.registration import questions
from portal.registration.models import RegistrationQuestion

log = logging.getLogger(__name__)

MAX_CAPACITY = 100_000


@dataclass
class Settings:
    """What the organizer typed (already parsed to numbers by the form)."""

    capacity: int | None
    requires_approval: bool
    completion_percent: int


def _editable(webinar: Webinar, actor: User) -> None:
    require(actor, Action.EDIT, webinar)
    if webinar.status in (Status.finished.value, Status.archived.value):
        raise Conflict("The webinar is over; its registration settings can no longer change.")


def save(webinar: Webinar, data: Settings, *, actor: User) -> None:
    """Store the settings; Invalid (details["fields"]) changes nothing."""
    _editable(webinar, actor)
    errors: dict[str, list[str]] = {}
    if data.capacity is not None and not 1 <= data.capacity <= MAX_CAPACITY:
        errors["capacity"] = [N_("Between 1 and 100000 seats, or empty for no limit.")]
    if not 1 <= data.completion_percent <= 100:
        errors["completion_percent"] = [N_("Between 1 and 100 %.")]
    if errors:
        raise Invalid("Please correct the marked fields.", details={"fields": errors})
    webinar.capacity = data.capacity
    webinar.requires_approval = bool(data.requires_approval)
    webinar.completion_percent = data.completion_percent
    db.session.commit()
    log.info("webinar %s registration settings by user %s: capacity %s, approval %s, completion %s %%",
             webinar.webinar_id, actor.user_id, data.capacity, data.requires_approval, data.completion_percent)


def add_question(webinar: Webinar, data: questions.QuestionInput, *, actor: User) -> RegistrationQuestion:
    """Append a question to the registration form."""
    _editable(webinar, actor)
    question = questions.add(webinar, data)
    db.session.commit()
    log.info("webinar %s: question %s added by user %s", webinar.webinar_id, question.question_id, actor.user_id)
    return question


def remove_question(webinar: Webinar, question_id: int, *, actor: User) -> None:
    """Take a question off the form (answers given stay in the CSV's history of that row)."""
    _editable(webinar, actor)
    questions.remove(webinar, question_id)
    db.session.commit()
