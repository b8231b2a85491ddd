"""CTA clicks.

Rule: `client_webinar_cta_clicked` is emitted on a lead's FIRST click per webinar (later
clicks still redirect, without an event), so webhook consumers and reports count people, not
taps. Whether a click is the first is the webinar type's rule (portal.room.kinds: live looks
for an earlier event; auto stamps `autowebinar_cta_clicked_at` once); this module alone emits
the event.
"""
from __future__ import annotations

import logging

from portal.attendance import ledger
from portal.core import events
from portal.core.permissions import Action, require
from portal.errors import Conflict
from portal.extensions import db
from portal.registration.models import Registration
from portal.room import fragments, links
from portal.room.kinds import kind_of

log = logging.getLogger(__name__)


def click(reg: Registration, *, replay_at: int | None = None) -> str:
    """Record a click (first one emits the event) and return the URL to send the viewer to.
    `replay_at`: a click in the replay at that second (portal.replay checked it was shown then)."""
    webinar = reg.webinar
    require(reg, Action.CLICK_CTA, webinar)
    if replay_at is None and not fragments.cta_visible(webinar, reg):
        raise Conflict("This offer is not available right now.")
    target = links.safe_link(webinar.cta_url)
    if target is None:
        raise Conflict("This offer has no valid link.")
    ledger.serialise_lead(reg)  # concurrent double clicks: one after the other
    first = kind_of(webinar).first_click(reg)
    if first:
        events.emit("client_webinar_cta_clicked", webinar_id=webinar.webinar_id, lead_id=reg.lead_id,
                    data={"cta_url": target, "cta_text": webinar.cta_text, "webinar_type": webinar.type,
                          **({"replay_at": replay_at} if replay_at is not None else {})})
        log.info("lead %s clicked the CTA of webinar %s", reg.lead_id, webinar.webinar_id)
    db.session.commit()
    return target
