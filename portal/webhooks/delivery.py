"""Delivering webhooks from the outbox, at least once: the database and HTTP steps.

Three steps, safe with any number of dispatchers (PostgreSQL) or one (SQLite); a dispatcher
(portal.webhooks.dispatcher) runs them in one transaction per round (`work`):

1. **Fan-out.** The outbox is read in commit order by `sequence`, after the position kept in
   `webhook_cursor` (its row is locked while read: one dispatcher fans out at a time). Each
   event becomes one `webhook_delivery` per matching enabled endpoint (one multi-row INSERT),
   and the position moves, in the same transaction: an event is fanned out exactly once.
   Deliveries are created here rather than in the event's own transaction so a registration or
   a "start" never pays for webhooks and an endpoint's filter is read once, by one process.
2. **Claim.** One `UPDATE … WHERE delivery_id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)
   RETURNING` (on SQLite the statement holds the write lock) moves the due deliveries'
   `next_attempt_at` past the attempt's timeout: that is the claim; their events, URLs and
   secrets are read in two more queries. The attempts run with no transaction open.
3. **Record.** The outcomes of finished attempts are stored together (the attempts in one
   INSERT, the deliveries read in one query). A dispatcher killed mid-attempt leaves the
   delivery due again when its claim lapses: another attempt, same `webhook-id` (at least once).

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
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import joinedload

from portal.core.models import OutboxEvent, User, Webinar
from portal.db_types import utcnow
from portal.errors import PortalError
from portal.extensions import db
from portal.webhooks import endpoints, safety, signing
from portal.webhooks.models import (
    DEAD,
    DELIVERED,
    DISABLED_FAILING,
    DISABLED_GONE,
    PENDING,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15.0
CLAIM_SECONDS = 60.0  # a claimed delivery is due again this long after its claim (> timeout)
BASE_DELAY = 30.0
MAX_DELAY = 6 * 3600.0
GIVE_UP_AFTER = timedelta(days=3)
DISABLE_AFTER = timedelta(days=5)
FANOUT_BATCH = 500
EXCERPT = 500  # characters of the answer kept
READ_LIMIT = 64 * 1024  # bytes of an answer read at most
USER_AGENT = "webinar-portal-webhooks/1"
CLIENT_CONNECTIONS = 64


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
    """Turn the next events into deliveries in the caller's transaction (the cursor row stays
    locked until it ends); returns how many events were read."""
    cursor = db.session.scalars(select(WebhookCursor).where(WebhookCursor.name == endpoints.CURSOR)
                                .with_for_update(skip_locked=True)).first()
    if cursor is None:  # no endpoint yet, or another dispatcher is fanning out right now
        return 0
    events = db.session.execute(select(OutboxEvent.id, OutboxEvent.event_id, OutboxEvent.event,
                                       OutboxEvent.webinar_id, OutboxEvent.sequence)
                                .where(OutboxEvent.sequence > cursor.position)
                                .order_by(OutboxEvent.sequence).limit(limit)).all()
    if not events:
        return 0
    targets = list(db.session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))))
    owners = {u.user_id: u for u in db.session.scalars(
        select(User).where(User.user_id.in_({t.owner_user_id for t in targets})))} if targets else {}
    own_webinars: dict[int, set[int]] = {}
    now = utcnow()
    rows: list[dict[str, Any]] = []
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
            rows.append({"endpoint_id": endpoint.endpoint_id, "outbox_id": event.id, "event_id": event.event_id,
                         "event": event.event, "status": PENDING, "attempts": 0, "created_at": now,
                         "next_attempt_at": now})
    if rows:  # "replay since…" may have queued one already
        done = {(row.endpoint_id, row.outbox_id) for row in db.session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.outbox_id)
            .where(WebhookDelivery.outbox_id.in_([e.id for e in events])))}
        rows = [r for r in rows if (r["endpoint_id"], r["outbox_id"]) not in done]
    if rows:
        db.session.execute(insert(WebhookDelivery), rows)
    cursor.position = events[-1].sequence
    cursor.updated_at = now
    db.session.flush()
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


def _pending_statement() -> Any:
    position = select(WebhookCursor.position).where(WebhookCursor.name == endpoints.CURSOR).scalar_subquery()
    fresh = exists().where(OutboxEvent.sequence > position)
    due = exists().where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= bindparam("now"))
    return select(fresh | due)


#: Built once: the loop asks after every commit that announced an event (a registration
#: burst's worker woke it ~100 times a second; building it was a sixth of its cost).
_PENDING = _pending_statement()


def pending(now: datetime | None = None) -> bool:
    """One lock-free read: is there an event to fan out or a delivery due? (An idle
    dispatcher's whole cost.)"""
    return bool(db.session.execute(_PENDING, {"now": now or utcnow()}).scalar())


def claim(limit: int, *, exclude: frozenset[int] = frozenset()) -> list[Job]:
    """Claim up to `limit` due deliveries of enabled endpoints (not those in `exclude`), in the
    caller's transaction (the claim holds once it commits)."""
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
    claimed = list(db.session.scalars(
        update(WebhookDelivery).where(WebhookDelivery.delivery_id.in_(due.scalar_subquery()))
        .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
        .returning(WebhookDelivery.delivery_id).execution_options(synchronize_session=False)))
    if not claimed:
        return []
    rows = db.session.execute(
        select(WebhookDelivery.delivery_id, WebhookDelivery.endpoint_id, WebhookDelivery.event_id,
               WebhookEndpoint.url, OutboxEvent)
        .join(WebhookEndpoint, WebhookEndpoint.endpoint_id == WebhookDelivery.endpoint_id)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.outbox_id)
        .where(WebhookDelivery.delivery_id.in_(claimed))
        .order_by(WebhookDelivery.delivery_id)).all()
    keys: dict[int, list[str]] = {}
    for secret in db.session.scalars(select(WebhookSecret).where(
            WebhookSecret.endpoint_id.in_({row.endpoint_id for row in rows}))
            .order_by(WebhookSecret.secret_id)):
        if secret.expires_at is None or secret.expires_at > now:
            keys.setdefault(secret.endpoint_id, []).append(secret.secret)
    return [Job(delivery_id=row.delivery_id, endpoint_id=row.endpoint_id, url=row.url, event_id=row.event_id,
                body=payload(row.OutboxEvent), secrets=tuple(keys.get(row.endpoint_id, ())))
            for row in rows if row.OutboxEvent.sequence is not None]


