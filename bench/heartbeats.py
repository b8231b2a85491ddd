"""Auto-webinar heartbeats (SPEC §10: 10,000 viewers every 10 s with <= 1 database transaction
per second per process).

Drives the real code path minus the network: `heartbeats.on_socket_heartbeat(ctx, frame)` (the
handler the room socket calls: validation against the live point, the in-memory coalescer)
and the real background flusher thread writing to a real database. Per viewer:
1. setup (not measured): a lead and a watch-now registration, bulk-inserted;
2. enter (measured apart): the first heartbeat of each viewer enters through the runtime
   (user_meta session + attendance row + event, one transaction each);
3. steady: every viewer beats every `--interval` seconds, spread evenly, for `--seconds`;
   the positions follow each viewer's live point. Reported: heartbeats/s, the handler's cost,
   database transactions (engine "commit" events) per second, rows and time per flush;
4. max: one generator thread beats as fast as it can for `--seconds` (the sustainable rate of
   one process, since the flusher shares the same interpreter).

    .venv/bin/python bench/heartbeats.py                              # SQLite file, 10,000 viewers
    .venv/bin/python bench/heartbeats.py --viewers 20000 --interval 5
    .venv/bin/python bench/heartbeats.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/heartbeats.py --viewers 50000 --enter-single 2000 --enter-batch 1000 --seconds 20
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import scratch  # noqa: E402


class BenchSocket:
    """A room socket's context as the handler gets it (portal.realtime.SocketContext), counting
    the answers instead of writing them to a socket."""

    def __init__(self, webinar_id: int, registration_id: int, lead_id: int) -> None:
        from portal.realtime import Admission, SocketContext

        self.answers = 0
        admission = Admission(f"room:{webinar_id}", "room", member=lead_id,
                              ids={"registration_id": registration_id, "webinar_id": webinar_id, "lead_id": lead_id})
        self.context = SocketContext(admission, connection_id=f"bench-{registration_id}", send=self._count)

    def _count(self, html: str) -> None:
        self.answers += 1


@dataclass
class Viewer:
    ctx: BenchSocket
    started: float = 0.0  # monotonic time of the session start (its live point 0)


def setup(app, viewers: int, duration: int):  # noqa: ANN001, ANN201
    """An auto webinar (live) and `viewers` leads with watch-now registrations (bulk insert)."""
    from sqlalchemy import insert, select

    from portal.core.models import User
    from portal.db_types import utcnow
    from portal.extensions import db
    from portal.registration.models import Registration
    from portal.registration.tokens import hash_token
    from tests import factories

    webinar = factories.webinar(type="auto", status="live", recording_duration_sec=duration, cta_at_sec=60,
                                slug="bench-auto", title="Bench auto")
    now = utcnow().replace(microsecond=123_456)  # a watch-now start (sub-second part)
    db.session.execute(insert(User), [
        {"email": f"viewer{i}@bench.example", "display_name": f"Viewer {i}", "role": "lead"} for i in range(viewers)])
    ids = list(db.session.scalars(select(User.user_id).where(User.email.like("viewer%@bench.example"))
                                  .order_by(User.user_id)))
    db.session.execute(insert(Registration), [
        {"webinar_id": webinar.webinar_id, "lead_id": lead_id, "webinar_type": "auto", "starts_at": now,
         "join_token_hash": hash_token(secrets.token_urlsafe(24)), "source": "bench"} for lead_id in ids])
    db.session.commit()
    regs = db.session.execute(select(Registration.registration_id, Registration.lead_id)
                              .where(Registration.webinar_id == webinar.webinar_id)).all()
    out = [Viewer(BenchSocket(webinar.webinar_id, registration_id, lead_id)) for registration_id, lead_id in regs]
    return webinar, out


class Counter:
    """Database transactions (commits) and statements, from SQLAlchemy engine events."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        from sqlalchemy import event

        self.commits = 0
        self.statements = 0
        self._lock = threading.Lock()
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "before_cursor_execute", self._statement)

    def _commit(self, conn) -> None:  # noqa: ANN001
        with self._lock:
            self.commits += 1

    def _statement(self, *args) -> None:  # noqa: ANN002
        with self._lock:
            self.statements += 1

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.commits, self.statements


def timed_flushes(heartbeats):  # noqa: ANN001, ANN201
    """Wrap the flusher's flush to record (viewers, seconds) of each flush its thread runs."""
    records: list[tuple[int, float]] = []
    original = heartbeats.current().flusher.flush

    def flush():  # noqa: ANN202
        start = time.perf_counter()
        rows = original()
        if rows:
            records.append((rows, time.perf_counter() - start))
        return rows

    heartbeats.current().flusher.flush = flush
    return records


