"""CTA clicks.

Rule: `client_webinar_cta_clicked` is emitted on a lead's FIRST click per webinar (later
clicks still redirect, without an event), so webhook consumers and reports count people, not
taps. Auto webinars: AutoWebinar's `runtime.record_cta_click(reg)` stamps
`autowebinar_cta_clicked_at` once and reports whether this was the first click; this module
alone emits the event.
"""
from __future__ import annotations

import logging
from flask_babel import gettext as _
from sqlalchemy import exists, select

from portal.core import events
from portal.core.models import OutboxEvent, WebinarType
from portal.core.permissions import Action, require
from portal.errors import Conflict
from portal.extensions import db
from portal.registration.models import Registration
from portal.room import attendance, fragments, links

log = logging.getLogger(__name__)


def click(reg: Registration) -> str:
    """Record a click (first one emits the event) and return the URL to send the viewer to."""
    webinar = reg.webinar
    require(reg, Action.CLICK_CTA, webinar)
    if not fragments.cta_visible(webinar, reg):
        raise Conflict(_("This offer is not available right now."))
    target = links.safe_link(webinar.cta_url)
    if target is None:
        raise Conflict(_("This offer has no valid link."))
    attendance.serialise_lead(reg)  # concurrent double clicks: one after the other
    if webinar.type == WebinarType.auto.value:
        first = _auto_first_click(reg)
    else:
        first = not _clicked_before(reg)
    if first:
        events.emit("client_webinar_cta_clicked", webinar_id=webinar.webinar_id, lead_id=reg.lead_id,
                    data={"cta_url": target, "cta_text": webinar.cta_text, "webinar_type": webinar.type})
        log.info("lead %s clicked the CTA of webinar %s", reg.lead_id, webinar.webinar_id)
    db.session.commit()
    return target


def _clicked_before(reg: Registration) -> bool:
    return bool(db.session.scalar(select(exists().where(
        OutboxEvent.webinar_id == reg.webinar_id,
        OutboxEvent.event == "client_webinar_cta_clicked",
        OutboxEvent.lead_id == reg.lead_id,
    ))))


def _auto_first_click(reg: Registration) -> bool:
    try:
        from portal.autowebinar import runtime
    except ImportError:
        return not _clicked_before(reg)
    result = runtime.record_cta_click(reg)
    return bool(result) if result is not None else not _clicked_before(reg)

