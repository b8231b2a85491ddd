"""Rendering a ledger row into an RFC 5322 message (standard library `email`).

HTML with a plain-text alternative from templates/mail/<kind>.{html,txt}, in the recipient's
language and time zone (the registration's; the webinar's zone as a fallback); the calendar
part (icalendar, METHOD:REQUEST / CANCEL) both inline (text/calendar; method=...) and as an
.ics attachment. Header values are built with email.headerregistry: a CR or LF in a name or a
subject is folded into a space, never a new header.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import cached_property
from typing import Any

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from portal import timefmt
from portal.core.models import Webinar
from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import kinds, sealed
from portal.mail.ledger import TOKEN_KEY
from portal.mail.models import MailMessage
from portal.registration import calendar, choices
from portal.registration.models import Registration

UNSUBSCRIBE = "portal.mail.unsubscribe"
_BREAKS = re.compile(r"[\r\n\x00\u2028\u2029\x85]+")


class Refused(ValueError):
    """The message cannot be built for this recipient (bad address): failed, never retried."""


def register_unsubscribe(app: Flask, url_for_registration: Callable[[Registration, str], str | None]) -> None:
    """The reminders' one-click unsubscribe URL builder (RFC 8058), per app."""
    app.extensions[UNSUBSCRIBE] = url_for_registration


def one_line(value: str) -> str:
    """A header value on one line: CR, LF (and other line breaks) become a space."""
    return _BREAKS.sub(" ", value or "").strip()


def address(name: str, addr: str) -> Address:
    addr = (addr or "").strip()
    if _BREAKS.search(addr) or addr.count("@") != 1:
        raise Refused(f"refused address {addr!r}")
    local, domain = addr.split("@")
    if not local or not domain or any(c in addr for c in ' <>(),;:"[]\\'):
        raise Refused(f"refused address {addr!r}")
    try:
        return Address(display_name=one_line(name)[:200], username=local, domain=domain)
    except (ValueError, IndexError) as error:
        raise Refused(f"refused address {addr!r}: {error}") from None


def sender_address() -> Address:
    name, addr = parseaddr(current_app.config.get("MAIL_FROM") or "")
    return address(name, addr)


def entry_for(webinar: Webinar, reg: Registration, join_url: str | None, base: str) -> calendar.Entry:
    """The registration's calendar entry (same UID as the .ics download)."""
    from urllib.parse import urlsplit

    start = choices.start_of(webinar, slot=reg.slot, starts_at=reg.starts_at) or reg.registered_at
    minutes = (webinar.recording_duration_sec or 0) // 60 + 1 if webinar.type == "auto" else webinar.duration_minutes
    link = join_url or f"{base}/w/{webinar.slug}"
    description = _("Your personal join link (do not share it): %(link)s", link=link) if join_url else link
    return calendar.Entry(
        uid=calendar.uid_for(reg.registration_id, urlsplit(base).hostname or "localhost"),
        sequence=webinar.calendar_sequence or 0, start=start, end=calendar.end_of(start, minutes=minutes),
        title=webinar.title, description=description, url=link)


#: What the log copy (`raw`, read at /admin/mail) shows instead of the join token.
HIDDEN_TOKEN = "hidden-join-token"


class Rendered:
    """A message to send, and its copy for the log with the join token hidden — each built
    when first asked for (the sender without SMTP keeps only the log copy; issue 14: the two
    builds were a quarter of the worker's CPU in the registration burst)."""

    def __init__(self, subject: str, build: Callable[[str], EmailMessage], token: str | None) -> None:
        self.subject = subject
        self._build, self._token = build, token

    @cached_property
    def message(self) -> EmailMessage:
        return self._build(self._token or "")

    @cached_property
    def logged(self) -> EmailMessage:
        return self._build(HIDDEN_TOKEN) if self._token else self.message