def enter_batched(heartbeats, webinar_id: int, viewers: list[Viewer], batch: int) -> None:  # noqa: ANN001
    """Enter viewers `batch` per transaction (a bench shortcut for 50,000 viewers: the real
    path enters ~50-90 a second): their stored session (user_meta, as `runtime.enter` writes
    it), their attendance rows through `ledger.enter_many` (the go-live path, which emits
    client_webinar_entered), then this process's memory (viewer cache, entered connections)
    exactly as after a first heartbeat. Their next heartbeat is a known viewer's."""
    from sqlalchemy import select

    from portal.attendance import ledger
    from portal.autowebinar import cache, store
    from portal.autowebinar.coalescer import Connection
    from portal.db_types import utcnow
    from portal.extensions import db
    from portal.registration.models import Registration

    state = heartbeats.current()
    for at in range(0, len(viewers), batch):
        chunk = viewers[at:at + batch]
        ids = [v.ctx.context.id("registration_id") for v in chunk]
        regs = {r.registration_id: r for r in db.session.scalars(
            select(Registration).where(Registration.registration_id.in_(ids)))}
        now = utcnow()
        sessions = {rid: str(uuid.uuid4()) for rid in ids}
        rows = []
        for rid in ids:
            reg = regs[rid]
            rows += [(reg.lead_id, webinar_id, "session_id", sessions[rid]),
                     (reg.lead_id, webinar_id, "started_at", now), (reg.lead_id, webinar_id, "last_seen_at", now)]
        store.put_many(rows)
        ledger.enter_many(webinar_id, [(regs[rid], sessions[rid], f"bench-{rid}") for rid in ids])
        db.session.commit()
        started = time.monotonic()
        for v, rid in zip(chunk, ids, strict=True):
            reg = regs[rid]
            v.started = started
            state.cache.remember_viewer(cache.Viewer(
                lead_id=reg.lead_id, webinar_id=webinar_id, registration_id=rid, session_id=sessions[rid],
                started_at=store.decode_time(store.encode(now)), progress=-1, completed=False))
            state.connections.add((reg.lead_id, webinar_id, f"bench-{rid}"),
                                  Connection(rid, sessions[rid], False, started))
        db.session.remove()


def beat(heartbeats, viewer: Viewer, duration: int) -> float:  # noqa: ANN001
    """One heartbeat at the viewer's live point (minus a little, as a player reports)."""
    position = max(0.0, min(time.monotonic() - viewer.started - 0.3, duration))
    start = time.perf_counter()
    heartbeats.on_socket_heartbeat(viewer.ctx.context, {"type": "heartbeat", "position": round(position, 1)})
    return time.perf_counter() - start


