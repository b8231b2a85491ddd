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
from portal.registration import choices, inputs
from portal.registration.models import Registration
from portal.registration.tokens import derived_token, find_registration, hash_token, new_token

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
    return (select(_users.c.user_id, _users.c.role, _regs.c.registration_id, _regs.c.join_token_hash)
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

    def __init__(self, registration_id: int, token: str | None, created: bool) -> None:
        self.registration_id, self.token, self.created = registration_id, token, created

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
             timezone: str | None = None, language: str | None = None) -> Registered:
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
            lead_id, role, existing_id, existing_hash = _lead_and_registration(email, webinar_id, slot_id)
            if role is not None and role != Role.lead.value:
                log.info("registration webinar %s: refused, the email is a staff account's", webinar_id)
                raise Invalid(STAFF_EMAIL, details={"field": "email"})
            if existing_id is not None:
                log.info("registration %s webinar %s: repeated by its lead", existing_id, webinar_id)
                again = derived_token(token_seed, webinar_id, slot_id, email) if token_seed else None
                return Registered(existing_id, again if again and hash_token(again) == existing_hash else None, False)
            if lead_id is not None and (banned := db.session.scalar(
                    _BANNED, {"webinar_id": webinar_id, "lead_id": lead_id})) is not None:
                log.info("registration webinar %s: refused, lead %s is banned from it", webinar_id, lead_id)
                return Registered(banned, None, False)
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
                "language": language,
            }).scalar_one()
            events.emit(
                "client_webinar_registered",
                webinar_id=webinar_id,
                lead_id=lead_id,
                data={"registration_id": reg_id, "email": email, "name": name, "slot_id": slot_id,
                      "starts_at": starts, "source": source, "webinar_type": webinar_type},
                # for in-transaction receivers only (the confirmation mail), never in the outbox
                private={"join_token": token, "language": language},
            )
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            log.info("registration webinar %s: concurrent submit for the same lead (attempt %d)",
                     webinar_id, attempt + 1)
            continue
        log.info("registration %s webinar %s lead %s created", reg_id, webinar_id, lead_id)
        return Registered(reg_id, token, True)
    raise Conflict("We could not complete your registration. Please try again.")


def _lead_and_registration(email: str, webinar_id: int, slot_id: int | None
                           ) -> tuple[int | None, str | None, int | None, str | None]:
    """(user id, its role, id and token hash of its registration for this webinar and slot),
    in one query."""
    if slot_id is None:
        row = db.session.execute(_LOOKUP_NO_SLOT, {"email": email, "webinar_id": webinar_id}).first()
    else:
        row = db.session.execute(_LOOKUP_SLOT, {"email": email, "webinar_id": webinar_id, "slot_id": slot_id}).first()
    return (row[0], row[1], row[2], row[3]) if row is not None else (None, None, None, None)


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
