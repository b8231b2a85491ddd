"""AutoWebinar HTTP endpoints (heartbeat fallback)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("autowebinar", __name__, url_prefix=None)
