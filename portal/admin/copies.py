"""Deleting a draft and duplicating a webinar into a new draft (issue 12, point 4).

Both are organizer actions with an audit row written in their transaction. A duplicate never
copies `status` or `cta_visibility` (it starts as a draft with the offer hidden, like every
new webinar), nor registrations, chat or attendance: only what the organizer configured.
"""
from __future__ import annotations

import logging

from sqlalchemy import exists, select

from portal import audit
from portal.admin import slugs
from portal.core.models import Role, Status, User, Webinar, WebinarSlot, WebinarSpeaker
from portal.core.permissions import Action, require
from portal.errors import Conflict
from portal.extensions import db
from portal.registration.models import RegistrationQuestion

log = logging.getLogger(__name__)

#: What a duplicate takes over from its original (EDITABLE of the organizer form, minus the
#: title and slug it gets anew, plus the registration settings).
COPIED = (
    "description", "type", "scheduled_at", "timezone", "duration_minutes", "stream_type", "stream_url",
    "external_chat_ref", "cta_text", "cta_url", "cta_at_sec", "chat_lobby_minutes", "show_attendee_count",
    "recording_url", "recording_duration_sec", "auto_schedule", "remind_24h", "remind_1h", "remind_live",
    "capacity", "requires_approval", "completion_percent",
)
COPY_SUFFIX = " (copy)"


def delete_draft(webinar: Webinar, *, actor: User) -> None:
    """Delete a draft with everything hanging on it; any other status is refused (Conflict)."""
    require(actor, Action.EDIT, webinar)
    if webinar.status != Status.draft.value:
        raise Conflict("Only drafts can be deleted. Cancel or archive a published webinar instead.")
    webinar_id, title, slug = webinar.webinar_id, webinar.title, webinar.slug
    # The row outlives the webinar (its webinar_id would cascade away with it).
    audit.record(db.session, kind="status", action="delete", webinar_id=None, actor_user_id=actor.user_id,
                 detail={"webinar_id": webinar_id, "title": title, "slug": slug})
    db.session.delete(webinar)
    db.session.commit()
    log.info("webinar %s (draft %s) deleted by user %s", webinar_id, slug, actor.user_id)


def duplicate(webinar: Webinar, *, actor: User) -> Webinar:
    """A new draft with the original's settings, start times, speakers and questions."""
    require(actor, Action.EDIT, webinar)
    require(actor, Action.CREATE)
    # An admin's copy stays with the original's owner; an organizer copies their own webinar.
    owner = webinar.owner_user_id if actor.role == Role.admin.value else actor.user_id
    copy = Webinar(title=_copy_title(webinar.title), slug=_free_slug(webinar.slug), owner_user_id=owner)
    for name in COPIED:
        setattr(copy, name, getattr(webinar, name))
    copy.slots = [WebinarSlot(starts_at=s.starts_at, label=s.label) for s in webinar.slots]
    copy.speakers = [WebinarSpeaker(user_id=s.user_id, display_name=s.display_name) for s in webinar.speakers]
    db.session.add(copy)
    db.session.flush()
    questions = db.session.scalars(select(RegistrationQuestion).where(
        RegistrationQuestion.webinar_id == webinar.webinar_id).order_by(RegistrationQuestion.position))
    for q in questions:
        db.session.add(RegistrationQuestion(webinar_id=copy.webinar_id, position=q.position, label=q.label,
                                            kind=q.kind, options=list(q.options or []) or None, required=q.required))
    audit.record(db.session, kind="status", action="duplicate", webinar_id=copy.webinar_id,
                 actor_user_id=actor.user_id, detail={"from_webinar_id": webinar.webinar_id})
    db.session.commit()
    log.info("webinar %s duplicated as %s by user %s", webinar.webinar_id, copy.webinar_id, actor.user_id)
    return copy


def _copy_title(title: str) -> str:
    return (title[: 200 - len(COPY_SUFFIX)] + COPY_SUFFIX) if not title.endswith(COPY_SUFFIX) else title


def _free_slug(slug: str) -> str:
    def taken(candidate: str) -> bool:
        return bool(db.session.scalar(select(exists().where(Webinar.slug == candidate))))

    return slugs.unique_slug(slug.removesuffix("-copy")[: slugs.MAX_LENGTH - 8] + "-copy", taken=taken)
