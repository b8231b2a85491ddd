"""Speaker console: /console/<webinar_id> and its actions."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")
