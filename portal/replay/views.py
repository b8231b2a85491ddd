"""Replay pages: /replay/<token> (registrants), /w/<slug>/replay (public, when allowed), their
timeline fragments (?t=<player's current second>) and the replay's CTA click."""
from __future__ import annotations

import math

from flask import Blueprint, make_response, redirect, render_template, request, url_for

from portal import csp, ratelimit
from portal.core.models import Webinar
from portal.errors import Invalid, NotFound
from portal.extensions import db
from portal.replay import service, timeline

bp = Blueprint("replay", __name__)


def _seconds(raw: str | None) -> float:
    try:
        value = float(raw or 0)
    except ValueError:
        raise Invalid("The player's time is not a number.") from None
    if not math.isfinite(value) or value < 0:
        raise Invalid("The player's time is not a number.")
    return value


def _visit_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 12 else None


def _page(template_context: dict):
    csp.allow_media(template_context["recording"].url)
    response = make_response(render_template("replay/page.html", **template_context))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _timeline(run: timeline.Run, seconds: float, **context):
    """The fragment at `seconds`; 204 (htmx swaps nothing) when the page already shows it."""
    feed, states = timeline.at(run, seconds)
    shown = timeline.key(feed, states)
    if request.args.get("k") == shown:
        return "", 204
    return render_template("replay/_timeline.html", feed=feed, states=states, seconds=seconds, key=shown,
                           **context)


@bp.get("/replay/<token>")
def page(token: str):
    reg, recording, run = service.for_token(token)
    ratelimit.poll(f"replay:{reg.registration_id}")  # each load opens a visit: reloads are counted too
    visit = service.enter(reg, run)
    return _page({"webinar": reg.webinar, "recording": recording, "token": token,
                  "timeline_url": url_for("replay.items", token=token, v=visit)})


@bp.get("/replay/<token>/timeline")
def items(token: str):
    reg, _, run = service.for_token(token)
    ratelimit.poll(f"replay:{reg.registration_id}")
    service.touch(reg, _visit_id(request.args.get("v")))
    return _timeline(run, _seconds(request.args.get("t")), webinar=reg.webinar, token=token)


@bp.post("/replay/<token>/cta")
def cta_click(token: str):
    reg, recording, run = service.for_token(token)
    target = service.click_cta(reg, run, recording, _seconds(request.form.get("t")))
    return redirect(target, code=303)


def _public_webinar(slug: str) -> Webinar:
    webinar = db.session.query(Webinar).filter_by(slug=slug).one_or_none() if len(slug) <= 120 else None
    if webinar is None:
        raise NotFound(service.NO_REPLAY)
    return webinar


@bp.get("/w/<slug>/replay")
def public_page(slug: str):
    webinar = _public_webinar(slug)
    recording, _ = service.public(webinar)
    return _page({"webinar": webinar, "recording": recording, "token": None,
                  "timeline_url": url_for("replay.public_items", slug=slug)})


@bp.get("/w/<slug>/replay/timeline")
def public_items(slug: str):
    webinar = _public_webinar(slug)
    _, run = service.public(webinar)
    return _timeline(run, _seconds(request.args.get("t")), webinar=webinar, token=None)
