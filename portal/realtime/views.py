"""Socket endpoints (/ws/...) and the polling fallback."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("realtime", __name__, url_prefix=None)
