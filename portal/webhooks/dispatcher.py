"""Delivering webhooks from the outbox, at least once.

Two steps, both safe with any number of dispatchers (PostgreSQL) or one (SQLite):

1. **Fan-out.** The outbox is read in commit order by `sequence`, after the position kept in
   `webhook_cursor` (its row is locked while read: one dispatcher fans out at a time). Each
   event becomes one `webhook_delivery` per matching enabled endpoint, and the position moves,
   in one transaction: an event is fanned out exactly once. Deliveries are created here rather
   than in the event's own transaction so a registration or a "start" never pays for webhooks
   and an endpoint's filter is read once, by one process.
2. **Delivery.** A dispatcher claims due deliveries with one
   `UPDATE … WHERE delivery_id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING` (on
   SQLite the statement holds the write lock) that moves their `next_attempt_at` past the
   attempt's timeout: that is the claim. It then posts each one (no transaction open), and
   records the attempt and the outcome. A dispatcher killed mid-attempt leaves the delivery due
   again when its claim lapses: another attempt, same `webhook-id` (at least once).

Each attempt: `POST` of the SPEC §6 envelope plus `sequence`, headers `webhook-id` (the
event_id), `webhook-timestamp` (this attempt's time) and `webhook-signature` (one `v1,`
signature per active secret), 15 s timeout, redirects not followed, the URL checked again
(portal.webhooks.safety, against DNS rebinding). 2xx is success.

Retry schedule (after the n-th failed attempt, n = 1, 2, …): wait a uniformly random time in
[0, min(30 s · 2^(n-1), 6 h)] ("full jitter"): caps 30 s, 1 min, 2 min, 4 min, 8 min, 16 min,
32 min, 64 min, ~2 h, ~4 h, then 6 h each; about 30 attempts in all. A 429 or 503 with
`Retry-After` waits what it asks (at most 6 h). A delivery still failing 3 days after its
first attempt is dead (the dead-letter view; "redeliver" starts it again). A 410 Gone kills the
delivery and disables the endpoint; an endpoint whose deliveries have failed without a single
success for 5 days is disabled; both are shown to its owner in admin.

In process (the embedded default), a Dispatcher thread per app (a greenlet under gunicorn's
gevent workers) runs this loop, woken by `event_committed`; `flask --app wsgi portal
dispatcher` runs the same loop on its own for scale-out. No web request waits for a delivery.
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import random
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from flask import Flask, current_app
from sqlalchemy import select, update

from portal import signals
from portal.core.models import OutboxEvent, User, Webinar
from portal.db_types import utcnow
from portal.errors import PortalError
from portal.extensions import db
from portal.webhooks import endpoints, safety, signing
from portal.webhooks.models import (
    DEAD,
    DELIVERED,
    PENDING,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

EXTENSION = "portal.webhooks.dispatcher"
TIMEOUT_SECONDS = 15.0
CLAIM_SECONDS = 60.0  # a claimed delivery is due again this long after its claim (> timeout)
BASE_DELAY = 30.0
MAX_DELAY = 6 * 3600.0
GIVE_UP_AFTER = timedelta(days=3)
DISABLE_AFTER = timedelta(days=5)
FANOUT_BATCH = 500
WORKERS = 16  # concurrent attempts per dispatcher
RECORD_BATCH = 200  # outcomes recorded per transaction
PER_ENDPOINT = 8  # at most this many attempts in flight per endpoint and dispatcher (a slow one cannot take all)
POLL_SECONDS = 0.5
EXCERPT = 500  # characters of the answer kept
READ_LIMIT = 64 * 1024  # bytes of an answer read at most
USER_AGENT = "webinar-portal-webhooks/1"


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after the `attempt`-th failure (full jitter)."""
    cap = min(MAX_DELAY, BASE_DELAY * 2 ** min(attempt - 1, 30))
    return (rng or random).uniform(0, cap)


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked by a Retry-After header (delta-seconds or an HTTP date), at most 6 h."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(int(value))
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError, IndexError):
            return None
    return max(1.0, min(MAX_DELAY, seconds))


