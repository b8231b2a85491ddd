"""SocketContext: what a socket message handler knows about the socket it serves."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from portal.extensions import db

if TYPE_CHECKING:
    from portal.core.models import User, Webinar
    from portal.registration.models import Registration


def _gone(html: str) -> None:
    """Sending to a closed socket does nothing."""


class SocketContext:
    """One open socket: ids fixed at connect time, models loaded lazily and afresh for each frame.

    A socket lives for hours while database sessions must not, so the connection drops its
    session after every frame; `registration`, `user` and `webinar` are re-read (one primary
    key lookup, only if a handler touches them) so a ban or mute made since is seen.
    """

    __slots__ = ("audience", "webinar_id", "connection_id", "channel", "registration_id", "lead_id",
                 "user_id", "_send", "_close", "_loaded")

    def __init__(self, *, audience: str, webinar_id: int, connection_id: str, channel: str,
                 send: Callable[[str], None], close: Callable[[int, str], None] | None = None,
                 registration_id: int | None = None, lead_id: int | None = None,
                 user_id: int | None = None) -> None:
        self.audience = audience  # "room" (attendee) or "console" (staff)
        self.webinar_id = webinar_id
        self.connection_id = connection_id
        self.channel = channel
        self.registration_id = registration_id
        self.lead_id = lead_id
        self.user_id = user_id
        self._send = send
        self._close = close
        self._loaded: dict[str, Any] | None = None

    @property
    def registration(self) -> Registration | None:
        """The attendee's registration (room sockets), or None on a console socket."""
        if self.registration_id is None:
            return None
        from portal.registration.models import Registration

        return self._load("registration", Registration, self.registration_id)

    @property
    def user(self) -> User | None:
        """The staff user (console sockets), or None on an attendee socket."""
        if self.user_id is None:
            return None
        from portal.core.models import User

        return self._load("user", User, self.user_id)

    @property
    def webinar(self) -> Webinar:
        from portal.core.models import Webinar

        return self._load("webinar", Webinar, self.webinar_id)

    @property
    def actor(self) -> Registration | User | None:
        """The permission actor of this socket (portal.core.permissions)."""
        return self.registration if self.registration_id is not None else self.user

    def send(self, html: str) -> None:
        """Answer this socket only (an oob fragment), through its writer."""
        self._send(html)

    def close(self, reason: str) -> None:
        """End this socket with a reason the client sees (code 1008: the page will not reconnect)."""
        if self._close is not None:
            self._close(1008, reason)

    def unlink(self) -> None:
        """The socket is gone: drop loaded models and the callbacks into the connection."""
        self._loaded = None
        self._send = _gone
        self._close = None

    def forget(self) -> None:
        """Drop the models loaded for the previous frame (their session is gone)."""
        self._loaded = None

    def _load(self, key: str, model: type, pk: int) -> Any:
        if self._loaded is None:
            self._loaded = {}
        if key not in self._loaded:
            self._loaded[key] = db.session.get(model, pk)
        return self._loaded[key]

    def __repr__(self) -> str:
        who = f"reg={self.registration_id}" if self.registration_id is not None else f"user={self.user_id}"
        return f"<SocketContext {self.audience} webinar={self.webinar_id} {who} conn={self.connection_id[:8]}>"
