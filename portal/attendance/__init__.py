"""Attendance: live sessions, the attendance ledger and presence (below room and autowebinar).

It writes who entered, left and completed (with their events) and announces
`signals.attendance_changed` after each commit that changed who is present.
"""
from __future__ import annotations

from flask import Flask

from portal import signals
from portal.attendance import presence, receivers


def init_app(app: Flask) -> None:
    """The presence registry and lease keeper of this app, and the go-live / stop consequences."""
    presence.init_app(app)
    signals.connect(app, signals.status_changing, receivers.on_status_changing)
