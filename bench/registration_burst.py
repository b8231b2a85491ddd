"""Registration burst (SPEC §10: >= 300 POST/s on SQLite, >= 600 on PostgreSQL, p99 < 250 ms,
none lost).

Runs the app under gunicorn with gevent workers (as `make run` does) on a fresh database with
one published webinar, then:
1. warm-up: `--clients` visitors each GET /w/<slug> (session cookie + CSRF token, as a browser);
2. burst: `--requests` POST /w/<slug>/register with distinct emails, `--concurrency` in flight,
   spread over those visitors on keep-alive connections; each must answer 303;
3. check: every answered registration is in the database, with exactly one
   client_webinar_registered event each.

The per-IP rate limit is raised through PORTAL_REGISTRATION_RATE_LIMIT for the run.

    .venv/bin/python bench/registration_burst.py                       # SQLite file
    .venv/bin/python bench/registration_burst.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import http.client  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

from gevent.pool import Pool  # noqa: E402
from gevent.queue import Queue  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SLUG = "bench-burst"


#: Sessions need a key of at least 32 bytes outside tests (portal.config.check_secret_key).
BENCH_SECRET_KEY = "bench-secret-key-for-local-runs-only-0123456789"

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_database(url: str | None, workdir: Path) -> str:
    """A fresh database with the schema, an organizer and one published live webinar."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from portal.config import normalise_database_url

    if url is None:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    elif url.startswith("postgres"):
        admin = create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
        name = f"bench_registration_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(normalise_database_url(url)).set(database=name).render_as_string(hide_password=False)

    from portal import create_app
    from portal.core import lifecycle, users
    from portal.core.models import Webinar
    from portal.core.permissions import SYSTEM
    from portal.db_types import utcnow
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": BENCH_SECRET_KEY})
    with app.app_context():
        db.create_all()
        owner = users.create_user("organizer@bench.example.com", role="organizer", password="bench-password")
        db.session.flush()
        webinar = Webinar(type="live", title="Burst", slug=SLUG, owner_user_id=owner.user_id,
                          scheduled_at=utcnow() + timedelta(days=1), stream_type="obs",
                          stream_url="https://cdn.example.com/live.m3u8")
        db.session.add(webinar)
        db.session.commit()
        lifecycle.publish(webinar, actor=SYSTEM)
        db.session.remove()
        db.engine.dispose()
    return url


def count_rows(url: str) -> tuple[int, int]:
    from sqlalchemy import create_engine, text

    from portal.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        regs = conn.execute(text("SELECT count(*) FROM registration")).scalar_one()
        events = conn.execute(text(
            "SELECT count(*) FROM event_outbox WHERE event = 'client_webinar_registered'")).scalar_one()
    engine.dispose()
    return regs, events


def start_server(url: str, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": url,
        "PORTAL_SECRET_KEY": BENCH_SECRET_KEY,
        "PORTAL_REGISTRATION_RATE_LIMIT": "1000000000",
        "PORTAL_WORKERS": str(workers),
        "PORTAL_ACCESS_LOG": "/dev/null",
        "PORTAL_LOG_LEVEL": "INFO",
    }
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--no-control-socket", "wsgi:app"],  # no shared control socket in $HOME
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited early; see {log_path}")
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz in 30 s")


