"""The reaction bar's HTTP fallback: POST /room/<token>/react (field `reaction`) while the
room's socket is down. Refusals answer with their message (htmx shows it in #flash)."""
from __future__ import annotations

from flask import Blueprint, request

from portal.reactions import push, service
from portal.room.access import registration_or_404

bp = Blueprint("reactions", __name__)


@bp.post("/room/<token>/react")
def tap(token: str):
    reg = registration_or_404(token)
    reactions = push.state()
    service.tap(reg, request.form.get("reaction"), tally=reactions.tally)
    reactions.ticker.ensure_started()
    return "", 204
