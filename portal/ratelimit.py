"""Fixed-window rate limits with an in-process backend (default) and a Redis one (scale-out)."""
from __future__ import annotations

import threading
import time
from typing import Protocol

from flask import Flask, current_app

from portal.errors import RateLimited


class Backend(Protocol):
    def incr(self, key: str, window: int) -> int:
        """Count one hit for `key` in the current window and return the window's count."""


class MemoryBackend:
    """Per-process counters; old windows are pruned as new ones open."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def incr(self, key: str, window: int) -> int:
        bucket = int(time.time()) // window
        with self._lock:
            if len(self._counts) > 50_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= bucket - 1}
            count = self._counts.get((key, bucket), 0) + 1
            self._counts[(key, bucket)] = count
        return count

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class RedisBackend:
    """Shared counters for several processes or hosts."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def incr(self, key: str, window: int) -> int:
        bucket = int(time.time()) // window
        name = f"portal:rl:{key}:{bucket}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window + 1)
        count, _ = pipe.execute()
        return int(count)

    def reset(self) -> None:
        for name in self._redis.scan_iter("portal:rl:*"):
            self._redis.delete(name)


class RateLimiter:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def hit(self, key: str, *, limit: int, window: int, message: str) -> None:
        """Count a hit; raise RateLimited (429) once `limit` hits happened in `window` seconds."""
        if self.backend.incr(key, window) > limit:
            raise RateLimited(message, retry_after=window - int(time.time()) % window)


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    backend: Backend = RedisBackend(url) if url else MemoryBackend()
    app.extensions["portal.ratelimit"] = RateLimiter(backend)


def limiter() -> RateLimiter:
    return current_app.extensions["portal.ratelimit"]
