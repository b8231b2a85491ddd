"""Public registration pages: /w/<slug>, POST /w/<slug>/register, confirmation, .ics."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("registration", __name__, url_prefix=None)
