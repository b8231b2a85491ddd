"""One accepted socket: its writer, its context, its read loop and its goodbye."""
from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable
from typing import Any

from flask import current_app, render_template
from flask_babel import gettext as _
from simple_websocket import ConnectionClosed

from portal.errors import PortalError, refusal_shown
from portal.extensions import db
from portal.realtime import concurrency, frames, inbound
from portal.realtime.admission import Admission
from portal.realtime.context import SocketContext
from portal.realtime.hub import Hub
from portal.realtime.reader import FrameReader
from portal.realtime.runtime import Realtime
from portal.realtime.writer import SocketWriter

log = logging.getLogger(__name__)

# Why a socket ended, as the transport sees it; a reason asked for by `close()` (a ban) wins.
LEFT, DISCONNECTED, TIMEOUT, SERVER_RESTART = "left", "disconnected", "timeout", "server_restart"
OnOpen = Callable[[SocketContext], None]
OnClose = Callable[[SocketContext, str], None]

CLOSE_GRACE = 2.0  # seconds a client has to answer our close frame
MISSED_PONGS = 2  # ping rounds a socket may leave unanswered before it is closed
FRAME_BUDGET = 60  # frames per socket ...
FRAME_WINDOW = 10.0  # ... per this many seconds; more is a flood and closes the socket
MAX_INVALID_FRAMES = 10  # refused frames tolerated before the socket is closed for abuse


class Connection:
    """A socket in the hub: `offer` for broadcasts, `ctx` for handlers, `close` for refusals."""

    __slots__ = ("ws", "sock", "admission", "id", "member", "naive", "writer", "offer", "ctx", "reader",
                 "requested_reason", "budget", "invalid", "_cutter", "_realtime")

    def __init__(self, ws: Any, admission: Admission, *, realtime: Realtime,
                 on_pong: Callable[[], None] | None = None) -> None:
        config = current_app.config
        self.sock = ws.sock
        self.admission = admission
        self.id = uuid.uuid4().hex
        self.member = admission.member
        self._realtime = realtime
        self.naive = config["REALTIME_FANOUT"] == "naive"
        self.writer = SocketWriter(ws.sock, max_pending=config["REALTIME_QUEUE_FRAMES"],
                                   write_timeout=config["REALTIME_WRITE_TIMEOUT"], on_closed=self._closed)
        self.offer = self.writer.offer
        self.reader = FrameReader(ws.sock, ws.ws.connection, self.writer,
                                  max_bytes=config["REALTIME_MAX_MESSAGE_BYTES"], on_pong=on_pong)
        # Only the naive baseline sends through simple-websocket; otherwise the reader and the
        # writer are all a socket needs, and the handshake's objects (wsproto's WSConnection
        # with its h11 handshake state) are let go at once (~4 KB per idle socket).
        self.ws: Any = ws if self.naive else None
        if not self.naive:
            _release_handshake(ws)
        self.ctx = SocketContext(admission, connection_id=self.id, send=self.send_html, close=self.close)
        self.requested_reason: str | None = None
        self.budget: inbound.Budget | None = None
        self.invalid = 0
        self._cutter: _Cutter | None = None

    # -- output ----------------------------------------------------------------------------
    def send_html(self, html: str) -> None:
        """Answer this socket only (encoded for it alone: replies are not broadcasts)."""
        if self.naive:
            self.send_text(html)
        else:
            self.writer.offer(frames.text_frame(html.encode("utf-8")))

    def send_text(self, html: str) -> None:
        """The naive baseline: simple-websocket encodes and sends for this socket alone."""
        try:
            self.ws.send(html)
        except (ConnectionClosed, OSError):
            pass

    def close(self, code: int, reason: str) -> None:
        """Close with a reason the client sees (a ban, a flood); the read loop then ends."""
        if self.requested_reason is None:
            self.requested_reason = reason
        self.writer.close(code, reason)

    def ping(self, *, judge: bool = True) -> None:
        """The pinger's round: a ping, or the end of a socket that ignored the last ones."""
        reader = self.reader
        if not reader.awaiting_pong:
            reader.awaiting_pong = True
            self.writer.offer_control(frames.PING)
            return
        if judge:
            reader.missed_pongs += 1
        if reader.missed_pongs >= MISSED_PONGS:
            reader.timed_out = True
            # 1013: the page reconnects (and catches up) if it is alive after all.
            self.writer.close(frames.TRY_AGAIN_LATER, "ping timeout")

    def _closed(self, reason: str) -> None:
        # Our close frame is out (or the socket failed). The client normally answers at once,
        # which ends the read loop; one that does not is cut after a grace period.
        if self._cutter is None:
            self._cutter = _Cutter(self.sock)
            concurrency.later(CLOSE_GRACE, self._cutter.cut)

    # -- input -----------------------------------------------------------------------------
    def handle(self, data: str | bytes) -> None:
        """One frame up: refuse it with an error fragment, or run its handler."""
        if self.budget is None:
            self.budget = inbound.Budget(limit=FRAME_BUDGET, window=FRAME_WINDOW)
        if not self.budget.spend():
            self.close(frames.POLICY_VIOLATION, "too many messages")
            return
        try:
            audience = self.admission.audience
            type_, payload = inbound.parse(data, known=lambda t: self._realtime.lookup(t, audience) is not None)
        except inbound.FrameRefused as refused:
            self.invalid += 1
            if self.invalid > MAX_INVALID_FRAMES:
                self.close(frames.POLICY_VIOLATION, "too many invalid messages")
            else:
                self.send_html(error_fragment(_REFUSALS[refused.code]()))
            return
        handler = self._realtime.lookup(type_, self.admission.audience)
        assert handler is not None
        try:
            handler(self.ctx, payload)
        except PortalError as error:
            db.session.rollback()
            refusal_shown(error, subject=dict(self.admission.ids))  # the audit record
            self.send_html(error_fragment(error.translated()))
        except Exception:
            log.exception("socket handler %r failed on %r", type_, self.ctx)
            db.session.rollback()
            self.send_html(error_fragment(_("Something went wrong on our side.")))
        finally:
            self.ctx.forget()

    # -- the end ---------------------------------------------------------------------------
    def finish(self, code: int = frames.NORMAL) -> None:
        """Say goodbye (once), wait until it is written, then cut the socket."""
        self.writer.close(code, "")  # no-op when a close is already under way
        self.writer.wait_closed(1.0)
        if self._cutter is not None:
            self._cutter.finished = True
        _shutdown(self.sock)
        if self.ws is not None:
            self.ws.connected = False  # flask-sock's own close() then has nothing to do
        self._unlink()

    def _unlink(self) -> None:
        # Break our reference cycles (writer -> callback -> connection, context -> bound
        # methods) so a closed socket is freed by reference counting, not left to the cyclic
        # collector; long-lived socket objects can then be frozen out of full collections.
        self.ctx.unlink()
        self.writer.unlink()
        self.offer = _closed_offer
        self._realtime = None  # type: ignore[assignment]

    def leave_reason(self, *, shutting_down: bool = False) -> str:
        """Why this socket ended: the reason `close()` was asked with, else left,
        disconnected, timeout or server_restart."""
        if shutting_down:
            return SERVER_RESTART
        if self.requested_reason is not None:
            return self.requested_reason
        if self.writer.dropped:
            return DISCONNECTED
        if self.reader.timed_out:
            return TIMEOUT
        if self.reader.peer_code in (frames.NORMAL, frames.GOING_AWAY):
            return LEFT
        return DISCONNECTED