# -- fan-out -------------------------------------------------------------------------------------

def fan_out(limit: int = FANOUT_BATCH) -> int:
    """Turn the next events into deliveries; returns how many events were read. Commits."""
    cursor = db.session.scalars(select(WebhookCursor).where(WebhookCursor.name == endpoints.CURSOR)
                                .with_for_update(skip_locked=True)).first()
    if cursor is None:  # no endpoint yet, or another dispatcher is fanning out right now
        db.session.rollback()
        return 0
    events = list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.sequence > cursor.position)
                                     .order_by(OutboxEvent.sequence).limit(limit)))
    if not events:
        db.session.rollback()
        return 0
    targets = list(db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))))
    owners = {u.user_id: u for u in db.session.scalars(
        select(User).where(User.user_id.in_({t.owner_user_id for t in targets})))} if targets else {}
    own_webinars: dict[int, set[int]] = {}
    now = utcnow()
    for event in events:
        for endpoint in targets:
            if endpoint.events and event.event not in endpoint.events:
                continue
            if endpoint.webinar_id is not None:
                if event.webinar_id != endpoint.webinar_id:
                    continue
            else:
                owner = owners.get(endpoint.owner_user_id)
                if owner is None:
                    continue
                if not endpoints.sees_all(owner):
                    if owner.user_id not in own_webinars:
                        own_webinars[owner.user_id] = _owned(owner.user_id)
                    if event.webinar_id not in own_webinars[owner.user_id]:
                        continue
            db.session.add(WebhookDelivery(endpoint_id=endpoint.endpoint_id, outbox_id=event.id,
                                           event_id=event.event_id, event=event.event, status=PENDING,
                                           attempts=0, created_at=now, next_attempt_at=now))
    cursor.position = events[-1].sequence
    cursor.updated_at = now
    db.session.commit()
    return len(events)


def _owned(user_id: int) -> set[int]:
    return set(db.session.scalars(select(Webinar.webinar_id).where(Webinar.owner_user_id == user_id)))


# -- claiming and attempting -----------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    delivery_id: int
    endpoint_id: int
    url: str
    event_id: str
    body: bytes
    secrets: tuple[str, ...]