def release(delivery_ids: list[int]) -> None:
    """Hand claimed deliveries back (more than one endpoint's share were claimed); in the
    caller's transaction."""
    db.session.execute(update(WebhookDelivery).where(WebhookDelivery.delivery_id.in_(delivery_ids),
                                                     WebhookDelivery.status == PENDING)
                       .values(next_attempt_at=utcnow()).execution_options(synchronize_session=False))


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


def record(results: list[tuple[Job, Outcome]], *, rng: random.Random | None = None) -> list[str]:
    """Store the attempts and decide each delivery: delivered, retry later, or dead; in the
    caller's transaction (attempts in one INSERT, deliveries and endpoints read in one query).
    Returns the statuses in order."""
    if not results:
        return []
    now = utcnow()
    loaded = {d.delivery_id: d for d in db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.delivery_id.in_({job.delivery_id for job, _ in results}))
        .options(joinedload(WebhookDelivery.endpoint)).execution_options(populate_existing=True))}
    attempts: list[dict[str, Any]] = []
    statuses: list[str] = []
    for job, outcome in results:
        delivery = loaded.get(job.delivery_id)
        if delivery is None:  # endpoint deleted meanwhile
            statuses.append(DEAD)
            continue
        attempts.append({"delivery_id": delivery.delivery_id, "attempted_at": outcome.attempted_at or now,
                         "webhook_timestamp": outcome.timestamp, "status_code": outcome.status_code,
                         "latency_ms": outcome.latency_ms, "error": outcome.error,
                         "response_excerpt": outcome.excerpt})
        statuses.append(_decide(delivery, outcome, now, rng))
    if attempts:
        db.session.execute(insert(WebhookAttempt), attempts)
    db.session.flush()
    return statuses


def _decide(delivery: WebhookDelivery, outcome: Outcome, now: datetime, rng: random.Random | None) -> str:
    endpoint = delivery.endpoint
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
        endpoint.disabled_reason = DISABLED_GONE
    else:
        endpoint.failing_since = endpoint.failing_since or now
        if now - endpoint.failing_since >= DISABLE_AFTER:
            endpoint.enabled = False
            endpoint.disabled_reason = DISABLED_FAILING
        asked = retry_after(outcome.retry_after, now) if code in (429, 503) else None
        delay = asked if asked is not None else backoff(delivery.attempts, rng)
        if now + timedelta(seconds=delay) - delivery.first_attempt_at > GIVE_UP_AFTER:
            delivery.status, delivery.finished_at = DEAD, now
        else:
            delivery.status = PENDING
            delivery.next_attempt_at = now + timedelta(seconds=delay)
    return delivery.status


def deliver_due(*, limit: int = 50, client: httpx.Client | None = None, timeout: float = TIMEOUT_SECONDS) -> int:
    """Fan out, then claim and attempt the due deliveries one after the other, each outcome
    committed at once (tests and the CLI's --once). Returns how many attempts were made."""
    while fan_out():
        db.session.commit()
    jobs = claim(limit)
    db.session.commit()
    own = client or new_client()
    try:
        for job in jobs:
            record([(job, attempt(job, client=own, timeout=timeout))])
            db.session.commit()
        return len(jobs)
    finally:
        if client is None:
            own.close()


def new_client() -> httpx.Client:
    """The HTTP client of a dispatcher: no redirects, no proxy from the environment, pooled."""
    http_log = logging.getLogger("httpx")
    if http_log.level == logging.NOTSET:  # one INFO line per request otherwise: the log says what matters
        http_log.setLevel(logging.WARNING)
    return httpx.Client(follow_redirects=False, trust_env=False, timeout=TIMEOUT_SECONDS,
                        limits=httpx.Limits(max_connections=CLIENT_CONNECTIONS,
                                            max_keepalive_connections=CLIENT_CONNECTIONS // 2))