@dataclass
class Visitor:
    """One browser: a keep-alive connection, its cookies and CSRF token."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""
    conn: http.client.HTTPConnection | None = None

    def _send(self, method: str, path: str, body: str | None = None) -> http.client.HTTPResponse:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None  # the server closed an idle keep-alive connection: reconnect once
                if attempt:
                    raise
        for raw in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = raw.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response

    def open(self) -> None:
        response = self._send("GET", f"/w/{SLUG}")
        html = response.read().decode()
        match = CSRF.search(html)
        if response.status != 200 or not match:
            raise RuntimeError(f"no form: {response.status}")
        self.token = match.group(1)

    def register(self, email: str) -> tuple[int, float]:
        body = urlencode({"name": "Burst Visitor", "email": email, "slot_id": "", "csrf_token": self.token})
        started = time.perf_counter()
        response = self._send("POST", f"/w/{SLUG}/register", body)
        response.read()
        return response.status, time.perf_counter() - started


def cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every process in the server's process group (Linux /proc)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 (pgrp) counted after the command name
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server URL (a fresh database is created); default: a SQLite file")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--clients", type=int, default=200, help="distinct visitors (sessions) posting")
    parser.add_argument("--workers", type=int, default=1,
                        help="gunicorn gevent workers (make run uses 1; more need PORTAL_REDIS_URL set)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server log, SQLite file)")
    args = parser.parse_args()
    args.clients = max(args.clients, args.concurrency)

    workdir = Path(tempfile.mkdtemp(prefix="bench-registration-"))
    url = prepare_database(args.database_url, workdir)
    port = free_port()
    server = start_server(url, port, args.workers, workdir / "gunicorn.log")
    try:
        visitors = [Visitor(port) for _ in range(args.clients)]
        warm = Pool(args.concurrency)
        for v in visitors:
            warm.spawn(v.open)
        warm.join(raise_error=True)

        # Yardstick from the same moment: what a trivial request (/healthz, SELECT 1) costs the
        # server. On a shared machine this moves with the neighbours' load; the ratio does not.
        def probe(v: Visitor) -> None:
            for _ in range(20):
                v._send("GET", "/healthz").read()

        probe_cpu = cpu_seconds(server.pid)
        for v in visitors[:50]:
            warm.spawn(probe, v)
        warm.join(raise_error=True)
        probe_cpu = (cpu_seconds(server.pid) - probe_cpu) / (20 * min(50, len(visitors)))

        run = uuid.uuid4().hex[:8]
        statuses: dict[int, int] = {}
        latencies: list[float] = []

        idle: Queue = Queue()
        for v in visitors:
            idle.put(v)

        def one(i: int) -> None:
            visitor = idle.get()  # one request at a time per visitor, like a browser tab
            try:
                status, seconds = visitor.register(f"burst-{run}-{i}@example.com")
            finally:
                idle.put(visitor)
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append(seconds)

        pool = Pool(args.concurrency)
        server_cpu = cpu_seconds(server.pid)
        client_cpu = time.process_time()
        started = time.perf_counter()
        for i in range(args.requests):
            pool.spawn(one, i)
        pool.join(raise_error=True)
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)

    regs, events = count_rows(url)
    ok = statuses.get(303, 0)
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"backend {backend}, gunicorn -k gevent workers={args.workers}, cores={os.cpu_count()}")
    print(f"requests {args.requests}, concurrency {args.concurrency}, visitors {args.clients}")
    print(f"throughput {args.requests / elapsed:.0f} POST/s ({elapsed:.2f} s)")
    print(f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, p90 {percentile(latencies, 90) * 1000:.1f} ms, "
          f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    print(f"answers {dict(sorted(statuses.items()))}")
    print(f"CPU: server {server_cpu / args.requests * 1000:.2f} ms per POST ({server_cpu:.1f} s), "
          f"load generator {client_cpu / args.requests * 1000:.2f} ms per POST ({client_cpu:.1f} s); "
          f"GET /healthz {probe_cpu * 1000:.2f} ms (POST = {server_cpu / args.requests / probe_cpu:.1f}x); "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"stored registrations {regs}, client_webinar_registered events {events}, "
          f"lost {ok - regs}; {'OK' if regs == events == ok == args.requests else 'MISMATCH'}")
    if args.database_url and url.startswith("postgres"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from portal.config import normalise_database_url

        admin = create_engine(normalise_database_url(args.database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
    if args.keep:
        print(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if not regs == events == ok == args.requests:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
