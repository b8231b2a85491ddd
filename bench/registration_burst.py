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

Yardstick (SPEC §10, issue 14: CPU per POST <= 2.5x CPU per GET /healthz): in the same run,
the same visitors fire `--requests` GET /healthz the same way (same concurrency, same
keep-alive connections) right before the POSTs. The CPU of each phase is the gunicorn
workers' own user + system time (/proc/<pid>/stat), counted until the workers are idle
again, so work a request leaves behind (the confirmation mail, sent by the worker's mail
sender) is counted with the POSTs, not hidden.

`--mailer external` runs the portal as a busy deployment does (PORTAL_MAIL_SENDER=external,
docs/DEPLOY.md): the web worker only queues the confirmation, a `flask portal mailer` process
(on the server's CPU when pinned) renders and sends it. That process's CPU is measured the
same way and reported on its own and added to the workers' ("web + mailer"), so the mail's
cost is moved, never hidden; the run also checks every confirmation left the ledger.

    .venv/bin/python bench/registration_burst.py                       # SQLite file
    .venv/bin/python bench/registration_burst.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/registration_burst.py --pin                 # server on CPU 0, clients on CPU 1
    .venv/bin/python bench/registration_burst.py --profile /tmp/reg    # py-spy on the worker during the POSTs
    .venv/bin/python bench/registration_burst.py --mailer external     # a mailer process sends the mail
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
from collections.abc import Callable  # noqa: E402
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


def prepare_database(url: str | None, workdir: Path) -> tuple[str, Callable[[], None]]:
    """A fresh database with the schema, an organizer and one published live webinar, and the
    function that drops it (bench/scratch.py)."""
    from bench import scratch

    url, drop = scratch.database(url, workdir, "bench_registration")

    from portal import create_app, shutdown
    from portal.core import lifecycle, users
    from portal.core.models import Webinar
    from portal.core.permissions import SYSTEM
    from portal.db_types import utcnow
    from portal.extensions import db

    # TESTING: no background loops in this seeding app (they would start before the schema).
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": BENCH_SECRET_KEY, "TESTING": True})
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
    shutdown(app)
    with app.app_context():
        db.engine.dispose()
    return url, drop


def count_rows(url: str) -> tuple[int, int, dict[str, int]]:
    from sqlalchemy import create_engine, text

    from portal.config import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        regs = conn.execute(text("SELECT count(*) FROM registration")).scalar_one()
        events = conn.execute(text(
            "SELECT count(*) FROM event_outbox WHERE event = 'client_webinar_registered'")).scalar_one()
        mails = dict(conn.execute(text("SELECT status, count(*) FROM mail_message WHERE kind = 'confirmation' "
                                       "GROUP BY status")).all())  # the reminders are due later
    engine.dispose()
    return regs, events, mails


def start_smtp_sink(port: int) -> subprocess.Popen:
    """A local SMTP server that accepts and drops every message (aiosmtpd, a test dependency),
    in its own process: its CPU is not the worker's."""
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c",
                             "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the SMTP sink did not start")


def portal_env(url: str, workers: int, smtp_url: str, mailer: str) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_DATABASE_URL": url,
        "PORTAL_SECRET_KEY": BENCH_SECRET_KEY,
        "PORTAL_REGISTRATION_RATE_LIMIT": "1000000000",
        "PORTAL_WORKERS": str(workers),
        "PORTAL_ACCESS_LOG": "/dev/null",
        "PORTAL_LOG_LEVEL": "INFO",
        "PORTAL_SMTP_URL": smtp_url,  # empty: every mail is rendered and kept (no SMTP)
        "PORTAL_MAIL_SENDER": mailer,
    }