class _Cutter:
    """Cuts a socket whose client never answered our close frame (holds the socket, not the connection)."""

    __slots__ = ("sock", "finished")

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.finished = False

    def cut(self) -> None:
        if not self.finished:
            _shutdown(self.sock)


def _release_handshake(ws: Any) -> None:
    """Empty simple-websocket's Server past the handshake: flask-sock's view frame holds it
    until the socket ends, but nothing reads it again. Marked closed, so flask-sock's own
    close() afterwards sends nothing (ours does) and raises the ConnectionClosed it ignores."""
    ws.ws = None
    ws.connected = False
    ws.input_buffer = None


def _closed_offer(frame: bytes) -> bool:
    return False


def _shutdown(sock: Any) -> None:
    raw = getattr(sock, "_sock", sock)
    try:
        raw.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def error_fragment(message: str) -> str:
    """The refusal shown in the page's #flash region (an oob swap)."""
    return render_template("realtime/_error.html", message=message)


_REFUSALS = {
    "binary": lambda: _("Only text messages are accepted."),
    "too_large": lambda: _("This message is too long."),
    "not_json": lambda: _("This message could not be read."),
    "unknown_type": lambda: _("This kind of message is not supported."),
}


def serve(ws: Any, admission: Admission, *, realtime: Realtime, hub: Hub,
          on_open: OnOpen | None = None, on_close: OnClose | None = None) -> None:
    """Run one socket until it closes: join the channel, tell the domain, read frames, leave."""
    conn = Connection(ws, admission, realtime=realtime, on_pong=hub.freezer.pong)
    hub.track(+1)
    try:
        _serve(conn, hub=hub, on_open=on_open, on_close=on_close)
    finally:
        hub.track(-1)


def _serve(conn: Connection, *, hub: Hub, on_open: OnOpen | None, on_close: OnClose | None) -> None:
    channel = conn.admission.channel
    hub.join(channel, conn)
    shutting_down = False
    try:
        if on_open is not None:
            _tell(on_open, conn.ctx)
        db.session.remove()  # hold no database connection while idle
        for message in conn.reader.messages():
            conn.handle(message)
            db.session.remove()
    except BaseException as exc:  # a worker shutting down kills its greenlets
        shutting_down = type(exc).__name__ in ("GreenletExit", "SystemExit", "KeyboardInterrupt")
        if not shutting_down:
            log.exception("socket %r failed", conn.ctx)
        raise
    finally:
        hub.leave(channel, conn)
        try:
            if on_close is not None:
                _tell(on_close, conn.ctx, conn.leave_reason(shutting_down=shutting_down))
        finally:
            db.session.remove()
            conn.finish(frames.SERVICE_RESTART if shutting_down else frames.NORMAL)


def _tell(callback: Callable[..., None], ctx: SocketContext, *args: Any) -> None:
    """Run a domain's open/close callback; its failure is logged, never the socket's end."""
    ctx.forget()
    try:
        callback(ctx, *args)
    except Exception:
        log.exception("socket callback %r failed for %r", callback, ctx)
        db.session.rollback()
    finally:
        ctx.forget()  # the session is removed next: the next frame must re-read its models
