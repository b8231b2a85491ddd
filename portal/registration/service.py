"""Registering a lead for a webinar: one unit of work, safe against double submits."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, insert, select
from sqlalchemy.exc import IntegrityError

from portal import timefmt
from portal.core import events
from portal.core.models import Role, Status, User, Webinar, WebinarSlot
from portal.core.permissions import Action, can
from portal.core.users import normalise_email
from portal.errors import N_, Conflict, Invalid
from portal.extensions import db
from portal.registration import choices, inputs, seats
from portal.registration.models import CONFIRMED, WAITLISTED, Registration
from portal.registration.tokens import derived_token, find_registration, hash_token, new_token, rotate

log = logging.getLogger(__name__)

# Two concurrent first submits of one email collide on user.email, then on the registration
# key; each collision costs one retry, after which the other's rows are visible.
ATTEMPTS = 3


# Statements built once: constructing and cache-keying them per request is measurable at
# hundreds of registrations per second.
_users, _regs = User.__table__, Registration.__table__
_INSERT_LEAD = insert(_users).returning(_users.c.user_id)
_INSERT_REGISTRATION = insert(_regs).returning(_regs.c.registration_id)


def _lookup(slot_match: ColumnElement[bool]) -> Select:
    joined = _users.outerjoin(
        _regs, and_(_regs.c.lead_id == _users.c.user_id, _regs.c.webinar_id == bindparam("webinar_id"), slot_match))
    return (select(_users.c.user_id, _users.c.role, _regs.c.registration_id, _regs.c.join_token_hash, _regs.c.state)
            .select_from(joined).where(_users.c.email == bindparam("email")))


_LOOKUP_NO_SLOT = _lookup(_regs.c.slot_id.is_(None))
_LOOKUP_SLOT = _lookup(_regs.c.slot_id == bindparam("slot_id"))
_BANNED = (select(_regs.c.registration_id)
           .where(_regs.c.webinar_id == bindparam("webinar_id"), _regs.c.lead_id == bindparam("lead_id"),
                  _regs.c.banned_at.is_not(None)).limit(1))

STAFF_EMAIL = N_("This address belongs to a team account. Sign in to reach the webinar from the console, "
                 "or register with another address.")


class Registered:
    """The outcome of register(): `token` is set when `created` (it is shown once), and for a
    repeat from the browser that registered (its `token_seed` derives the stored token again).

    Unpacks as (registration, token, created). The registration row is loaded on first use,
    so the hot path (a new registration answered with a redirect) never reads it back.
    """

    def __init__(self, registration_id: int, token: str | None, created: bool, state: str = CONFIRMED) -> None:
        self.registration_id, self.token, self.created = registration_id, token, created
        self.state = state  # pending: the organizer approves first (no link, no confirmation yet)

    @property
    def registration(self) -> Registration:
        return db.session.get(Registration, self.registration_id)

    def __iter__(self) -> Iterator[Registration | str | bool | None]:
        return iter((self.registration, self.token, self.created))


def is_open(webinar: Webinar) -> bool:
    """Does the webinar accept registrations (scheduled, live or paused)?"""
    return can(None, Action.REGISTER, webinar)


def register(webinar: Webinar, *, name: str, email: str, slot: WebinarSlot | None = None,
             starts_at: datetime | None = None, source: str = "", token_seed: bytes | None = None,
             timezone: str | None = None, language: str | None = None,
             answers: dict[str, str] | None = None) -> Registered:
    """Register `email` for `webinar` (and `slot` / auto `starts_at`) and commit.

    Creates the lead (role "lead", no password) when the email is new, then the registration
    with a fresh join token (only its hash is stored) and the client_webinar_registered event,
    all in one transaction. A registration that already exists for (webinar, lead, slot) is
    returned with created=False, no event, and no token unless `token_seed` (the registering
    browser's secret, see remember.token_seed) derives the stored one: the same browser
    submitting twice (a double click, a lost answer) is shown its link, nobody else is.
    The database's unique keys decide, so a concurrent double submit ends as one
    registration and one event.

    Refused: an email of a staff account (Invalid on the email field: a registration never
    borrows a team member's user row, its name and standing); a lead banned in any
    registration of this webinar (created=False, nothing written: the page says "already
    registered", which tells a stranger typing the address nothing about a ban).
    Raises Conflict when registration is closed and Invalid for unusable input.
    `timezone`: the browser's IANA zone for times in mails (an unknown one is stored as None).
    `language`: the page's language ("en" | "ru"), kept for the mails to this registrant.
    `answers`: the registration questions' answers, already checked (portal.registration.questions).
    Seats and approval (portal.registration.seats): a full start time raises `seats.Full`
    (nothing written); with manual approval the registration is `pending` and its event (so
    its confirmation mail) waits for `confirm()`; a waitlisted lead registering again takes a
    seat that has freed up.
    """
    if not is_open(webinar):
        raise Conflict("Registration for this webinar is closed.")
    if slot is not None and slot.webinar_id != webinar.webinar_id:
        raise Invalid("Unknown time slot.", details={"field": "slot_id"})
    name = inputs.clean_name(name)
    email = normalise_email(email)
    if not email or len(email) > inputs.EMAIL_MAX or "@" not in email:
        raise Invalid("Please enter a valid email address.", details={"field": "email"})
    source = inputs.clean_source(source)
    timezone = inputs.clean_timezone(timezone)
    webinar_id, webinar_type = webinar.webinar_id, webinar.type
    slot_id = slot.slot_id if slot is not None else None

    starts = _iso(choices.start_of(webinar, slot=slot, starts_at=starts_at))
    for attempt in range(ATTEMPTS):
        try:
            # Core statements, not the unit of work: this is the burst's hot path (SPEC §10).
            lead_id, role, existing_id, existing_hash, existing_state = _lead_and_registration(
                email, webinar_id, slot_id)
            if role is not None and role != Role.lead.value:
                log.info("registration webinar %s: refused, the email is a staff account's", webinar_id)
                raise Invalid(STAFF_EMAIL, details={"field": "email"})
            if existing_id is not None and existing_state == WAITLISTED:
                return _from_waitlist(webinar, existing_id, slot_id=slot_id, starts_at=starts_at, name=name,
                                      email=email, starts=starts, source=source, token_seed=token_seed,
                                      language=language, answers=answers)
            if existing_id is not None:
                log.info("registration %s webinar %s: repeated by its lead", existing_id, webinar_id)
                again = derived_token(token_seed, webinar_id, slot_id, email) if token_seed else None
                return Registered(existing_id, again if again and hash_token(again) == existing_hash else None, False)
            if lead_id is not None and (banned := db.session.scalar(
                    _BANNED, {"webinar_id": webinar_id, "lead_id": lead_id})) is not None:
                log.info("registration webinar %s: refused, lead %s is banned from it", webinar_id, lead_id)
                return Registered(banned, None, False)
            state = seats.admit(webinar, slot_id=slot_id, starts_at=starts_at)
            if lead_id is None:
                lead_id = db.session.execute(
                    _INSERT_LEAD, {"email": email, "display_name": name, "role": Role.lead.value}
                ).scalar_one()
            if token_seed:
                token = derived_token(token_seed, webinar_id, slot_id, email)
                token_hash = hash_token(token)
            else:
                token, token_hash = new_token()
            reg_id = db.session.execute(_INSERT_REGISTRATION, {
                "webinar_id": webinar_id, "lead_id": lead_id, "webinar_type": webinar_type, "slot_id": slot_id,
                "starts_at": starts_at, "source": source, "join_token_hash": token_hash, "timezone": timezone,
                "language": language, "state": state, "answers": answers or None,
            }).scalar_one()
            if state == CONFIRMED:
                _emit_registered(webinar, reg_id=reg_id, lead_id=lead_id, email=email, name=name, slot_id=slot_id,
                                 starts=starts, source=source, token=token, language=language)
            db.session.commit()
        except seats.Full:
            db.session.rollback()
            raise
        except IntegrityError:
            db.session.rollback()
            log.info("registration webinar %s: concurrent submit for the same lead (attempt %d)",
                     webinar_id, attempt + 1)
            continue
        log.info("registration %s webinar %s lead %s created (%s)", reg_id, webinar_id, lead_id, state)
        return Registered(reg_id, token, True, state)
    raise Conflict("We could not complete your registration. Please try again.")


def _lead_and_registration(email: str, webinar_id: int, slot_id: int | None
                           ) -> tuple[int | None, str | None, int | None, str | None, str | None]:
    """(user id, its role, id, token hash and state of its registration for this webinar and
    slot), in one query."""
    if slot_id is None:
        row = db.session.execute(_LOOKUP_NO_SLOT, {"email": email, "webinar_id": webinar_id}).first()
    else:
        row = db.session.execute(_LOOKUP_SLOT, {"email": email, "webinar_id": webinar_id, "slot_id": slot_id}).first()
    return (row[0], row[1], row[2], row[3], row[4]) if row is not None else (None, None, None, None, None)


def _emit_registered(webinar: Webinar, *, reg_id: int, lead_id: int, email: str, name: str, slot_id: int | None,
                     starts: str | None, source: str, token: str, language: str | None) -> None:
    """`client_webinar_registered`: a registration that opens the room (new, approved, or off
    the waiting list). The join token goes to in-transaction receivers only (the confirmation
    mail), never to the outbox."""
    events.emit(
        "client_webinar_registered",
        webinar_id=webinar.webinar_id,
        lead_id=lead_id,
        data={"registration_id": reg_id, "email": email, "name": name, "slot_id": slot_id,
              "starts_at": starts, "source": source, "webinar_type": webinar.type},
        private={"join_token": token, "language": language},
    )


def _from_waitlist(webinar: Webinar, reg_id: int, *, slot_id: int | None, starts_at: datetime | None, name: str,
                   email: str, starts: str | None, source: str, token_seed: bytes | None, language: str | None,
                   answers: dict[str, str] | None) -> Registered:
    """A waitlisted lead registers again: a seat if one is free now (seats.Full if not)."""
    try:
        state = seats.admit(webinar, slot_id=slot_id, starts_at=starts_at)
    except seats.Full:
        db.session.rollback()
        raise
    reg = db.session.get(Registration, reg_id)
    token = derived_token(token_seed, webinar.webinar_id, slot_id, email) if token_seed else new_token()[0]
    reg.join_token_hash = hash_token(token)
    reg.state, reg.starts_at, reg.source, reg.language = state, starts_at, source, language
    reg.answers = answers or reg.answers
    if state == CONFIRMED:
        _emit_registered(webinar, reg_id=reg_id, lead_id=reg.lead_id, email=email, name=name, slot_id=slot_id,
                         starts=starts, source=source, token=token, language=language)
    db.session.commit()
    log.info("registration %s webinar %s: off the waiting list (%s)", reg_id, webinar.webinar_id, state)
    return Registered(reg_id, token, True, state)


def confirm(reg: Registration) -> str:
    """The organizer approved a pending registration: a fresh join token (the one made at
    registration was never shown) and its `client_webinar_registered`, so the confirmation
    mail and reminders are queued now. In the caller's transaction; returns the token."""
    token = rotate(reg)
    reg.state = CONFIRMED
    lead = reg.lead
    starts = _iso(choices.start_of(reg.webinar, slot=reg.slot, starts_at=reg.starts_at))
    _emit_registered(reg.webinar, reg_id=reg.registration_id, lead_id=reg.lead_id, email=lead.email,
                     name=lead.display_name, slot_id=reg.slot_id, starts=starts, source=reg.source, token=token,
                     language=reg.language)
    return token


def join_waitlist(webinar: Webinar, *, name: str, email: str, slot: WebinarSlot | None = None,
                  starts_at: datetime | None = None, language: str | None = None,
                  timezone: str | None = None) -> bool:
    """"Email me if a seat frees up": a waitlisted registration (no link, no event) for this
    start time, committed. False when the lead already holds a registration of it."""
    if not is_open(webinar):
        raise Conflict("Registration for this webinar is closed.")
    name = inputs.clean_name(name)
    email = normalise_email(email)
    if not email or len(email) > inputs.EMAIL_MAX or "@" not in email:
        raise Invalid("Please enter a valid email address.", details={"field": "email"})
    slot_id = slot.slot_id if slot is not None else None
    lead_id, role, existing_id, _, _ = _lead_and_registration(email, webinar.webinar_id, slot_id)
    if role is not None and role != Role.lead.value:
        raise Invalid(STAFF_EMAIL, details={"field": "email"})
    if existing_id is not None:
        return False
    if lead_id is None:
        lead_id = db.session.execute(
            _INSERT_LEAD, {"email": email, "display_name": name, "role": Role.lead.value}).scalar_one()
    db.session.execute(_INSERT_REGISTRATION, {
        "webinar_id": webinar.webinar_id, "lead_id": lead_id, "webinar_type": webinar.type, "slot_id": slot_id,
        "starts_at": starts_at, "source": "", "join_token_hash": new_token()[1], "timezone": inputs.clean_timezone(
            timezone), "language": language, "state": WAITLISTED, "answers": None,
    })
    db.session.commit()
    log.info("webinar %s: lead %s on the waiting list", webinar.webinar_id, lead_id)
    return True


def _iso(moment: datetime | None) -> str | None:
    return timefmt.iso_utc(moment)


def registration_for(webinar: Webinar, token: str | None) -> Registration | None:
    """The usable registration of `webinar` that `token` opens, or None."""
    reg = find_registration(token) if token else None
    return reg if reg is not None and reg.webinar_id == webinar.webinar_id else None


def refuse_unpublish_with_registrations(webinar: Webinar, *, from_status: str, to_status: str, **_: object) -> None:
    """Core asks before scheduled -> draft: a webinar people registered for stays published."""
    if from_status == Status.scheduled.value and to_status == Status.draft.value and db.session.scalar(
            select(exists().where(Registration.webinar_id == webinar.webinar_id))):
        raise Conflict("The webinar has registrations, so it cannot go back to draft.")