def mean(values: list[float]) -> float:
    return statistics.mean(values) if values else 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between a viewer's heartbeats")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the steady and max phases")
    parser.add_argument("--database-url", default="", help="PostgreSQL server URL (default: a SQLite file)")
    parser.add_argument("--enter-single", type=int, default=0,
                        help="enter only this many viewers through their real first heartbeat (0: all)")
    parser.add_argument("--enter-batch", type=int, default=1000,
                        help="enter the rest this many per transaction (enter_batched)")
    args = parser.parse_args()

    import logging

    logging.disable(logging.INFO)
    from portal import create_app
    from portal.autowebinar import heartbeats
    from portal.extensions import db

    duration = 4 * 3600
    # The enter phase takes minutes for 10,000 viewers; in real life a socket beats every few
    # seconds, so nothing is forgotten between its heartbeats. Keep everyone for the run.
    from portal.autowebinar import cache

    heartbeats.SOCKET_FORGET_AFTER = cache.VIEWER_IDLE_EVICT = 24 * 3600
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = scratch.database(args.database_url, Path(tmp), "bench_heartbeats")
        try:
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "bench",
                              "AUTOWEBINAR_FLUSH_INTERVAL": 1.0, "ROOM_ATTENDANCE_PUSH_INTERVAL": 3600})
            with app.app_context():
                db.create_all()
                webinar, viewers = setup(app, args.viewers, duration)
                webinar_id = webinar.webinar_id
                print(f"database: {db.engine.dialect.name}; viewers: {len(viewers)}; "
                      f"heartbeat every {args.interval:g} s -> {len(viewers) / args.interval:,.0f}/s offered")
                counter = Counter(db.engine)
                flushes = timed_flushes(heartbeats)

                # Enter: each viewer's first heartbeat (one transaction each), or the first
                # --enter-single that way and the rest in batches.
                single = viewers[:args.enter_single] if args.enter_single else viewers
                t0 = time.perf_counter()
                for v in single:
                    v.started = time.monotonic()
                    beat(heartbeats, v, duration)
                    db.session.remove()
                entered = time.perf_counter() - t0
                print(f"enter: {len(single)} first heartbeats in {entered:.1f} s "
                      f"({len(single) / entered:,.0f}/s, one transaction each)")
                if len(single) < len(viewers):
                    t0 = time.perf_counter()
                    enter_batched(heartbeats, webinar_id, viewers[len(single):], args.enter_batch)
                    print(f"       {len(viewers) - len(single)} more in batches of {args.enter_batch} "
                          f"in {time.perf_counter() - t0:.1f} s")
                time.sleep(1.5)  # the flusher writes the first positions

                # Steady: everyone beats every `interval` seconds, spread evenly.
                flushes.clear()
                c0, s0 = counter.snapshot()
                costs: list[float] = []
                start = time.monotonic()
                sent = 0
                gap = args.interval / len(viewers)
                late = 0.0
                while True:
                    now = time.monotonic()
                    if now - start >= args.seconds:
                        break
                    due = int((now - start) / gap)
                    while sent < due:
                        costs.append(beat(heartbeats, viewers[sent % len(viewers)], duration))
                        sent += 1
                    late = max(late, (now - start) - sent * gap)
                    time.sleep(0.002)
                elapsed = time.monotonic() - start
                time.sleep(1.2)
                c1, s1 = counter.snapshot()
                rows = [r for r, _ in flushes]
                secs = [s for _, s in flushes]
                print(f"steady: {sent:,} heartbeats in {elapsed:.1f} s = {sent / elapsed:,.0f}/s; handler "
                      f"mean {statistics.mean(costs) * 1e6:.1f} µs, p99 {pct(costs, .99) * 1e6:.1f} µs")
                print(f"        database: {c1 - c0} transactions = {(c1 - c0) / (elapsed + 1.2):.2f}/s, "
                      f"{s1 - s0} statements; {len(flushes)} flushes, {mean(rows):,.0f} viewers each, "
                      f"flush mean {mean(secs) * 1e3:.0f} ms, max {max(secs, default=0) * 1e3:.0f} ms")

                # Max: one generator as fast as it can (the flusher shares the process).
                flushes.clear()
                c0, s0 = counter.snapshot()
                costs = []
                start = time.monotonic()
                sent = 0
                while time.monotonic() - start < args.seconds:
                    costs.append(beat(heartbeats, viewers[sent % len(viewers)], duration))
                    sent += 1
                elapsed = time.monotonic() - start
                time.sleep(1.2)
                c1, s1 = counter.snapshot()
                rows = [r for r, _ in flushes]
                secs = [s for _, s in flushes]
                print(f"max:    {sent:,} heartbeats in {elapsed:.1f} s = {sent / elapsed:,.0f}/s sustained; "
                      f"handler mean {statistics.mean(costs) * 1e6:.1f} µs, p99 {pct(costs, .99) * 1e6:.1f} µs")
                print(f"        database: {c1 - c0} transactions = {(c1 - c0) / (elapsed + 1.2):.2f}/s; "
                      f"{len(flushes)} flushes, {mean(rows):,.0f} viewers each, "
                      f"flush mean {mean(secs) * 1e3:.0f} ms, max {max(secs, default=0) * 1e3:.0f} ms")
                heartbeats.current().flusher.stop(timeout=120)
                # Nothing lost: every viewer's milestone and position are in the database.
                from sqlalchemy import func, select

                from portal.core.models import UserMeta

                db.session.remove()
                stored = dict(db.session.execute(
                    select(UserMeta.meta_key, func.count()).where(UserMeta.meta_key.in_([
                        f"autowebinar_progress_percent:{webinar_id}", f"autowebinar_last_position_sec:{webinar_id}"]))
                    .group_by(UserMeta.meta_key)).all())
                progress_rows = stored.get(f"autowebinar_progress_percent:{webinar_id}", 0)
                position_rows = stored.get(f"autowebinar_last_position_sec:{webinar_id}", 0)
                print(f"stored after the final flush: progress_percent {progress_rows:,}, "
                      f"last_position_sec {position_rows:,} "
                      f"of {len(viewers):,} viewers; queued {len(heartbeats.current().coalescer):,}")
                db.session.remove()
                db.engine.dispose()
        finally:
            drop()


if __name__ == "__main__":
    main()
