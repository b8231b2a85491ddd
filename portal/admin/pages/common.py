"""Helpers every organizer page uses: the actor, HTMX partial-or-page, row-action replies."""
from __future__ import annotations

from typing import Any

from flask import Response, make_response, redirect, render_template, request
from flask_login import current_user

from portal.core.models import User


def actor() -> User:
    """The logged-in staff user (the real object, for permission checks and events)."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")


def wants_partial(target_id: str) -> bool:
    """An HTMX request that swaps only the region `target_id`."""
    return is_htmx() and request.headers.get("HX-Target") == target_id


def page_or_partial(page_template: str, partial_template: str, target_id: str, /, *, status: int = 200,
                    **context: Any) -> Response:
    """The full page, or just its swappable region for HTMX (same template, same data)."""
    template = partial_template if wants_partial(target_id) else page_template
    return make_response(render_template(template, **context), status)


def back(default: str) -> Response:
    """After a non-HTMX action: back to the page it came from (same site only), else `default`."""
    ref = request.referrer or ""
    target = ref if ref.startswith(request.host_url) else default
    return redirect(target, code=303)
