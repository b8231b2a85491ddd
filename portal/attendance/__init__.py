"""Attendance: live sessions, the attendance ledger and presence (below room and autowebinar).

It writes who entered, left and completed (with their events) and announces
`signals.attendance_changed` after each commit that changed who is present.
"""
from __future__ import annotations

from flask import Flask

from portal import signals
from portal.attendance import leases, presence, receivers


def init_app(app: Flask) -> None:
    """The presence registry and lease keeper of this app, and the go-live / stop consequences."""
    presence.init_app(app)
    signals.connect(app, signals.status_changing, receivers.on_status_changing)


def shutdown(app: Flask, *, timeout: float = 10.0) -> None:
    """Let running go-live batches finish, then stop the lease keeper (it closes this worker's
    rows with server_restart and marks its lease stopped)."""
    presence.registry(app).settle(timeout=timeout)
    keeper = app.extensions.get(leases.EXTENSION)
    if keeper is not None:
        keeper.stop()