def render(row: MailMessage) -> Rendered:
    """The whole message for `row` (deterministic from the row, its registration and webinar),
    rendered once: the templates see a placeholder where the token goes, filled in with the
    token for the message sent and with HIDDEN_TOKEN for the log copy."""
    kind = kinds.get(row.kind)
    reg = db.session.get(Registration, row.registration_id)
    if reg is None:
        raise Refused("the registration no longer exists")
    webinar = reg.webinar
    ctx: dict[str, Any] = dict(row.context or {})
    base = str(ctx.get("base_url") or "http://localhost").rstrip("/")
    token = sealed.unseal(ctx.pop(TOKEN_KEY, None)) or ctx.pop("join_token", None)  # rows queued before sealing
    placeholder = f"JOINTOKEN{secrets.token_hex(12)}"  # letters and digits: no escaping changes it
    join_url = f"{base}/room/{placeholder}" if token else None
    zone_name = getattr(reg, "timezone", None) or webinar.timezone or "UTC"
    unsubscribe = None
    if kind.reminder and (builder := current_app.extensions.get(UNSUBSCRIBE)) is not None:
        unsubscribe = builder(reg, base)
    with force_locale(row.language or "en"):
        entry = entry_for(webinar, reg, join_url, base)
        values = {
            "webinar": webinar, "reg": reg, "name": row.recipient_name, "join_url": join_url,
            "starts_at": entry.start, "starts": timefmt.event_time(entry.start, zone_name, locale=row.language),
            "zone": zone_name, "google_url": calendar.google_link(entry),
            "ics_url": f"{base}/w/{webinar.slug}/calendar.ics",
            "recovery_url": f"{base}/w/{webinar.slug}#link-recovery", "unsubscribe_url": unsubscribe,
            "kind": kind.name, "ctx": ctx, "base_url": base, "language": row.language,
        }
        subject = one_line(_(kind.subject, title=webinar.title))[:300]
        values["subject"] = subject
        text = render_template(f"mail/{kind.name}.txt", **values)
        html = render_template(f"mail/{kind.name}.html", **values)
    sender = sender_address()
    recipient = address(row.recipient_name, row.recipient)
    created = row.created_at or utcnow()
    fixed = [("From", sender), ("To", recipient), ("Subject", subject), ("Date", format_datetime(created)),
             ("Message-ID", f"<mail-{row.message_id}-{int(created.timestamp())}@{sender.domain}>"),
             ("Auto-Submitted", "auto-generated")]
    if unsubscribe:
        fixed += [("List-Unsubscribe", f"<{unsubscribe}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")]
    parsed: list[Any] = []  # the header objects of the first copy: the second reuses them unparsed

    def build(filled: str) -> EmailMessage:
        msg = EmailMessage(policy=SMTP)
        if parsed:  # the policy takes a header object of the same name as it is (no parsing again)
            for header in parsed:
                msg[header.name] = header
        else:
            for name, value in fixed:
                msg[name] = value
            parsed.extend(msg[name] for name, _ in fixed)
        msg.set_content(text.replace(placeholder, filled))
        msg.add_alternative(html.replace(placeholder, filled), subtype="html")
        if kind.calendar is not None:
            link = join_url.replace(placeholder, filled) if join_url else None
            with force_locale(row.language or "en"):
                event = entry_for(webinar, reg, link, base)  # built per copy: .ics lines are folded
            if kind.calendar == calendar.CANCEL:
                event = calendar.Entry(**{**event.__dict__, "sequence": event.sequence + 1})
            body = calendar.ics(event, stamp=created, method=kind.calendar,
                                organizer=(sender.display_name, sender.addr_spec),
                                attendee=(one_line(row.recipient_name), row.recipient))
            # Inline for mail clients that show invitations, attached for everyone else.
            msg.add_alternative(body, subtype="calendar", params={"method": kind.calendar})
            msg.add_attachment(body.encode("utf-8"), maintype="application", subtype="ics",
                               filename=f"{webinar.slug}.ics")
        return msg

    return Rendered(subject, build, str(token) if token else None)
