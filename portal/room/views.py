"""The attendee room: /room/<token> and its HTTP actions (chat fallback, CTA click)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("room", __name__, url_prefix="/room")
