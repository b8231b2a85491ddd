"""The one HTMX helper: detection, page-or-fragment rendering and HX-* response headers.

Built on htmx-flask (`request.htmx`); views use these functions rather than reading `HX-*`
headers themselves. `init_app` binds the extension (create_app calls `htmx.init_app(app)`).
"""
from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, make_response, redirect, render_template
from htmx_flask import request

from portal.extensions import htmx as _extension


def init_app(app: Flask) -> None:
    """Give the app htmx-flask's request class (`request.htmx`)."""
    _extension.init_app(app)


def is_htmx() -> bool:
    """An HTMX swap request. A history-restore request (cache miss after Back) wants the
    whole page, so it does not count."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def targets(region_id: str) -> bool:
    """An HTMX request that swaps only the region whose id is `region_id`."""
    return is_htmx() and request.htmx.target == region_id


def page_or_fragment(page_template: str, fragment_template: str, region_id: str, /, *, status: int = 200,
                     **context: Any) -> Response:
    """The full page, or just its swappable region when HTMX targets it (same data)."""
    template = fragment_template if targets(region_id) else page_template
    return make_response(render_template(template, **context), status)


def redirect_to(location: str, *, status: int = 204) -> Response:
    """Send the browser to `location`: HX-Redirect for HTMX (a whole-page visit, not a swap),
    else a 303 See Other."""
    if is_htmx():
        return with_headers(make_response("", status), redirect=location)
    return redirect(location, code=303)


def with_headers(response: Response, *, redirect: str | None = None, retarget: str | None = None,
                 reswap: str | None = None, trigger: str | dict[str, Any] | None = None) -> Response:
    """Set HX-Redirect / HX-Retarget / HX-Reswap / HX-Trigger on an existing response.

    htmx-flask's own `make_response` builds a new response and rejects "afterbegin" as a
    reswap (a missing comma in its list), so the headers are set here directly.
    """
    if redirect:
        response.headers["HX-Redirect"] = redirect
    if retarget:
        response.headers["HX-Retarget"] = retarget
    if reswap:
        response.headers["HX-Reswap"] = reswap
    if trigger:
        response.headers["HX-Trigger"] = trigger if isinstance(trigger, str) else json.dumps(trigger)
    return response
