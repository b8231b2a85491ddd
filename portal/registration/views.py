"""Public registration pages: /w/<slug>, POST /w/<slug>/register, confirmation, .ics.

Duplicates: a second registration with the same email (and slot) keeps the first one and
emits nothing. The browser that registered holds the join token in a signed HttpOnly cookie
(portal.registration.remember), and its browser id derives the same token again even when
that cookie never arrived (a double click, a lost answer): it is sent to its confirmation
page again; any other browser is told it is already registered and is shown no link, so
typing someone's email reveals nothing. A lead banned from the webinar gets the same page.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from portal.core.models import Webinar
from portal.core.permissions import Action, can
from portal.db_types import utcnow
from portal.errors import N_, Conflict, Invalid, NotFound, RateLimited, refusal_shown
from portal.extensions import db
from portal.ratelimit import limiter
from portal.registration import calendar, choices, display, questions, remember, seats, service
from portal.registration.forms import RegistrationForm
from portal.registration.models import PENDING, Registration
from portal.registration.tokens import hash_token

bp = Blueprint("registration", __name__, url_prefix=None)

RATE_LIMIT = 30  # POSTs per window per IP (PORTAL_REGISTRATION_RATE_LIMIT)
RATE_WINDOW = 60  # seconds (PORTAL_REGISTRATION_RATE_WINDOW)


_BY_SLUG = select(Webinar).where(Webinar.slug == bindparam("slug")).options(joinedload(Webinar.slots))


def _load(slug: str) -> Webinar:
    """The webinar at /w/<slug>; drafts exist only for staff who may edit them."""
    webinar = db.session.scalars(_BY_SLUG, {"slug": slug}).unique().first() if len(slug) <= 120 else None
    if webinar is None:
        raise NotFound("Page not found")
    # Only a non-public webinar needs to know who is asking (saves loading the user per POST).
    if not can(None, Action.VIEW_PUBLIC, webinar):
        actor = current_user if current_user.is_authenticated else None
        if not can(actor, Action.VIEW_PUBLIC, webinar):
            raise NotFound("Page not found")
    return webinar


def _mine(webinar: Webinar) -> tuple[Registration, str] | None:
    token = remember.recall(webinar.webinar_id)
    reg = service.registration_for(webinar, token)
    return (reg, token) if reg is not None and token else None


def _private(response: Response) -> Response:
    """Pages that show a join link must not be stored by shared caches or the back button."""
    response.headers["Cache-Control"] = "no-store, private"
    return response


def _focus_first_error(form: RegistrationForm, *, message: str | None) -> None:
    """A refused form opens scrolled to its first problem (it sits below the fold on phones)."""
    for field in (form.name, form.email):
        if field.errors or (message and field is form.name):
            field.render_kw = {**(field.render_kw or {}), "autofocus": True}  # per instance, not the class's
            return


def _page(webinar: Webinar, form: RegistrationForm, *, now: datetime, status: int = 200,
          message: str | None = None, answers: dict[str, str] | None = None,
          answer_errors: dict[str, str] | None = None) -> Response:
    _focus_first_error(form, message=message)
    registered, token = _mine(webinar) or (None, None)
    accepting = service.is_open(webinar)
    options = choices.offered(webinar, now=now) if accepting else []
    response = make_response(
        render_template(
            "registration/page.html",
            webinar=webinar,
            form=form,
            options=options,
            is_open=bool(accepting and options),
            registered=registered,
            join_url=display.join_url(token) if token else None,
            message=message,
            link_recovery=request.args.get("link"),
            questions=questions.of(webinar),
            answers=answers if answers is not None else request.form,
            answer_errors=answer_errors or {},
        ),
        status,
    )
    remember.browser_id(response)  # the id a repeated submit from this browser is known by
    return _private(response)


def _source_from_link() -> str:
    return request.args.get("utm_source") or request.args.get("ref") or ""


@bp.get("/w/<slug>")
def page(slug: str):
    webinar = _load(slug)
    form = RegistrationForm(formdata=None, source=_source_from_link())
    return _page(webinar, form, now=utcnow())


def _rate_limit() -> None:
    cfg = current_app.config
    limiter().hit(
        f"register:ip:{request.remote_addr}",
        limit=int(cfg.get("REGISTRATION_RATE_LIMIT", RATE_LIMIT)),
        window=int(cfg.get("REGISTRATION_RATE_WINDOW", RATE_WINDOW)),
        message=N_("Too many registrations from your network. Please wait a minute and try again."),
    )


@bp.post("/w/<slug>/register")
def register(slug: str):
    webinar = _load(slug)
    now = utcnow()
    form = RegistrationForm().for_webinar(webinar, now=now)
    if not service.is_open(webinar):
        return _page(webinar, form, now=now, status=409)
    try:
        _rate_limit()
    except RateLimited as error:
        refusal_shown(error)  # the audit record
        response = _page(webinar, form, now=now, status=429, message=error.translated())
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    valid = form.validate()
    try:
        answers = questions.answers_from(questions.of(webinar), request.form)
    except Invalid as error:
        errors = {name: _(msgid) for name, msgid in error.details["fields"].items()}
        return _page(webinar, form, now=now, status=422, answer_errors=errors)
    if not valid:
        return _page(webinar, form, now=now, status=422)
    webinar_id = webinar.webinar_id
    try:
        result = service.register(webinar, name=form.name.data, email=form.email.data, slot=form.resolved.slot,
                                  starts_at=form.resolved.starts_at, source=form.source.data or "",
                                  token_seed=remember.token_seed(), timezone=form.timezone.data,
                                  language=str(get_locale() or "") or None, answers=answers)
    except seats.Full as error:
        refusal_shown(error)  # the audit record
        return _private(make_response(render_template("registration/full.html", webinar=webinar, form=form), 409))
    except Invalid as error:
        refusal_shown(error)  # the audit record
        getattr(form, error.details.get("field", ""), form.name).errors.append(error.translated())
        return _page(webinar, form, now=now, status=422)
    confirmation = redirect(url_for(".confirmation", slug=slug), 303)
    remember.browser_id(confirmation)
    if result.created:
        remember.remember(confirmation, webinar_id=webinar_id, token=result.token)
        return confirmation
    mine = service.registration_for(webinar, remember.recall(webinar_id)) or _pending(webinar)
    if mine is not None and mine.registration_id == result.registration_id:
        return confirmation
    again = service.registration_for(webinar, result.token) if result.token else None
    if again is not None and again.registration_id == result.registration_id:
        # This browser registered it but never got (or lost) the cookie: show its link.
        remember.remember(confirmation, webinar_id=webinar_id, token=result.token)
        return confirmation
    return _private(make_response(render_template("registration/already.html", webinar=webinar)))


def _entry(webinar: Webinar, reg: Registration, token: str) -> calendar.Entry:
    start = choices.start_of(webinar, slot=reg.slot, starts_at=reg.starts_at) or reg.registered_at
    minutes = (webinar.recording_duration_sec or 0) // 60 + 1 if webinar.type == "auto" else webinar.duration_minutes
    link = display.join_url(token)
    description = _("Your personal join link (do not share it): %(link)s", link=link)
    if webinar.description:
        description = f"{description}\n\n{webinar.description}"
    return calendar.Entry(
        uid=calendar.uid_for(reg.registration_id, display.site_host()),
        sequence=webinar.calendar_sequence or 0,
        start=start,
        end=calendar.end_of(start, minutes=minutes),
        title=webinar.title,
        description=description,
        url=link,
    )


@bp.get("/w/<slug>/registered")
def confirmation(slug: str):
    webinar = _load(slug)
    mine = _mine(webinar)
    if mine is None:
        waiting = _pending(webinar)
        if waiting is not None:
            return _private(make_response(render_template("registration/pending.html", webinar=webinar,
                                                          reg=waiting)))
        return redirect(url_for(".page", slug=slug), 303)
    reg, token = mine
    entry = _entry(webinar, reg, token)
    return _private(make_response(render_template(
        "registration/confirmation.html", webinar=webinar, reg=reg, entry=entry, join_url=entry.url,
        google_url=calendar.google_link(entry), now=utcnow(), token=token,
    )))


@bp.get("/w/<slug>/calendar.ics")
def calendar_file(slug: str):
    webinar = _load(slug)
    mine = _mine(webinar)
    if mine is None:
        raise NotFound("Register first: the calendar file belongs to a registration.")
    body = calendar.ics(_entry(webinar, *mine), stamp=utcnow())
    response = make_response(body.encode("utf-8"))
    response.mimetype = "text/calendar"
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{webinar.slug}.ics"'
    return _private(response)


def _pending(webinar: Webinar) -> Registration | None:
    """This browser's registration when it waits for the organizer's approval (its token
    opens nothing until then)."""
    token = remember.recall(webinar.webinar_id)
    if not token or len(token) > 64:
        return None
    reg = db.session.scalar(select(Registration).where(Registration.join_token_hash == hash_token(token)))
    ok = reg is not None and reg.webinar_id == webinar.webinar_id and reg.state == PENDING
    return reg if ok and reg.revoked_at is None and reg.cancelled_at is None else None


@bp.post("/w/<slug>/waitlist")
def waitlist(slug: str):
    """"Email me if a seat frees up" from the full page: the same fields as the form."""
    webinar = _load(slug)
    now = utcnow()
    form = RegistrationForm().for_webinar(webinar, now=now)
    try:
        _rate_limit()
    except RateLimited as error:
        refusal_shown(error)
        return _private(make_response(render_template("registration/full.html", webinar=webinar, form=form,
                                                      message=error.translated()), 429))
    if not form.validate():
        return _private(make_response(render_template("registration/full.html", webinar=webinar, form=form), 422))
    try:
        service.join_waitlist(webinar, name=form.name.data, email=form.email.data, slot=form.resolved.slot,
                              starts_at=form.resolved.starts_at, language=str(get_locale() or "") or None,
                              timezone=form.timezone.data)
    except (Invalid, Conflict) as error:
        db.session.rollback()
        refusal_shown(error)
        if isinstance(error, Invalid):
            getattr(form, error.details.get("field", ""), form.name).errors.append(error.translated())
        return _private(make_response(render_template("registration/full.html", webinar=webinar, form=form,
                                                      message=None if isinstance(error, Invalid)
                                                      else error.translated()), error.status_code))
    return _private(make_response(render_template("registration/waitlisted.html", webinar=webinar)))
