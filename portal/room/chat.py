"""Internal chat (stream_type obs): validation, rate limit, shadow-mute, storage, push.

- The body is cleaned (NFC; control, format/zero-width and surrogate characters removed;
  line breaks become spaces; trimmed) and must then hold 1..MAX_LENGTH characters; longer
  text is refused, never cut. HTML is stored as typed and escaped when rendered.
- Attendees may post MAX_PER_WINDOW messages per WINDOW seconds; the next one is refused
  with a RateLimited error that the room shows next to the form.
- A shadow-muted attendee's messages are stored as `shadowed`: nobody else sees them, the
  author does (the socket that posted gets the fragment back; their page and snapshots
  include their own shadowed messages), so muting does not invite evasion.
- External chats (zoom, telegram) store nothing: posting is refused.
- The page names each message with a client id before sending it; a post whose (webinar,
  author, client id) is already stored answers the stored message (a retry over HTTP after
  the socket died is stored once).
- Host messages exist only through `post_as_staff` (the console): `posted_as_host` is what
  styles them and exempts them from moderation, never the author's role. A registration
  whose lead is a staff account (made before such registrations were refused) may not post.
"""
from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.core import runs
from portal.core.models import Status, User, Webinar, WebinarType
from portal.core.permissions import Action, can, require
from portal.db_types import utcnow
from portal.errors import N_, Conflict, Forbidden, Invalid
from portal.extensions import db
from portal.ratelimit import limiter
from portal.registration.models import Registration
from portal.room import cohorts
from portal.room.models import ChatMessage
from portal.signals import after_commit, message_stored

log = logging.getLogger(__name__)

MAX_LENGTH = 1000
MAX_PER_WINDOW = 5
WINDOW = 10
HISTORY = 100  # messages a page starts with
CLIENT_ID_MAX = 64
_DROP_CATEGORIES = {"Cc", "Cf", "Cs"}
_SPACES = {"\n", "\r", "\t", "\u2028", "\u2029", "\x0b", "\x0c", "\x85"}


def clean(body: object) -> str:
    """The message text as it will be stored: see the module docstring."""
    if not isinstance(body, str):
        return ""
    text = unicodedata.normalize("NFC", body)
    kept = []
    for ch in text:
        if ch in _SPACES:
            kept.append(" ")
        elif unicodedata.category(ch) not in _DROP_CATEGORIES:
            kept.append(ch)
    return "".join(kept).strip()


def validate(body: object) -> str:
    """The cleaned text, or Invalid with a message the author can act on."""
    if isinstance(body, str) and len(body) > MAX_LENGTH * 8:
        raise Invalid("Messages are limited to %(n)s characters.", n=f"{MAX_LENGTH:,}")
    text = clean(body)
    if not text:
        raise Invalid("Type a message first.")
    if len(text) > MAX_LENGTH:
        raise Invalid("Messages are limited to %(n)s characters.", n=f"{MAX_LENGTH:,}")
    return text


def chat_state(webinar: Webinar, *, now=None, starts_at: datetime | None = None) -> str:
    """'open', 'not_yet' (before the lobby opens), 'closed' or 'external' — for the viewers of
    `starts_at` (their run and their lobby; default the main start time)."""
    if not webinar.has_internal_chat:
        return "external"
    return room_phase(webinar, now=now, starts_at=starts_at)


def room_phase(webinar: Webinar, *, now=None, starts_at: datetime | None = None) -> str:
    """'open' (live, paused, or a live webinar's lobby), 'not_yet' (before the lobby) or 'closed'
    — for the viewers of `starts_at` (default the main start time)."""
    now = now or utcnow()
    starts_at = starts_at or webinar.scheduled_at
    status = runs.status_for(webinar, starts_at)
    if status in (Status.live.value, Status.paused.value):
        return "open"
    if status == Status.scheduled.value and webinar.type == WebinarType.live.value:
        opens = lobby_opens_at(webinar, starts_at)
        return "open" if opens is None or now >= opens else "not_yet"
    return "closed"


def lobby_opens_at(webinar: Webinar, starts_at: datetime | None = None) -> datetime | None:
    """When the chat lobby opens before a live start (None: no start time known)."""
    starts_at = starts_at or webinar.scheduled_at
    if starts_at is None:
        return None
    return starts_at - timedelta(minutes=webinar.chat_lobby_minutes or 0)