def payload(event: OutboxEvent) -> bytes:
    """The body: the SPEC §6 envelope plus `sequence`."""
    envelope = event.envelope()
    envelope["sequence"] = event.sequence
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def claim(limit: int, *, exclude: frozenset[int] = frozenset()) -> list[Job]:
    """Claim up to `limit` due deliveries of enabled endpoints (not those in `exclude`). Commits."""
    if limit <= 0:
        return []
    now = utcnow()
    due = (select(WebhookDelivery.delivery_id)
           .join(WebhookEndpoint, WebhookEndpoint.endpoint_id == WebhookDelivery.endpoint_id)
           .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now,
                  WebhookEndpoint.enabled.is_(True))
           .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.delivery_id).limit(limit)
           .with_for_update(skip_locked=True, of=WebhookDelivery))
    if exclude:
        due = due.where(WebhookDelivery.endpoint_id.not_in(exclude))
    # A plain read first: an idle dispatcher takes no row locks (nor SQLite's write lock).
    anything = select(WebhookDelivery.delivery_id).where(WebhookDelivery.status == PENDING,
                                                         WebhookDelivery.next_attempt_at <= now).limit(1)
    if db.session.scalar(anything) is None:
        db.session.rollback()
        return []
    claimed = list(db.session.scalars(
        update(WebhookDelivery).where(WebhookDelivery.delivery_id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(WebhookDelivery.delivery_id).execution_options(synchronize_session=False)))
    jobs: list[Job] = []
    for delivery_id in sorted(claimed):
        delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
        if delivery is None:
            continue
        event = db.session.get(OutboxEvent, delivery.outbox_id)
        endpoint = delivery.endpoint
        if event is None or event.sequence is None:
            continue
        jobs.append(Job(delivery_id=delivery_id, endpoint_id=endpoint.endpoint_id, url=endpoint.url,
                        event_id=delivery.event_id, body=payload(event),
                        secrets=tuple(endpoints.active_secrets(endpoint, now))))
    db.session.commit()
    return jobs


def release(delivery_ids: list[int]) -> None:
    """Hand claimed deliveries back at once (more than one endpoint's share were claimed)."""
    db.session.execute(update(WebhookDelivery).where(WebhookDelivery.delivery_id.in_(delivery_ids),
                                                     WebhookDelivery.status == PENDING)
                       .values(next_attempt_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()


@dataclass
class Outcome:
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None
    latency_ms: int = 0
    retry_after: str | None = None
    timestamp: int = 0
    attempted_at: datetime | None = None


def attempt(job: Job, *, client: httpx.Client, timeout: float = TIMEOUT_SECONDS) -> Outcome:
    """One signed POST (no database work here)."""
    attempted_at = utcnow()
    timestamp = int(time.time())
    outcome = Outcome(timestamp=timestamp, attempted_at=attempted_at)
    started = time.perf_counter()
    try:
        target = safety.resolve(job.url)
    except PortalError as error:
        outcome.error = error.message[:300]
        return outcome
    headers = {"content-type": "application/json", "user-agent": USER_AGENT, "host": target.host,
               **signing.headers(list(job.secrets), job.event_id, timestamp, job.body)}
    extensions: dict[str, Any] = {"timeout": httpx.Timeout(timeout).as_dict()}
    if job.url.lower().startswith("https:"):
        extensions["sni_hostname"] = target.host.rsplit(":", 1)[0].strip("[]")
    try:
        request = client.build_request("POST", target.connect_url, content=job.body, headers=headers,
                                       extensions=extensions)
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            outcome.status_code = response.status_code
            outcome.retry_after = response.headers.get("retry-after")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= READ_LIMIT:
                    break
            outcome.excerpt = b"".join(chunks)[:EXCERPT].decode("utf-8", "replace")
        finally:
            response.close()
    except httpx.TimeoutException:
        outcome.error = f"timed out after {timeout:g} s"
    except httpx.HTTPError as error:
        outcome.error = f"{type(error).__name__}: {error}"[:300]
        if outcome.status_code is not None:  # the answer broke off mid-body: not a success
            outcome.error = f"answer broken off: {error}"[:300]
    outcome.latency_ms = int((time.perf_counter() - started) * 1000)
    return outcome


def record(job: Job, outcome: Outcome, *, rng: random.Random | None = None) -> str:
    """Store the attempt and decide: delivered, retry later, or dead. Commits; returns the status."""
    return record_many([(job, outcome)], rng=rng)[0]


def record_many(results: list[tuple[Job, Outcome]], *, rng: random.Random | None = None) -> list[str]:
    """Record several attempts in one transaction (one commit, one fsync on SQLite)."""
    statuses = [_apply(job, outcome, utcnow(), rng) for job, outcome in results]
    db.session.commit()
    return statuses


def _apply(job: Job, outcome: Outcome, now: datetime, rng: random.Random | None) -> str:
    delivery = db.session.get(WebhookDelivery, job.delivery_id, populate_existing=True)
    if delivery is None:  # endpoint deleted meanwhile
        return DEAD
    endpoint = delivery.endpoint
    db.session.add(WebhookAttempt(delivery_id=delivery.delivery_id, attempted_at=outcome.attempted_at or now,
                                  webhook_timestamp=outcome.timestamp, status_code=outcome.status_code,
                                  latency_ms=outcome.latency_ms, error=outcome.error,
                                  response_excerpt=outcome.excerpt))
    delivery.attempts += 1
    delivery.first_attempt_at = delivery.first_attempt_at or outcome.attempted_at or now
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    code = outcome.status_code
    if delivery.status == DELIVERED or (code is not None and 200 <= code < 300 and outcome.error is None):
        delivery.status, delivery.finished_at = DELIVERED, now
        endpoint.failing_since = None
    elif code == 410:
        delivery.status, delivery.finished_at = DEAD, now
        endpoint.enabled = False
        endpoint.disabled_reason = "The receiver answered 410 Gone: the endpoint was disabled."
    else:
        endpoint.failing_since = endpoint.failing_since or now
        if now - endpoint.failing_since >= DISABLE_AFTER:
            endpoint.enabled = False
            endpoint.disabled_reason = (f"Every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC: "
                                        "the endpoint was disabled.")
        asked = retry_after(outcome.retry_after, now) if code in (429, 503) else None
        delay = asked if asked is not None else backoff(delivery.attempts, rng)
        if now + timedelta(seconds=delay) - delivery.first_attempt_at > GIVE_UP_AFTER:
            delivery.status, delivery.finished_at = DEAD, now
        else:
            delivery.status = PENDING
            delivery.next_attempt_at = now + timedelta(seconds=delay)
    db.session.flush()
    return delivery.status


def deliver_due(*, limit: int = 50, client: httpx.Client | None = None, timeout: float = TIMEOUT_SECONDS) -> int:
    """Fan out, then claim and attempt the due deliveries one after the other (tests and the
    CLI's --once). Returns how many attempts were made."""
    while fan_out():
        pass
    own = client or _client()
    try:
        jobs = claim(limit)
        for job in jobs:
            record(job, attempt(job, client=own, timeout=timeout))
        return len(jobs)
    finally:
        if client is None:
            own.close()


def _client() -> httpx.Client:
    http_log = logging.getLogger("httpx")
    if http_log.level == logging.NOTSET:  # one INFO line per request otherwise: the log says what matters
        http_log.setLevel(logging.WARNING)
    return httpx.Client(follow_redirects=False, trust_env=False, timeout=TIMEOUT_SECONDS,
                        limits=httpx.Limits(max_connections=WORKERS * 4, max_keepalive_connections=WORKERS * 2))


# -- the loop ---------------------------------------------------------------------------------------

class Dispatcher:
    """A fan-out and claim loop with a few worker threads posting the claimed deliveries."""

    def __init__(self, app: Flask, *, workers: int = WORKERS, timeout: float = TIMEOUT_SECONDS,
                 poll: float = POLL_SECONDS) -> None:
        self.app = app
        self.workers = workers
        self.timeout = timeout
        self.poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._results: queue.Queue[tuple[Job, Outcome]] = queue.Queue()
        self._draining = threading.Event()
        self._inflight: dict[int, int] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._pid: int | None = None
        self._atexit = False

    @property
    def enabled(self) -> bool:
        config = self.app.config
        if "WEBHOOK_DISPATCHER" in config:
            return bool(config["WEBHOOK_DISPATCHER"])
        return not self.app.testing

    @property
    def running(self) -> bool:
        return bool(self._threads) and self._pid == os.getpid() and self._threads[0].is_alive()

    def ensure_started(self) -> None:
        """Start once per process when enabled (cheap when running): the embedded default."""
        if self.enabled and not self.running:
            self.start()

    def wake(self, *_args: Any, **_kwargs: Any) -> None:
        self._wake.set()

    def start(self) -> None:
        if self.running:
            return
        with self._lock:
            if self.running:
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            self._jobs = queue.Queue()
            self._results = queue.Queue()
            self._draining = threading.Event()
            self._inflight = {}
            self._client = _client()
            self._threads = [threading.Thread(target=self._loop, name="webhook-dispatcher", daemon=True)]
            self._threads += [threading.Thread(target=self._work, name=f"webhook-worker-{i}", daemon=True)
                              for i in range(self.workers)]
            for thread in self._threads:
                thread.start()
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True
        log.info("webhook dispatcher started (%s workers)", self.workers)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming, let the attempts in flight end and record them (a claim that is not
        recorded lapses: the delivery is attempted again later, same webhook-id)."""
        if not self._threads or self._pid != os.getpid():
            return
        self._draining.set()
        for _ in range(self.workers):
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        loop, workers = self._threads[0], self._threads[1:]
        for thread in workers:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()
        self._wake.set()
        if loop is not threading.current_thread():
            loop.join(max(0.1, deadline - time.monotonic()))
        self._threads = []
        self._client.close()

    def run_forever(self) -> None:
        """The CLI: run in this thread until interrupted (Ctrl-C or SIGTERM: attempts in flight
        end first)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_args: self._stop.set())
        self.start()
        try:
            while not self._stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop(timeout=TIMEOUT_SECONDS + 1)

    def _loop(self) -> None:
        with self.app.app_context():
            while not self._stop.is_set():
                busy = False
                try:
                    busy = self.tick()
                except Exception:
                    db.session.rollback()
                    log.exception("webhook dispatcher tick failed; will retry")
                finally:
                    db.session.close()
                if not busy:
                    self._wake.wait(self.poll)
                    self._wake.clear()
            self._guarded_record()  # the attempts that ended while stopping
            db.session.remove()

    def _guarded_record(self) -> int:
        results: list[tuple[Job, Outcome]] = []
        while len(results) < RECORD_BATCH:
            try:
                results.append(self._results.get_nowait())
            except queue.Empty:
                break
        if results:
            try:
                record_many(results)
            except Exception:
                db.session.rollback()
                log.exception("recording %s webhook attempts failed; their claims will lapse", len(results))
        return len(results)

    def tick(self) -> bool:
        """Record the attempts that ended, fan out, then claim enough deliveries to keep the
        workers busy. True if it did work."""
        recorded = self._guarded_record()
        if self._draining.is_set():
            return bool(recorded)
        read = fan_out()
        with self._lock:
            free = 2 * self.workers - sum(self._inflight.values())
            full = frozenset(e for e, n in self._inflight.items() if n >= PER_ENDPOINT)
        jobs = claim(free, exclude=full) if free > 0 else []
        picked: list[Job] = []
        extra: list[int] = []
        with self._lock:
            for job in jobs:
                n = self._inflight.get(job.endpoint_id, 0)
                if n >= PER_ENDPOINT:
                    extra.append(job.delivery_id)
                    continue
                self._inflight[job.endpoint_id] = n + 1
                picked.append(job)
        if extra:
            release(extra)
        for job in picked:
            self._jobs.put(job)
        return bool(recorded or read or jobs)

    def _work(self) -> None:
        """Attempt claimed deliveries (no database work: the loop records the outcomes in batches)."""
        with self.app.app_context():  # the URL check reads the config
            while True:
                job = self._jobs.get()
                if job is None:
                    break
                try:
                    outcome = attempt(job, client=self._client, timeout=self.timeout)
                except Exception as error:  # never lose the outcome of a claim
                    log.exception("webhook delivery %s failed", job.delivery_id)
                    outcome = Outcome(error=f"{type(error).__name__}: {error}"[:300], attempted_at=utcnow(),
                                      timestamp=int(time.time()))
                self._results.put((job, outcome))
                with self._lock:
                    left = self._inflight.get(job.endpoint_id, 1) - 1
                    if left > 0:
                        self._inflight[job.endpoint_id] = left
                    else:
                        self._inflight.pop(job.endpoint_id, None)
                self._wake.set()


def init_app(app: Flask) -> Dispatcher:
    dispatcher = app.extensions[EXTENSION] = Dispatcher(app)
    signals.connect(app, signals.event_committed, dispatcher.wake)
    return dispatcher


def current(app: Flask | None = None) -> Dispatcher:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions[EXTENSION]


def shutdown(app: Flask) -> None:
    dispatcher = app.extensions.get(EXTENSION)
    if dispatcher is not None:
        dispatcher.stop()


__all__ = ["DEAD", "DELIVERED", "Dispatcher", "backoff", "claim", "deliver_due", "fan_out", "record"]
