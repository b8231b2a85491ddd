"""Frames coming up a socket: JSON objects of at most 8 KB with a known `type`."""
from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

MAX_FRAME_BYTES = 8 * 1024


class FrameRefused(Exception):
    """A frame we will not handle; `code` picks the message shown to the user."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse(data: str | bytes, *, known: Callable[[str], bool]) -> tuple[str, dict[str, Any]]:
    """(type, payload) of a valid frame, else FrameRefused(binary|too_large|not_json|unknown_type).

    `not_json` covers JSON nested too deep to decode (RecursionError) as well."""
    if not isinstance(data, str):
        raise FrameRefused("binary")
    # Cheap bound first: a str never encodes to fewer bytes than characters, nor more than 4x.
    if len(data) > MAX_FRAME_BYTES or (len(data) * 4 > MAX_FRAME_BYTES and len(data.encode("utf-8")) > MAX_FRAME_BYTES):
        raise FrameRefused("too_large")
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError):
        # RecursionError: a few KB of "[[[[..." nest deeper than the decoder goes; it is bad
        # input like any unreadable frame, refused with the same message (not a dead socket).
        raise FrameRefused("not_json") from None
    if not isinstance(payload, dict):
        raise FrameRefused("not_json")
    type_ = payload.get("type")
    if not isinstance(type_, str) or not known(type_):
        raise FrameRefused("unknown_type")
    return type_, payload


class Budget:
    """At most `limit` events per sliding `window` seconds (per socket, so no lock)."""

    __slots__ = ("limit", "window", "_times")

    def __init__(self, *, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def spend(self, now: float | None = None) -> bool:
        """Count one event; False once the budget is exhausted."""
        now = time.monotonic() if now is None else now
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
        self._times.append(now)
        return len(self._times) <= self.limit
