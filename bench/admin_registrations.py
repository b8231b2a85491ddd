"""Organizer pages with 50,000 registrations (issue 4): the registrations table (first page, a
middle page, a search), the full CSV export (time, rows/s, peak memory), plus the attendance
and analytics pages of the same webinar.

A fresh database (SQLite file, or a scratch PostgreSQL database created and dropped here) gets
the schema through the migrations, one live webinar and, by bulk insert, `--registrations`
leads with their registrations, attendance rows (60 % attended, some twice), outbox events
(registered / entered / left / completed / CTA clicked), then ANALYZE on PostgreSQL (what
autovacuum does after a bulk load). Requests go through the Flask app
in-process (test client, logged in as the owner), so the numbers are server time without the
network. Memory: tracemalloc peak of Python allocations while the CSV streams.

    .venv/bin/python bench/admin_registrations.py
    .venv/bin/python bench/admin_registrations.py --database-url postgresql://postgres@127.0.0.1:5432/test
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import scratch  # noqa: E402

UTC = UTC
FIRST = ["Анна", "Иван", "Мария", "Пётр", "Olga", "John", "Emma", "Дмитрий", "Lena", "Sergei", "Наталья", "Alex"]
LAST = ["Иванова", "Smith", "Петров", "Müller", "Kuznetsov", "Brown", "Соколова", "Novak"]
SOURCES = ["", "", "newsletter", "facebook", "ref:partner", "utm:google", "-promo"]
BATCH = 5000


def seed(n: int, *, rng: random.Random) -> tuple[int, str]:
    """One live webinar with `n` registrations and their ledgers; returns (webinar_id, owner email)."""
    from sqlalchemy import insert, text

    from portal.attendance.models import Attendance
    from portal.core import lifecycle, users
    from portal.core.models import OutboxEvent, User, Webinar
    from portal.core.permissions import SYSTEM
    from portal.db_types import utcnow
    from portal.extensions import db
    from portal.registration.models import Registration

    owner = users.create_user("owner@example.com", role="organizer", password="bench-password", display_name="Owner")
    db.session.flush()
    now = utcnow()
    webinar = Webinar(type="live", title="Bench webinar", slug="bench-admin", scheduled_at=now + timedelta(hours=1),
                      timezone="Europe/Berlin", stream_type="obs", stream_url="https://cdn.example.com/x.m3u8",
                      cta_text="Buy", cta_url="https://example.com", owner_user_id=owner.user_id)
    db.session.add(webinar)
    db.session.commit()
    lifecycle.publish(webinar, actor=SYSTEM)
    lifecycle.core_webinar_set_status(webinar, "start", actor=SYSTEM)
    wid = webinar.webinar_id
    first_lead = owner.user_id + 1
    start = now - timedelta(days=14)
    session_id = str(uuid.uuid4())

    def batches(rows):
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    leads = ({"user_id": first_lead + i, "email": f"lead{i}@example.com", "role": "lead", "is_disabled": False,
              "display_name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}", "created_at": start} for i in range(n))
    for batch in batches(leads):
        db.session.execute(insert(User), batch)
    registered_at = sorted(start + timedelta(seconds=rng.uniform(0, 14 * 86400)) for _ in range(n))
    regs = ({"registration_id": i + 1, "webinar_id": wid, "lead_id": first_lead + i, "webinar_type": "live",
             "registered_at": registered_at[i], "source": rng.choice(SOURCES),
             "join_token_hash": hashlib.sha256(f"token-{i}".encode()).hexdigest()} for i in range(n))
    for batch in batches(regs):
        db.session.execute(insert(Registration), batch)

    attendance, events = [], []
    live_start = now - timedelta(hours=2)

    def event(name: str, lead: int, at: datetime, data: dict | None = None) -> dict:
        return {"event_id": str(uuid.uuid4()), "event": name, "occurred_at": at, "webinar_id": wid, "lead_id": lead,
                "session_id": session_id, "data": data or {}}

    for i in range(n):
        lead = first_lead + i
        events.append(event("client_webinar_registered", lead, registered_at[i]))
        if rng.random() < 0.6:
            visits = 2 if rng.random() < 0.2 else 1
            at = live_start + timedelta(minutes=rng.uniform(0, 30))
            for v in range(visits):
                left = at + timedelta(minutes=rng.uniform(1, 60))
                attendance.append({"webinar_id": wid, "lead_id": lead, "session_id": session_id,
                                   "connection_id": f"c{i}-{v}", "entered_at": at, "left_at": left,
                                   "leave_reason": rng.choice(["left", "disconnected", "left"]), "completed_at": None})
                at = left + timedelta(minutes=rng.uniform(0, 10))
            events.append(event("client_webinar_entered", lead, attendance[-visits]["entered_at"]))
            events.append(event("client_webinar_left", lead, attendance[-1]["left_at"], {"leave_reason": "left"}))
            if rng.random() < 0.5:
                attendance[-1]["completed_at"] = attendance[-1]["left_at"]
                events.append(event("client_webinar_completed", lead, attendance[-1]["left_at"]))
            if rng.random() < 0.2:
                events.append(event("client_webinar_cta_clicked", lead, attendance[-1]["left_at"]))
    for batch in batches(attendance):
        db.session.execute(insert(Attendance), batch)
    for batch in batches(events):
        db.session.execute(insert(OutboxEvent), batch)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh planner statistics, as autovacuum would gather after a bulk load (without them
        # PostgreSQL estimates a dozen registrations and sorts all 50,000 for the first page).
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    print(f"seeded {n} leads + registrations, {len(attendance)} attendance rows, {len(events)} outbox events")
    return wid, "owner@example.com"


def timed(client, url: str, *, repeat: int, headers: dict | None = None) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url, headers=headers or {})
        samples.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return {"median_ms": statistics.median(samples), "p95_ms": samples[max(0, int(len(samples) * 0.95) - 1)],
            "min_ms": samples[0]}


def export(client, url: str, *, trace: bool) -> dict[str, float]:
    """Stream the CSV to the end without keeping it; time, rows, bytes and (traced) peak memory."""
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    response = client.get(url, buffered=False)
    size = rows = 0
    for piece in response.response:
        size += len(piece)
        rows += piece.count(b"\n")
    response.close()
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    return {"seconds": elapsed, "rows": rows - 1, "bytes": size, "rows_per_s": (rows - 1) / elapsed,
            "peak_mib": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server URL (a scratch database is created on it)")
    parser.add_argument("--registrations", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db

    rng = random.Random(4)
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = scratch.database(args.database_url, Path(tmp), "bench_admin")
        try:
            app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench-" * 8,
                              "LOGIN_RATE_LIMIT": 1000, "TESTING": False})
            with app.app_context():
                upgrade()
                t0 = time.perf_counter()
                wid, email = seed(args.registrations, rng=rng)
                print(f"seed took {time.perf_counter() - t0:.1f} s on {db.engine.dialect.name}; "
                      f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared machine)")
                client = app.test_client()
                assert client.post("/login", data={"email": email, "password": "bench-password"}).status_code == 302
                base = f"/admin/webinars/{wid}"
                middle = args.registrations // 50 // 2
                htmx = {"HX-Request": "true", "HX-Target": "registrations"}
                cases = [
                    ("registrations, page 1", f"{base}/registrations", None),
                    (f"registrations, page {middle} (middle)", f"{base}/registrations?page={middle}", None),
                    ("registrations, last page", f"{base}/registrations?page=100000", None),
                    ("search 'lead4242' (HTMX partial)", f"{base}/registrations?q=lead4242", htmx),
                    ("search 'анна' (HTMX partial, page 1)", f"{base}/registrations?q=%D0%B0%D0%BD%D0%BD%D0%B0", htmx),
                    ("attendance report", f"{base}/attendance", None),
                    ("analytics", f"{base}/analytics", None),
                ]
                results = []
                for label, path, headers in cases:
                    r = timed(client, path, repeat=args.repeat, headers=headers)
                    results.append((label, r))
                    print(f"{label:42} median {r['median_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  "
                          f"min {r['min_ms']:7.1f} ms")
                exports = [export(client, f"{base}/registrations.csv", trace=False) for _ in range(3)]
                best = min(exports, key=lambda e: e["seconds"])
                traced = export(client, f"{base}/registrations.csv", trace=True)
                print(f"CSV export: {best['rows']} rows, {best['bytes'] / 2**20:.1f} MiB in {best['seconds']:.2f} s "
                      f"(best of 3; {best['rows_per_s']:,.0f} rows/s); peak traced memory {traced['peak_mib']:.1f} MiB "
                      f"(traced run {traced['seconds']:.2f} s)")
                print(f"load average at the end {os.getloadavg()[0]:.1f}")
                db.session.remove()
                db.engine.dispose()
        finally:
            drop()


if __name__ == "__main__":
    main()
