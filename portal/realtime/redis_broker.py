"""Redis pub/sub broker: several server processes or hosts share channels and versions."""
from __future__ import annotations

import logging
import secrets
import threading

import redis

from portal.realtime.broker import Delivery, as_bytes

log = logging.getLogger(__name__)


class RedisBroker:
    """PUBLISH per message, one pattern subscription per process, versions as INCR counters.

    The process subscribes to every channel under its prefix (not channel by channel), so a
    socket registered locally receives the very next message: no window in which a freshly
    connected socket could miss one while a SUBSCRIBE travels to Redis.
    """

    def __init__(self, url: str, *, prefix: str = "portal:rt:") -> None:
        self._redis = redis.Redis.from_url(url)
        self._url = url
        self._prefix = prefix
        self._channel_prefix = f"{prefix}c:"
        self._callbacks: list[Delivery] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._pubsub: redis.client.PubSub | None = None
        self._thread: threading.Thread | None = None

    # -- publishing ------------------------------------------------------------------------
    def publish(self, channel: str, payload: bytes | str) -> None:
        # One round trip: the version moves before any subscriber can see the message.
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(self._version_key(channel))
        pipe.publish(self._channel_prefix + channel, as_bytes(payload))
        pipe.execute()

    def version(self, channel: str) -> str:
        epoch_key = f"{self._prefix}epoch"
        epoch, count = self._redis.mget(epoch_key, self._version_key(channel))
        if epoch is None:
            # A Redis that lost its data must not make old ETags current again.
            self._redis.set(epoch_key, secrets.token_hex(4), nx=True)
            epoch = self._redis.get(epoch_key)
        epoch_text = epoch.decode() if isinstance(epoch, bytes) else str(epoch or "")
        return f"{epoch_text}.{int(count or 0)}"

    def _version_key(self, channel: str) -> str:
        return f"{self._prefix}v:{channel}"

    # -- subscribing -----------------------------------------------------------------------
    def subscribe(self, callback: Delivery) -> None:
        with self._lock:
            self._callbacks.append(callback)
            if self._thread is None:
                self._pubsub = self._connect()
                self._thread = threading.Thread(target=self._listen, name="realtime-redis", daemon=True)
                self._thread.start()

    def _connect(self) -> redis.client.PubSub:
        """A pattern subscription that Redis has confirmed (so nothing published after returns is missed)."""
        pubsub = self._redis.pubsub()
        pubsub.psubscribe(self._channel_prefix + "*")
        for _ in range(50):
            message = pubsub.get_message(timeout=0.1)
            if message and message["type"] == "psubscribe":
                return pubsub
        pubsub.close()
        raise redis.ConnectionError("Redis did not confirm the realtime subscription")

    def _listen(self) -> None:
        backoff = 0.25
        while not self._stopped.is_set():
            try:
                assert self._pubsub is not None
                message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.25)
            except Exception:
                if self._stopped.is_set():
                    break
                log.warning("realtime redis subscription lost; reconnecting in %.2fs", backoff, exc_info=True)
                self._stopped.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                self._reconnect()
                continue
            backoff = 0.25
            if message is None or message.get("type") != "pmessage":
                continue
            channel = message["channel"].decode("utf-8").removeprefix(self._channel_prefix)
            for callback in tuple(self._callbacks):
                try:
                    callback(channel, message["data"])
                except Exception:
                    log.exception("realtime delivery failed on %s", channel)

    def _reconnect(self) -> None:
        try:
            if self._pubsub is not None:
                self._pubsub.close()
            self._pubsub = self._connect()
            log.info("realtime redis subscription restored")
        except Exception:
            log.warning("realtime redis still unreachable", exc_info=True)

    def close(self) -> None:
        self._stopped.set()
        with self._lock:
            self._callbacks.clear()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(3)
        if self._pubsub is not None:
            self._pubsub.close()
        self._redis.close()