def client_id_of(value: object) -> str | None:
    """The page's id of a message (letters, digits, '-', '_'; at most 64), or None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > CLIENT_ID_MAX \
            or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in value):
        raise Invalid("This message could not be read.")
    return value


def post(reg: Registration, body: object, *, client_id: str | None = None) -> ChatMessage:
    """An attendee's message: checked, rate limited, stored (shadowed when muted), committed.

    With a `client_id` already stored for this author in this webinar, the stored message is
    returned and nothing is written (a retry).
    """
    webinar = reg.webinar
    require_access(reg)
    if client_id is not None and (stored := _by_client_id(reg, client_id)) is not None:
        return stored
    require_writer(reg, Action.CHAT)
    cohort = cohorts.of(reg)
    _require_open(webinar, starts_at=cohort.starts_at)
    text = validate(body)
    rate_limit(reg, "chat")
    status = stored_status(reg)
    try:
        return _store(webinar, author_id=reg.lead_id, text=text, status=status, client_id=client_id,
                      session_id=cohort.session_id)
    except IntegrityError:  # the same message, posted concurrently (socket and HTTP): stored once
        db.session.rollback()
        stored = _by_client_id(reg, client_id) if client_id is not None else None
        if stored is None:
            raise
        return stored


# The room's rules for anything an attendee writes (chat messages here, questions in portal.qa).

def require_access(reg: Registration) -> None:
    """A revoked, cancelled or banned link writes nothing."""
    if not reg.has_access:
        raise Forbidden("You can no longer take part in this webinar.")


def require_writer(reg: Registration, action: Action) -> None:
    """The attendee may `action` in this webinar, through a join link that is not a staff account's."""
    require_access(reg)
    require(reg, action, reg.webinar)
    if reg.lead is not None and reg.lead.is_staff:
        raise Forbidden("Team members post from the speaker console, not through a join link.")


def rate_limit(reg: Registration, scope: str) -> None:
    """MAX_PER_WINDOW posts per WINDOW seconds per attendee and `scope` ("chat", "qa")."""
    limiter().hit(f"{scope}:{reg.webinar_id}:{reg.lead_id}", limit=MAX_PER_WINDOW, window=WINDOW,
                  message=N_("You are sending messages too fast. Wait a few seconds and try again."))


def stored_status(reg: Registration) -> str:
    """How a new post of this attendee is stored: `shadowed` while they are muted."""
    return "shadowed" if reg.chat_muted_at is not None else "visible"


def _by_client_id(reg: Registration, client_id: str) -> ChatMessage | None:
    return db.session.scalar(select(ChatMessage).where(
        ChatMessage.webinar_id == reg.webinar_id, ChatMessage.author_id == reg.lead_id,
        ChatMessage.client_id == client_id))


def post_as_staff(user: User, webinar: Webinar, body: object, *, session_id: str | None = None) -> ChatMessage:
    """A speaker's or organizer's message from the console, to the cohort it watches
    (`session_id`; default the live main start time's run)."""
    require(user, Action.MODERATE, webinar)
    if not webinar.has_internal_chat:
        raise Conflict("This webinar uses an external chat.")
    if webinar.status == Status.archived.value:
        raise Conflict("The chat is closed.")
    text = validate(body)
    limiter().hit(f"chat:{webinar.webinar_id}:staff:{user.user_id}", limit=MAX_PER_WINDOW * 4,
                  window=WINDOW, message=N_("You are sending messages too fast. Wait a few seconds and try again."))
    if session_id is None and runs.has_runs(webinar):
        session_id = runs.run_session_id(webinar.webinar_id, None)
    return _store(webinar, author_id=user.user_id, text=text, status="visible", as_host=True, session_id=session_id)


def messages_for(webinar_id: int, *, viewer_lead_id: int | None, after_id: int = 0,
                 limit: int = HISTORY, staff: bool = False, session_id: str | None = None) -> list[ChatMessage]:
    """Messages a viewer may see, oldest first: the last `limit` after `after_id` (a page's
    start), of one cohort when `session_id` is given."""
    query = _seen_by(select(ChatMessage).options(selectinload(ChatMessage.author)).where(
        ChatMessage.webinar_id == webinar_id, ChatMessage.message_id > after_id
    ), viewer_lead_id=viewer_lead_id, staff=staff, session_id=session_id)
    rows = db.session.scalars(query.order_by(ChatMessage.message_id.desc()).limit(limit)).all()
    return list(reversed(rows))


def messages_by_id(webinar_id: int, ids: list[int], *, staff: bool = False) -> list[ChatMessage]:
    """The messages among `ids` that every viewer of the room (or, `staff`, of the console) may
    see now, in id order: one coalesced push (portal.room.batching)."""
    if not ids:
        return []
    query = _seen_by(select(ChatMessage).options(selectinload(ChatMessage.author)).where(
        ChatMessage.webinar_id == webinar_id, ChatMessage.message_id.in_(ids)
    ), viewer_lead_id=None, staff=staff)
    return list(db.session.scalars(query.order_by(ChatMessage.message_id)))


