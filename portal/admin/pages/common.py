"""Helpers every organizer page uses: the actor and row-action replies (HTMX: portal.htmx)."""
from __future__ import annotations

from flask import Response, redirect, request
from flask_login import current_user

from portal.core.models import User


def actor() -> User:
    """The logged-in staff user (the real object, for permission checks and events)."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


def back(default: str) -> Response:
    """After a non-HTMX action: back to the page it came from (same site only), else `default`."""
    ref = request.referrer or ""
    target = ref if ref.startswith(request.host_url) else default
    return redirect(target, code=303)
