"""The per-socket writer over real socket pairs: fast path, bounded queue, slow-client drop, coalescing."""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from portal.realtime import frames
from portal.realtime.writer import SocketWriter
from tests.realtime.conftest import wait_for

FRAME = frames.text_frame(b"<div id='cta' hx-swap-oob='true'>Buy</div>" * 20)  # ~900 bytes


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    # Small buffers so "the client stopped reading" fills up after a few frames.
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    yield server, client
    server.close()
    client.close()


def read_frames(sock: socket.socket, *, until_close: bool = True, timeout: float = 5) -> list[tuple[int, bytes]]:
    """Everything the writer sent, parsed; stops at a close frame (or EOF)."""
    sock.settimeout(timeout)
    buffer, parsed = b"", []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        got, buffer = frames.parse_frames(buffer + chunk)
        parsed.extend(got)
        if until_close and any(op == frames.OPCODE_CLOSE for op, _ in got):
            break
        if not until_close and not buffer:
            break
    return parsed


class CountingSocket:
    """A socket whose sends are counted (to see coalescing)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sends: list[int] = []

    def send(self, data, flags: int = 0) -> int:
        sent = self.sock.send(data, flags)
        self.sends.append(sent)
        return sent

    def __getattr__(self, name):
        return getattr(self.sock, name)


def test_idle_writer_writes_the_frame_at_once(pair):
    server, client = pair
    writer = SocketWriter(server)
    assert writer.offer(FRAME) is True
    assert read_frames(client, until_close=False) == [(frames.OPCODE_TEXT, FRAME[4:])]


def test_frames_keep_their_order_through_the_queue(pair):
    server, client = pair
    writer = SocketWriter(server, max_pending=10_000)
    sent = [frames.text_frame(str(i).encode() * 50) for i in range(300)]
    for frame in sent:
        assert writer.offer(frame)
    writer.close(frames.NORMAL, "bye")
    received = read_frames(client)
    expected = [frames.parse_frames(f)[0][0][1] for f in sent]
    assert [payload for op, payload in received if op == frames.OPCODE_TEXT] == expected
    assert received[-1] == (frames.OPCODE_CLOSE, (1000).to_bytes(2, "big") + b"bye")


def test_a_slow_client_is_dropped_when_its_queue_is_full_and_never_blocks_the_caller(pair):
    server, client = pair
    closed = threading.Event()
    writer = SocketWriter(server, max_pending=8, write_timeout=5, on_closed=lambda reason: closed.set())
    results = []
    done = threading.Event()

    def broadcast() -> None:
        for _ in range(200):
            results.append(writer.offer(FRAME))
        done.set()

    # If offer() ever blocked on the full socket this thread would hang, not finish.
    threading.Thread(target=broadcast, daemon=True).start()
    assert done.wait(5), "offer() blocked on a client that does not read"
    assert writer.dropped and writer.close_reason == "too slow"
    assert results.count(False) > 0 and results[-1] is False
    # The queue never held more than its bound: what the client can still read is what the
    # kernel buffers took plus at most 8 frames, then the close frame (code 1013: come back).
    received = read_frames(client)
    texts = [p for op, p in received if op == frames.OPCODE_TEXT]
    assert texts and all(p == FRAME[4:] for p in texts)
    assert len(texts) < results.count(True) + 1
    assert received[-1][0] == frames.OPCODE_CLOSE
    assert int.from_bytes(received[-1][1][:2], "big") == frames.TRY_AGAIN_LATER
    assert wait_for(closed.is_set, what="on_closed callback")


def test_a_client_that_never_reads_is_cut_after_the_write_timeout(pair):
    server, client = pair
    closed = threading.Event()
    writer = SocketWriter(server, max_pending=10_000, write_timeout=0.3, on_closed=lambda r: closed.set())
    for _ in range(100):
        writer.offer(FRAME)
    assert closed.wait(5)
    assert writer.closing and not writer.offer(FRAME)


def test_pending_frames_are_coalesced_into_fewer_writes(pair):
    server, client = pair
    counting = CountingSocket(server)
    writer = SocketWriter(counting, max_pending=1000)
    small = frames.text_frame(b"x" * 100)
    # Fill the kernel buffer so later frames queue up behind it.
    while writer.offer(FRAME) and not writer._draining:  # noqa: SLF001 - observing the queue
        pass
    for _ in range(50):
        writer.offer(small)
    queued_sends_before = len(counting.sends)
    writer.close(frames.NORMAL, "")
    received = read_frames(client)
    assert sum(1 for op, p in received if p == small[2:]) == 50
    data_sends_after = [n for n in counting.sends[queued_sends_before:] if n > 0]
    assert len(data_sends_after) < 50, "queued frames were written one syscall each"


def test_control_bytes_share_the_one_writer_and_stop_after_close(pair):
    server, client = pair
    writer = SocketWriter(server)
    writer.offer(frames.text_frame(b"a"))
    writer.offer_control(b"\x8a\x00")  # a pong
    writer.close(frames.POLICY_VIOLATION, "banned")
    writer.offer_control(b"\x8a\x00")  # ignored: the close went out
    assert writer.offer(frames.text_frame(b"late")) is False
    received = read_frames(client)
    assert received == [(1, b"a"), (0xA, b""), (8, (1008).to_bytes(2, "big") + b"banned")]
    assert writer.wait_closed(2)
