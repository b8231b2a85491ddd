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

    def add(self, key: str, counts: Mapping[str, int], *, ttl: int = 10) -> None:
        """Add `counts` to the counters under `key` (they expire `ttl` s after the last add)."""

    def drain(self, key: str) -> dict[str, int]:
        """Take (read and reset) the counters under `key`."""

    def put(self, key: str, member: str, value: str, *, ttl: int = 30) -> None:
        """Set `member`'s snapshot under `key` (all of them expire `ttl` s after the last put)."""

    def members(self, key: str) -> dict[str, str]:
        """Every member's snapshot under `key`."""

    def lead(self, key: str, *, ms: int) -> bool:
        """True for the one caller (across workers) that takes `key` for the next `ms` milliseconds."""


class LocalPool:
    """One process: dictionaries under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}
        self._members: dict[str, dict[str, str]] = {}
        self._leases: dict[str, float] = {}

    def add(self, key: str, counts: Mapping[str, int], *, ttl: int = 10) -> None:
        with self._lock:
            into = self._counts.setdefault(key, {})
            for name, n in counts.items():
                into[name] = into.get(name, 0) + int(n)

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
        now = time.monotonic()
        with self._lock:
            if self._leases.get(key, 0.0) > now:
                return False
            self._leases[key] = now + ms / 1000
            return True


class RedisPool:
    """Several processes: hashes (HINCRBY, HSET) and SET NX PX for the leader of an interval."""

    def __init__(self, url: str, *, prefix: str = POOL_PREFIX) -> None:
        import redis  # only when configured

        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._redis = redis.Redis.from_url(url, decode_responses=True, **REDIS_OPTIONS)
        self._prefix = prefix

    def _failed(self, what: str, key: str) -> None:
        log.warning("pool %s on %s failed (redis unavailable)", what, key, exc_info=True)

    def add(self, key: str, counts: Mapping[str, int], *, ttl: int = 10) -> None:
        name = self._prefix + key
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for field, n in counts.items():
                    pipe.hincrby(name, field, int(n))
                pipe.expire(name, ttl)
                pipe.execute()
        except self._errors:
            self._failed("add", key)

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


def make_pool(redis_url: str) -> Pool:
    """Redis when a URL is configured (several processes), else in memory."""
    return RedisPool(redis_url) if redis_url else LocalPool()
