"""SocketContext: what a socket message handler knows about the socket it serves."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from portal.extensions import db
from portal.realtime.admission import Admission

M = TypeVar("M")


def _gone(html: str) -> None:
    """Sending to a closed socket does nothing."""


class SocketContext:
    """One open socket: its admission (ids fixed at connect time) and models loaded lazily
    and afresh for each frame.

    A socket lives for hours while database sessions must not, so the connection drops its
    session after every frame; `load()` re-reads a row (one primary key lookup, only if a
    handler asks) so a ban or mute made since is seen.
    """

    __slots__ = ("admission", "connection_id", "_send", "_close", "_loaded")

    def __init__(self, admission: Admission, *, connection_id: str, send: Callable[[str], None],
                 close: Callable[[int, str], None] | None = None) -> None:
        self.admission = admission
        self.connection_id = connection_id
        self._send = send
        self._close = close
        self._loaded: dict[tuple[type, int], Any] | None = None

    @property
    def audience(self) -> str:
        return self.admission.audience

    @property
    def channel(self) -> str:
        return self.admission.channel

    def id(self, name: str) -> int | None:
        """One of the ids the domain's admission fixed (e.g. "registration_id")."""
        return self.admission.ids.get(name)

    def load(self, model: type[M], pk: int | None) -> M | None:
        """The row `pk` of `model` as of this frame (cached until `forget()`)."""
        if pk is None:
            return None
        if self._loaded is None:
            self._loaded = {}
        key = (model, pk)
        if key not in self._loaded:
            self._loaded[key] = db.session.get(model, pk)
        return self._loaded[key]

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

    def __repr__(self) -> str:
        return f"<SocketContext {self.audience} {self.channel} member={self.admission.member} " \
               f"conn={self.connection_id[:8]}>"
