"""Rate limits on Flask-Limiter: Redis storage when `REDIS_URL` is set, in-process otherwise,
and an in-process fallback while Redis does not answer.

Flask-Limiter (with its `limits` library) owns the storage (`redis://` with short timeouts and
health checks, or `memory://`), the fixed-window strategy and its key prefix; one `Limiter` per
app lives in `app.extensions["portal.ratelimit"]` behind the call-site API the domains use:

    limiter().hit(key, limit=N, window=seconds, message=N_("..."))  -> None or RateLimited (429)

Why a keyed `hit()` rather than Flask-Limiter's `@limiter.limit(...)` decorators:
- several limits are counted on socket frames (`chat`, `hello`): a websocket is one HTTP
  request for its whole life, and Flask-Limiter checks its decorated limits once, before the
  view runs;
- several keys are known only inside the view, after loading and validating (the chat key is
  (webinar, lead); the login key is taken from the submitted form);
- the refusal must be our `RateLimited` with a translated msgid and `retry_after`, shown as a
  page, an HTMX fragment, JSON or a socket feedback line;
- decorators bind to one `Limiter` at import time, and the portal keeps per-app state only.
So `hit()` calls the strategy of the app's `Limiter` (`Limiter.limiter`). Flask-Limiter flips to
its in-memory fallback only inside its own request check, which a direct hit never enters;
`hit()` therefore does the same thing itself: a storage error switches this process to an
in-memory fixed window (logged once), and the storage is pinged again every
`RECHECK_SECONDS` until it answers. While Redis is down each process counts on its own: a
limit is at worst multiplied by the number of workers, never lifted.
"""
from __future__ import annotations

import logging
import math
import threading
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from limits.strategies import RateLimiter as Strategy

from portal.errors import N_, RateLimited

log = logging.getLogger(__name__)

KEY_PREFIX = "portal:rl"
RECHECK_SECONDS = 5.0
#: Options for the Redis client behind the limits: a dead Redis costs a request at most a
#: short timeout, once per RECHECK_SECONDS, not a hang.
REDIS_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "health_check_interval": 15}


#: `hello` frames (a catch-up snapshot each) per socket owner per minute: a page says hello once
#: per (re)connect, so this only stops a reconnect loop from rendering snapshots in a row.
HELLOS_PER_MINUTE = 30
#: Full polling answers (a snapshot from the database) per token or staff member per minute;
#: a page polls every REALTIME_POLL_SECONDS (4 s: 15 a minute). A 304 is not counted: it costs a
#: MAC and one version lookup, less than counting it would.
POLLS_PER_MINUTE = 120


def _client_address() -> str:
    return request.remote_addr or "unknown"


class RateLimiter:
    """The app's limits: `hit()` on the configured storage, in memory while that is down."""

    def __init__(self, limiter: Limiter) -> None:
        self.extension = limiter
        self._fallback = FixedWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_check = 0.0

    @property
    def storage_down(self) -> bool:
        return self._down_since is not None

    def _strategy(self) -> Strategy:
        if self._down_since is None:
            return self.extension.limiter
        now = time.time()
        with self._lock:
            if now < self._next_check:
                return self._fallback
            self._next_check = now + RECHECK_SECONDS
        try:
            healthy = bool(self.extension.storage.check())
        except Exception:  # noqa: BLE001 - any failure of the check means "still down"
            healthy = False
        if not healthy:
            return self._fallback
        log.warning("rate limit storage answers again after %.0f s; back to it", now - self._down_since)
        self._down_since = None
        return self.extension.limiter

    def _storage_failed(self, error: Exception) -> None:
        with self._lock:
            if self._down_since is None:
                log.warning("rate limit storage unreachable (%s); counting in memory meanwhile", error)
                self._down_since = time.time()
            self._next_check = time.time() + RECHECK_SECONDS

    def hit(self, key: str, *, limit: int, window: int, message: str) -> None:
        """Count a hit; raise RateLimited (429) once `limit` hits happened in `window` seconds."""
        item = RateLimitItemPerSecond(limit, window)
        strategy = self._strategy()
        try:
            allowed = strategy.hit(item, key)
        except Exception as error:  # noqa: BLE001 - Redis (or any storage) failing must not fail the request
            if strategy is self._fallback:
                raise
            self._storage_failed(error)
            strategy = self._fallback
            allowed = strategy.hit(item, key)
        if allowed:
            return
        try:
            reset_at = strategy.get_window_stats(item, key).reset_time
        except Exception:  # noqa: BLE001 - the refusal stands; only its hint is approximate
            reset_at = time.time() + window
        raise RateLimited(message, retry_after=max(1, min(window, math.ceil(reset_at - time.time()))))

    def reset(self) -> None:
        """Forget every count (tests)."""
        self._fallback.storage.reset()
        try:
            self.extension.storage.reset()
        except Exception:  # noqa: BLE001 - a dead storage has nothing to forget
            log.info("rate limit storage not reset (unreachable)")

    @property
    def backend(self) -> RateLimiter:
        """The old name callers used for `reset()`."""
        return self


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    extension = Limiter(
        key_func=_client_address,
        storage_uri=url or "memory://",
        storage_options={"key_prefix": KEY_PREFIX, **REDIS_OPTIONS} if url else {},
        strategy="fixed-window",
        in_memory_fallback_enabled=True,  # Flask-Limiter's own fallback, were a decorator limit added
        key_prefix=KEY_PREFIX,
        headers_enabled=False,
    )
    # Every portal limit is a keyed hit() in the view or frame handler, none a decorator, so
    # Flask-Limiter's per-request hooks (before: the decorated-limit check; after: headers;
    # teardown: its context) have nothing to do on any request — yet each ran on every one,
    # a 304 poll included (issue 14). init_app registers them only for a Limiter not yet
    # listed in app.extensions["limiter"]: listed first, it sets up the storage and the
    # strategy (all hit() uses) and registers no hook.
    app.extensions.setdefault("limiter", set()).add(extension)
    extension.init_app(app)
    app.extensions["portal.ratelimit"] = RateLimiter(extension)


def limiter() -> RateLimiter:
    return current_app.extensions["portal.ratelimit"]


def hello(owner: str) -> None:
    """Count a `hello` frame of `owner` (e.g. "r:<registration_id>", "c:<user_id>:<webinar_id>")."""
    limiter().hit(f"hello:{owner}", limit=HELLOS_PER_MINUTE, window=60,
                  message=N_("This page reconnected too often. Wait a moment; it will catch up by itself."))


def poll(owner: str) -> None:
    """Count a full polling answer for `owner` (a join token's digest, or "c:<user_id>")."""
    limiter().hit(f"state:{owner}", limit=POLLS_PER_MINUTE, window=60,
                  message=N_("This page asked for updates too often. Wait a moment; it will catch up by itself."))