CATCHUP_CHUNK = 200  # messages per query of a catch-up
COMMIT_WINDOW = timedelta(seconds=10)  # PostgreSQL: how late a message may commit after its id


def messages_after(webinar_id: int, *, viewer_lead_id: int | None, after_id: int = 0, staff: bool = False,
                   chunk: int = CATCHUP_CHUNK, session_id: str | None = None) -> Iterator[list[ChatMessage]]:
    """Catch-up: every message a viewer may see after `after_id`, oldest first, `chunk` rows
    per query (keyset pages by id), however many there are.

    On PostgreSQL an id is taken at insert and the row becomes visible at commit, so a message
    can commit after a later id was already read: a page that saw id 11 would skip id 10 if it
    committed later. So there (not on SQLite, whose single writer commits in id order) the
    catch-up also re-reads the messages at or below `after_id` written in the last
    COMMIT_WINDOW; the page merges by id, so those it has show once.
    """
    overlap_from = None
    if after_id and db.session.get_bind().dialect.name != "sqlite":
        overlap_from = utcnow() - COMMIT_WINDOW
    cursor = 0 if overlap_from is not None else after_id
    while True:
        query = _seen_by(select(ChatMessage).options(selectinload(ChatMessage.author)).where(
            ChatMessage.webinar_id == webinar_id, ChatMessage.message_id > cursor
        ), viewer_lead_id=viewer_lead_id, staff=staff, session_id=session_id)
        if overlap_from is not None:
            query = query.where(or_(ChatMessage.message_id > after_id, ChatMessage.created_at >= overlap_from))
        rows = list(db.session.scalars(query.order_by(ChatMessage.message_id).limit(chunk)))
        if rows:
            yield rows
        if len(rows) < chunk:
            return
        cursor = rows[-1].message_id


def _seen_by(query: Select[tuple[ChatMessage]], *, viewer_lead_id: int | None,
             staff: bool, session_id: str | None = None) -> Select[tuple[ChatMessage]]:
    """Only what the viewer may see: their cohort's messages (and those stored before cohorts,
    without a session), staff everything, others the visible messages and their own shadowed
    ones."""
    if session_id is not None:
        query = query.where(or_(ChatMessage.session_id == session_id, ChatMessage.session_id.is_(None)))
    if staff:
        return query
    visible = ChatMessage.moderation_status == "visible"
    if viewer_lead_id is not None:
        visible = or_(visible, (ChatMessage.moderation_status == "shadowed")
                      & (ChatMessage.author_id == viewer_lead_id))
    return query.where(visible)


def hidden_ids(webinar_id: int, *, up_to: int, window: int = HISTORY * 2) -> list[int]:
    """Hidden messages among the recent ones a page may still show (for catch-up removal)."""
    return list(db.session.scalars(
        select(ChatMessage.message_id).where(
            ChatMessage.webinar_id == webinar_id,
            ChatMessage.message_id <= up_to,
            ChatMessage.moderation_status == "hidden",
        ).order_by(ChatMessage.message_id.desc()).limit(window)
    ))


def is_staff_author(message: ChatMessage) -> bool:
    """A host message (posted from the console), whoever its author's account is now."""
    return bool(message.posted_as_host)


def can_chat(reg: Registration, webinar: Webinar) -> bool:
    return can(reg, Action.CHAT, webinar) and chat_state(webinar, starts_at=cohorts.of(reg).starts_at) == "open"


def _require_open(webinar: Webinar, *, starts_at: datetime | None = None) -> None:
    state = chat_state(webinar, starts_at=starts_at)
    if state == "external":
        raise Conflict("This webinar uses an external chat.")
    if state == "not_yet":
        raise Conflict("The chat opens %(n)s minutes before the start.", n=webinar.chat_lobby_minutes)
    if state == "closed":
        raise Conflict("The chat is closed.")


def _store(webinar: Webinar, *, author_id: int, text: str, status: str, as_host: bool = False,
           client_id: str | None = None, session_id: str | None = None) -> ChatMessage:
    message = ChatMessage(webinar_id=webinar.webinar_id, author_id=author_id, message_body=text,
                          moderation_status=status, created_at=utcnow(), posted_as_host=as_host,
                          client_id=client_id, session_id=session_id)
    db.session.add(message)
    db.session.flush()
    after_commit(message_stored, message.message_id, webinar_id=webinar.webinar_id)
    db.session.commit()
    log.info("chat message %s in webinar %s by %s (%s)", message.message_id, webinar.webinar_id,
             author_id, status)
    return message
