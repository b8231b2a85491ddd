"""AutoWebinar HTTP endpoints: the heartbeat fallback and the final position on page hide.

POST /room/<token>/heartbeat takes either JSON (fetch from autowebinar.js while the socket is
down; CSRF token in the X-CSRFToken header) or a urlencoded form (navigator.sendBeacon on
pagehide, which cannot set headers: the page's CSRF token travels as the `csrf_token` field,
checked by Flask-WTF like any form). Either way the join token in the URL picks the
registration, so a heartbeat can only ever concern its own attendee.
"""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.datastructures import MultiDict

from portal.autowebinar import heartbeats
from portal.db_types import utcnow
from portal.errors import Invalid, NotFound
from portal.ratelimit import limiter
from portal.registration.tokens import find_registration

bp = Blueprint("autowebinar", __name__, url_prefix=None)

HEARTBEATS_PER_MINUTE = 60  # the player sends ~12; a little room for reconnect bursts
_NUMBER = re.compile(r"^-?\d{1,7}(\.\d{1,6})?$")
FIELDS = ("position", "session_id", "webinar_id", "page_id", "leave")


def _payload() -> dict[str, Any]:
    """The heartbeat fields of a JSON body or a form (form numbers arrive as strings)."""
    if request.is_json:
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # "[[[[..." deeper than the decoder goes: bad input, not a 500
            body = None
        if not isinstance(body, dict):
            raise Invalid("Send a JSON object.", details={"field": "body"})
        return {k: body.get(k) for k in FIELDS}
    form: MultiDict = request.form
    out: dict[str, Any] = {k: form.get(k) for k in FIELDS}
    raw = out.get("position")
    if isinstance(raw, str) and _NUMBER.match(raw.strip()):
        out["position"] = float(raw)
    return out


@bp.post("/room/<token>/heartbeat")
def heartbeat(token: str) -> Response | tuple[str, int]:
    reg = find_registration(token)
    if reg is None:
        raise NotFound("This join link is not valid.")
    limiter().hit(f"aw-heartbeat:{reg.registration_id}", limit=HEARTBEATS_PER_MINUTE, window=60,
                  message="Too many heartbeats.")
    payload = _payload()
    connection_id = heartbeats.http_connection_id(payload.get("page_id"))
    if payload.get("leave") in (True, "1", "true"):
        heartbeats.leave(reg, payload, connection_id=connection_id, now=utcnow())
        return "", 204
    sync = heartbeats.accept(reg, payload, connection_id=connection_id, http=True, now=utcnow())
    return jsonify(sync.as_json())
