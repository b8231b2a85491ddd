"""Small shared state for coalesced pushes across workers: counters, per-worker snapshots and a
"one leader per interval" lock, in Redis when REDIS_URL is set, in memory otherwise.

Why: a push that must reach each socket at most once per second (reaction bursts, the health
panel) cannot be sent by every worker that saw a tap or a report. Each worker pools what it
saw (`add` / `put`), and the one worker that wins `lead(key, ms)` for the interval reads the
pool and publishes. With one process the in-memory pool does the same without Redis.
Best effort like `publish`: a Redis error is logged and the call does nothing (a lost second
of reactions or of health counts is not worth failing a request for).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Protocol

log = logging.getLogger(__name__)

EXTENSION = "portal.realtime.pool"
POOL_PREFIX = "portal:pool:"
REDIS_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "health_check_interval": 15}


class Pool(Protocol):
    """What the domains call; keys are plain strings chosen by the domain."""

    def add(self, key: str, counts: Mapping[str, int], *, ttl: int = 10) -> bool:
        """Add `counts` to the counters under `key` (they expire `ttl` s after the last add);
        False when the pool could not store them."""

    def drain(self, key: str) -> dict[str, int]:
        """Take (read and reset) the counters under `key`."""

    def put(self, key: str, member: str, value: str, *, ttl: int = 30) -> None:
        """Set `member`'s snapshot under `key` (all of them expire `ttl` s after the last put)."""

    def members(self, key: str) -> dict[str, str]:
        """Every member's snapshot under `key`."""

    def lead(self, key: str, *, ms: int) -> bool:
        """True for the one caller (across workers) that takes `key` for the next `ms` milliseconds."""

    def claim(self, key: str, *, ms: int) -> float | None:
        """`lead` that says more: 0.0 when this caller took `key` for `ms` ms, else the seconds
        until the holder's lease ends; None when the pool cannot say (Redis unavailable)."""

    def release(self, key: str) -> None:
        """End this caller's lease on `key` early (it had nothing to do with it)."""

    def size(self, key: str) -> int | None:
        """How many counters `key` holds (None: unknown, Redis unavailable)."""


class LocalPool:
    """One process: dictionaries under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}
        self._members: dict[str, dict[str, str]] = {}
        self._leases: dict[str, float] = {}

    def add(self, key: str, counts: Mapping[str, int], *, ttl: int = 10) -> bool:
        with self._lock:
            into = self._counts.setdefault(key, {})
            for name, n in counts.items():
                into[name] = into.get(name, 0) + int(n)
        return True

    def drain(self, key: str) -> dict[str, int]:
        with self._lock:
            return self._counts.pop(key, {})

    def put(self, key: str, member: str, value: str, *, ttl: int = 30) -> None:
        with self._lock:
            self._members.setdefault(key, {})[member] = value

    def members(self, key: str) -> dict[str, str]:
        with self._lock:
            return dict(self._members.get(key, {}))

    def lead(self, key: str, *, ms: int) -> bool:
        return self.claim(key, ms=ms) == 0.0

    def claim(self, key: str, *, ms: int) -> float | None:
        now = time.monotonic()
        with self._lock:
            ends = self._leases.get(key, 0.0)
            if ends > now:
                return ends - now
            self._leases[key] = now + ms / 1000
            return 0.0

    def release(self, key: str) -> None:
        with self._lock:
            self._leases.pop(key, None)

    def size(self, key: str) -> int | None:
        with self._lock:
            return len(self._counts.get(key, {}))


class RedisPool:
    """Several processes: hashes (HINCRBY, HSET) and SET NX PX for the leader of an interval."""

    def __init__(self, url: str, *, prefix: str = POOL_PREFIX) -> None:
        import redis  # only when configured

        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(url, decode_responses=True, **REDIS_OPTIONS)
        self._prefix = prefix

    def _failed(self, what: str, key: str) -> None:
        log.warning("pool %s on %s failed (redis unavailable)", what, key, exc_info=True)

    def add(self, key: str, counts: Mapping[str, int], *, ttl: int = 10) -> bool:
        name = self._prefix + key
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for field, n in counts.items():
                    pipe.hincrby(name, field, int(n))
                pipe.expire(name, ttl)
                pipe.execute()
        except self._errors:
            self._failed("add", key)
            return False
        return True

    def drain(self, key: str) -> dict[str, int]:
        name = self._prefix + key
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                pipe.hgetall(name)
                pipe.delete(name)
                found, _ = pipe.execute()
        except self._errors:
            self._failed("drain", key)
            return {}
        return {field: int(n) for field, n in found.items()}

    def put(self, key: str, member: str, value: str, *, ttl: int = 30) -> None:
        name = self._prefix + key
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.hset(name, member, value)
                pipe.expire(name, ttl)
                pipe.execute()
        except self._errors:
            self._failed("put", key)

    def members(self, key: str) -> dict[str, str]:
        try:
            found = self._redis.hgetall(self._prefix + key)
            return {str(k): str(v) for k, v in found.items()}
        except self._errors:
            self._failed("members", key)
            return {}

    def lead(self, key: str, *, ms: int) -> bool:
        try:
            return bool(self._redis.set(self._prefix + "lead:" + key, "1", nx=True, px=int(ms)))
        except self._errors:
            self._failed("lead", key)
            return False

    def claim(self, key: str, *, ms: int) -> float | None:
        name = self._prefix + "lead:" + key
        try:
            with self._redis.pipeline(transaction=False) as pipe:  # one round trip
                pipe.set(name, "1", nx=True, px=int(ms))
                pipe.pttl(name)
                took, left = pipe.execute()
        except self._errors:
            self._failed("claim", key)
            return None
        if took:
            return 0.0
        return max(int(left), 1) / 1000  # -1/-2: it ended between the two commands; try again soon

    def release(self, key: str) -> None:
        try:
            self._redis.delete(self._prefix + "lead:" + key)
        except self._errors:
            self._failed("release", key)

    def size(self, key: str) -> int | None:
        try:
            return int(self._redis.hlen(self._prefix + key))
        except self._errors:
            self._failed("size", key)
            return None


def make_pool(redis_url: str, *, prefix: str = POOL_PREFIX) -> Pool:
    """Redis when a URL is configured (several processes), else in memory."""
    return RedisPool(redis_url, prefix=prefix) if redis_url else LocalPool()
