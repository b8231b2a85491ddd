"""RFC 6455 server frames built once and written as bytes to every socket (no masking, no compression)."""
from __future__ import annotations

import struct

OPCODE_TEXT = 0x1
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9
OPCODE_PONG = 0xA
FIN = 0x80

# Close codes (RFC 6455 §7.4.1). The htmx ws extension reconnects only on 1006/1011/1012/1013,
# so refusals use 1008 (stay closed) and a dropped slow client 1013 (come back and catch up).
NORMAL = 1000
GOING_AWAY = 1001
POLICY_VIOLATION = 1008
TOO_BIG = 1009
SERVER_ERROR = 1011
SERVICE_RESTART = 1012
TRY_AGAIN_LATER = 1013

MAX_CLOSE_REASON = 123  # a control frame payload is at most 125 bytes, 2 of them the code


def _header(opcode: int, length: int) -> bytes:
    if length < 126:
        return struct.pack("!BB", FIN | opcode, length)
    if length < 1 << 16:
        return struct.pack("!BBH", FIN | opcode, 126, length)
    return struct.pack("!BBQ", FIN | opcode, 127, length)


def text_frame(payload: bytes) -> bytes:
    """One complete, unmasked text frame carrying UTF-8 `payload`."""
    return _header(OPCODE_TEXT, len(payload)) + payload


def pong_frame(payload: bytes) -> bytes:
    """The answer to a client's ping (control payloads are at most 125 bytes)."""
    return _header(OPCODE_PONG, len(payload[:125])) + payload[:125]


PING = _header(OPCODE_PING, 0)  # a server ping, the same bytes for every socket


def close_frame(code: int, reason: str = "") -> bytes:
    """A close frame; the reason is cut to fit a control frame on a character boundary."""
    raw = reason.encode("utf-8")
    if len(raw) > MAX_CLOSE_REASON:
        raw = raw[:MAX_CLOSE_REASON].decode("utf-8", "ignore").encode("utf-8")
    payload = struct.pack("!H", code) + raw
    return _header(OPCODE_CLOSE, len(payload)) + payload


def parse_frames(buffer: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Split unmasked server frames off `buffer`: ([(opcode, payload)], rest). For tests and bench clients."""
    frames: list[tuple[int, bytes]] = []
    pos = 0
    while len(buffer) - pos >= 2:
        first, second = buffer[pos], buffer[pos + 1]
        length = second & 0x7F
        head = 2
        if length == 126:
            if len(buffer) - pos < 4:
                break
            (length,) = struct.unpack_from("!H", buffer, pos + 2)
            head = 4
        elif length == 127:
            if len(buffer) - pos < 10:
                break
            (length,) = struct.unpack_from("!Q", buffer, pos + 2)
            head = 10
        if len(buffer) - pos < head + length:
            break
        frames.append((first & 0x0F, bytes(buffer[pos + head:pos + head + length])))
        pos += head + length
    return frames, bytes(buffer[pos:])