def start_mailer(env: dict[str, str], log_path: Path, pin: bool) -> subprocess.Popen:
    """`flask portal mailer` (PORTAL_MAIL_SENDER=external): on the server's CPU when pinned."""
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([*(["taskset", "-c", "0"] if pin else []), str(ROOT / ".venv/bin/flask"), "--app", "wsgi",
                             "portal", "mailer"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_server(url: str, port: int, workers: int, log_path: Path, pin: bool = False,
                 smtp_url: str = "", mailer: str = "embedded") -> subprocess.Popen:
    env = portal_env(url, workers, smtp_url, mailer)
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [*(["taskset", "-c", "0"] if pin else []), str(ROOT / ".venv/bin/gunicorn"), "--config", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--no-control-socket", "wsgi:app"],  # no shared control socket in $HOME
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


def workers_of(master: int) -> list[int]:
    """The gunicorn master's worker pids (its children)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(c) for c in children]


def worker_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of the worker processes (all their threads)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def settle(pids: list[int], limit: float = 120.0) -> float:
    """Wait until the workers are idle (< 5 % of a core over 0.5 s: only the background loops),
    so work a request left behind is counted with it; returns their CPU then."""
    deadline = time.time() + limit
    last = worker_cpu(pids)
    while time.time() < deadline:
        time.sleep(0.5)
        now = worker_cpu(pids)
        if now - last < 0.025:
            return now
        last = now
    return last


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
    parser.add_argument("--smtp", action="store_true",
                        help="send the mails to a local SMTP sink (aiosmtpd) instead of keeping them")
    parser.add_argument("--mailer", choices=("embedded", "external"), default="embedded",
                        help="PORTAL_MAIL_SENDER: the web worker sends the mail (default) or a mailer process does")
    parser.add_argument("--pin", action="store_true", help="server on CPU 0 (taskset), load generator on CPU 1")
    parser.add_argument("--profile", default="",
                        help="py-spy record the worker during the POSTs into this file (raw collapsed stacks)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server log, SQLite file)")
    args = parser.parse_args()
    args.clients = max(args.clients, args.concurrency)

    workdir = Path(tempfile.mkdtemp(prefix="bench-registration-"))
    url, drop_database = prepare_database(args.database_url, workdir)
    port = free_port()
    if args.pin:
        os.sched_setaffinity(0, {1})
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    sink = None
    smtp_url = ""
    if args.smtp:
        smtp_port = free_port()
        sink = start_smtp_sink(smtp_port)
        smtp_url = f"smtp://127.0.0.1:{smtp_port}"
    server = start_server(url, port, args.workers, workdir / "gunicorn.log", pin=args.pin, smtp_url=smtp_url,
                          mailer=args.mailer)
    mailer = (start_mailer(portal_env(url, args.workers, smtp_url, args.mailer), workdir / "mailer.log", args.pin)
              if args.mailer == "external" else None)
    try:
        workers = workers_of(server.pid)
        # What is measured: the web workers, and the mailer process apart (external).
        measured = workers + ([mailer.pid] if mailer is not None else [])
        visitors = [Visitor(port) for _ in range(args.clients)]
        warm = Pool(args.concurrency)
        for v in visitors:
            warm.spawn(v.open)
        warm.join(raise_error=True)

        idle: Queue = Queue()
        for v in visitors:
            idle.put(v)

        def burst(name: str, fire) -> dict:  # noqa: ANN001 - fire(visitor, i) -> (status, seconds)
            """`--requests` requests, `--concurrency` in flight, one at a time per visitor."""
            statuses: dict[int, int] = {}
            latencies: list[float] = []

            def one(i: int) -> None:
                visitor = idle.get()  # one request at a time per visitor, like a browser tab
                try:
                    status, seconds = fire(visitor, i)
                finally:
                    idle.put(visitor)
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(seconds)

            pool = Pool(args.concurrency)
            settle(measured)
            cpu, mail_cpu = worker_cpu(workers), worker_cpu(measured) - worker_cpu(workers)
            client_cpu = time.process_time()
            started = time.perf_counter()
            for i in range(args.requests):
                pool.spawn(one, i)
            pool.join(raise_error=True)
            elapsed = time.perf_counter() - started
            during = worker_cpu(workers) - cpu
            settle(measured)
            total = worker_cpu(workers) - cpu
            mail = worker_cpu(measured) - worker_cpu(workers) - mail_cpu
            return {"name": name, "statuses": statuses, "latencies": latencies, "elapsed": elapsed,
                    "cpu_during": during, "cpu": total, "mailer_cpu": mail,
                    "client_cpu": time.process_time() - client_cpu}

        def healthz(visitor: Visitor, i: int) -> tuple[int, float]:  # noqa: ARG001
            started = time.perf_counter()
            response = visitor._send("GET", "/healthz")
            response.read()
            return response.status, time.perf_counter() - started

        run = uuid.uuid4().hex[:8]

        def post(visitor: Visitor, i: int) -> tuple[int, float]:
            return visitor.register(f"burst-{run}-{i}@example.com")

        # Yardstick from the same run, same server, same load generator: GET /healthz.
        probe = burst("GET /healthz", healthz)
        spy = subprocess.Popen([str(ROOT / ".venv/bin/py-spy"), "record", "--pid", str(workers[0]), "--rate", "200",
                                "--format", "raw", "--output", args.profile],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if args.profile else None
        posts = burst("POST register", post)
        if spy:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
    finally:
        if mailer is not None:
            mailer.terminate()
            mailer.wait(30)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
        if sink is not None:
            sink.terminate()
            sink.wait(10)

    regs, events, mails = count_rows(url)
    statuses = posts["statuses"]
    ok = statuses.get(303, 0)
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"backend {backend}, gunicorn -k gevent workers={args.workers}, cores={os.cpu_count()}, "
          f"mail {'sent to a local SMTP sink' if args.smtp else 'kept (no SMTP)'} by "
          f"{'a mailer process (PORTAL_MAIL_SENDER=external)' if mailer else 'the web worker'}, "
          f"{'pinned (server CPU 0, clients CPU 1)' if args.pin else 'shared cores'}")
    print(f"requests {args.requests} per phase, concurrency {args.concurrency}, visitors {args.clients}; "
          f"load average {load_before} -> {load_after}")
    print("| phase | req/s | p50 ms | p99 ms | worker CPU µs/req (during) | worker CPU µs/req (until idle) | answers |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in (probe, posts):
        n = len(r["latencies"])
        print(f"| {r['name']} | {n / r['elapsed']:,.0f} | {statistics.median(r['latencies']) * 1000:.1f} "
              f"| {percentile(r['latencies'], 99) * 1000:.1f} | {r['cpu_during'] / n * 1e6:,.0f} "
              f"| {r['cpu'] / n * 1e6:,.0f} | {dict(sorted(r['statuses'].items()))} |")
    ratio = posts["cpu"] / max(probe["cpu"], 1e-9)
    print(f"CPU per POST / CPU per GET /healthz: {ratio:.2f} (during the bursts only: "
          f"{posts['cpu_during'] / max(probe['cpu_during'], 1e-9):.2f}; target <= 2.5)")
    if mailer is not None:
        n = args.requests
        print(f"mailer process CPU per mail {posts['mailer_cpu'] / n * 1e6:,.0f} µs; web + mailer per POST / "
              f"CPU per GET /healthz: {(posts['cpu'] + posts['mailer_cpu']) / max(probe['cpu'], 1e-9):.2f}")
    sent_or_kept = mails.get("sent", 0) + mails.get("kept", 0)
    print(f"load generator CPU per POST {posts['client_cpu'] / args.requests * 1e6:,.0f} µs")
    print(f"stored registrations {regs}, client_webinar_registered events {events}, "
          f"lost {ok - regs}; confirmations {dict(sorted(mails.items()))}; "
          f"{'OK' if regs == events == ok == args.requests == sent_or_kept else 'MISMATCH'}")
    drop_database()
    if args.keep:
        print(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if not regs == events == ok == args.requests == sent_or_kept:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
