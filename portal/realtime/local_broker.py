"""In-process broker: the embedded default for a single server process."""
from __future__ import annotations

import logging
import secrets
import threading

from portal.realtime.broker import Delivery, Resumed, as_bytes

log = logging.getLogger(__name__)


class LocalBroker:
    """Delivers synchronously on the publisher's thread, one publish at a time.

    The lock makes version order and delivery order the same for every socket; a delivery
    only does non-blocking writes, so holding it costs the fan-out time and nothing more.
    It is never unavailable, so it never resumes.
    """

    def __init__(self) -> None:
        self._callbacks: list[Delivery] = []
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()
        # A restart must never make an old ETag look current again.
        self._epoch = secrets.token_hex(4)
        self._closed = False

    def publish(self, channel: str, payload: bytes | str) -> None:
        data = as_bytes(payload)
        with self._lock:
            if self._closed:
                return
            self._versions[channel] = self._versions.get(channel, 0) + 1
            self._deliver(channel, data)

    def next_seq(self, channel: str) -> int:
        with self._lock:
            seq = self._versions[channel] = self._versions.get(channel, 0) + 1
            return seq

    def send(self, channel: str, payload: bytes | str) -> None:
        data = as_bytes(payload)
        with self._lock:
            if not self._closed:
                self._deliver(channel, data)

    def _deliver(self, channel: str, data: bytes) -> None:
        for callback in tuple(self._callbacks):
            try:
                callback(channel, data)
            except Exception:  # one broken subscriber must not starve the others
                log.exception("realtime delivery failed on %s", channel)

    def subscribe(self, callback: Delivery) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def on_resume(self, callback: Resumed) -> None:
        """Nothing to resume: an in-process broker is never cut off."""

    def version(self, channel: str) -> str:
        return f"{self._epoch}.{self._versions.get(channel, 0)}"

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._callbacks.clear()
