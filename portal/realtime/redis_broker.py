"""Redis pub/sub broker: several server processes or hosts share channels and versions."""
from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from portal.realtime.broker import BrokerUnavailable, Delivery, Resumed, as_bytes

log = logging.getLogger(__name__)
T = TypeVar("T")

#: A dead or hung Redis costs a publish or a version lookup a fraction of a second, never a
#: hang: short connect and read timeouts and one immediate retry (a pooled connection that died
#: with a restarted Redis). The subscription's own connection is not retried (its listener
#: thread reconnects with back-off) and PINGs when idle, so a silently dead one is noticed; a
#: health check on the publishing client would nest its retries inside the retry (4 s per call).
CLIENT_OPTIONS = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 1.0,
    "socket_keepalive": True,
}
SUBSCRIBER_OPTIONS = {**CLIENT_OPTIONS, "health_check_interval": 10}
RESUBSCRIBE_MAX_BACKOFF = 5.0
#: After a failed call every call fails at once for this long instead of each waiting out the
#: timeouts again: a request that publishes several times would otherwise stall seconds on a
#: Redis that accepts connections and never answers. The subscription coming back ends it early.
BREAKER_SECONDS = 2.0


class RedisBroker:
    """PUBLISH per message, one pattern subscription per process, versions as INCR counters.

    The process subscribes to every channel under its prefix (not channel by channel), so a
    socket registered locally receives the very next message: no window in which a freshly
    connected socket could miss one while a SUBSCRIBE travels to Redis.

    Redis may be down when the process starts or go away later: `subscribe` then returns at
    once and a listener thread keeps trying; once the subscription is in place again the
    `on_resume` callbacks run (the hub tells its sockets to catch up). Every other call raises
    BrokerUnavailable while Redis does not answer.
    """

    def __init__(self, url: str, *, prefix: str = "portal:rt:") -> None:
        self._redis = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 1), **CLIENT_OPTIONS)
        self._subscriber = redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), **SUBSCRIBER_OPTIONS)
        self._url = url
        self._prefix = prefix
        self._channel_prefix = f"{prefix}c:"
        self._callbacks: list[Delivery] = []
        self._resumed: list[Resumed] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._pubsub: redis.client.PubSub | None = None
        self._thread: threading.Thread | None = None
        self.subscribed = False  # is the pattern subscription in place right now?
        self._gap_began = time.time()  # when the subscription was last lost (or first wanted)
        self._failing_until = 0.0  # monotonic time until which calls fail without trying

    def _call(self, fn: Callable[[], T]) -> T:
        if time.monotonic() < self._failing_until:
            raise BrokerUnavailable("redis: did not answer a moment ago; not retried yet")
        try:
            return fn()
        except (redis.RedisError, OSError) as error:
            self._failing_until = time.monotonic() + BREAKER_SECONDS
            raise BrokerUnavailable(f"redis: {error}") from error

    # -- publishing ------------------------------------------------------------------------
    def publish(self, channel: str, payload: bytes | str) -> None:
        # One round trip: the version moves before any subscriber can see the message.
        def run() -> None:
            pipe = self._redis.pipeline(transaction=False)
            pipe.incr(self._version_key(channel))
            pipe.publish(self._channel_prefix + channel, as_bytes(payload))
            pipe.execute()
        self._call(run)

    def next_seq(self, channel: str) -> int:
        return int(self._call(lambda: self._redis.incr(self._version_key(channel))))

    def send(self, channel: str, payload: bytes | str) -> None:
        self._call(lambda: self._redis.publish(self._channel_prefix + channel, as_bytes(payload)))

    def version(self, channel: str) -> str:
        return self._call(lambda: self._version(channel))

    def _version(self, channel: str) -> str:
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
                try:
                    self._pubsub = self._connect()
                    self.subscribed = True
                except (redis.RedisError, OSError):
                    # Serve this process's sockets locally meanwhile; the listener keeps trying.
                    log.warning("realtime: Redis unreachable at start; serving sockets locally until it answers")
                self._thread = threading.Thread(target=self._listen, name="realtime-redis", daemon=True)
                self._thread.start()

    def on_resume(self, callback: Resumed) -> None:
        with self._lock:
            self._resumed.append(callback)

    def _connect(self) -> redis.client.PubSub:
        """A pattern subscription that Redis has confirmed (so nothing published after returns is missed)."""
        pubsub = self._subscriber.pubsub()
        try:
            pubsub.psubscribe(self._channel_prefix + "*")
            for _ in range(20):
                message = pubsub.get_message(timeout=0.1)
                if message and message["type"] == "psubscribe":
                    return pubsub
        except BaseException:
            pubsub.close()
            raise
        pubsub.close()
        raise redis.ConnectionError("Redis did not confirm the realtime subscription")

    def _listen(self) -> None:
        backoff = 0.1
        while not self._stopped.is_set():
            if self._pubsub is None:
                if self._reconnect():
                    backoff = 0.1
                else:
                    self._stopped.wait(backoff)
                    backoff = min(backoff * 2, RESUBSCRIBE_MAX_BACKOFF)
                continue
            try:
                message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.25)
            except Exception:
                if self._stopped.is_set():
                    break
                log.warning("realtime redis subscription lost; reconnecting", exc_info=True)
                self._drop_subscription()
                continue
            if message is None or message.get("type") != "pmessage":
                continue
            channel = message["channel"].decode("utf-8").removeprefix(self._channel_prefix)
            for callback in tuple(self._callbacks):
                try:
                    callback(channel, message["data"])
                except Exception:
                    log.exception("realtime delivery failed on %s", channel)

    def _drop_subscription(self) -> None:
        if self.subscribed:
            self._gap_began = time.time()
        self.subscribed = False
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:  # noqa: BLE001 - its connection is dead already
                pass

    def _reconnect(self) -> bool:
        try:
            self._pubsub = self._connect()
        except Exception:
            log.debug("realtime redis still unreachable", exc_info=True)
            return False
        self.subscribed = True
        self._failing_until = 0.0
        log.warning("realtime redis subscription restored; sockets catch up")
        for callback in tuple(self._resumed):
            try:
                callback(self._gap_began)
            except Exception:
                log.exception("realtime resume callback failed")
        return True

    def close(self) -> None:
        self._stopped.set()
        with self._lock:
            self._callbacks.clear()
            self._resumed.clear()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(3)
        self._drop_subscription()
        self._redis.close()
        self._subscriber.close()
