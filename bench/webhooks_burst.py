"""Webhook burst (issue 11): 10,000 events fanned out to 3 endpoints — one fast, one slow, one
failing — while the room keeps being served.

Runs the app under gunicorn with gevent workers (as `make run` does) on a fresh database
holding one published live webinar, 200 registrations (their rooms are the request load) and
three endpoints of its organizer. `--dispatcher embedded` (the default): the dispatcher runs
inside the web worker; `external`: PORTAL_WEBHOOK_DISPATCHER=external and one
`flask --app wsgi portal dispatcher` process delivers. `--pin`: the server's processes on CPU 0,
this process (room clients, receivers), the producer and the external dispatcher on CPU 1 (what
`taskset -c` / `taskset -p` do, through os.sched_setaffinity); without it all share both cores.
The endpoints:

- fast: answers 200 at once;
- slow: answers 200 after `--slow` seconds (0.5);
- failing: answers 500 (retried with back-off; every event's FIRST attempt is measured).

1. baseline: `--requests` GET /room/<token>, `--concurrency` in flight, before any event;
2. burst: a producer process commits `--events` events (`--batch` per transaction, as fast
   as it can) while the same room load runs, until the fast endpoint has every event and the
   failing one has seen every event once (or `--limit` seconds passed);
3. report: deliveries/s to the fast endpoint (events / (last arrival - first commit)); commit ->
   first attempt p50/p99 per endpoint (a receiver's first arrival of a webhook-id minus the
   time the producer called COMMIT for that event, same clock: an upper bound, since the
   commit may wait for SQLite's write lock; the commit's own p50/p99 are printed too); the slow
   endpoint's rate; attempts in all; the room's latency baseline vs burst; a check that the fast endpoint got each event
   (duplicates counted: at-least-once allows them only after a failure).

    .venv/bin/python bench/webhooks_burst.py                        # SQLite file, 1 worker
    .venv/bin/python bench/webhooks_burst.py --dispatcher external --pin
    .venv/bin/python bench/webhooks_burst.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""
from __future__ import annotations

import sys

if len(sys.argv) > 1 and sys.argv[1] == "--produce":  # the producer process (no gevent)
    import json
    import os
    import time

    from portal import create_app, signals
    from portal.core import events
    from portal.extensions import db

    _, _, url, webinar_id, count, batch, out = sys.argv
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": os.environ["PORTAL_SECRET_KEY"]})
    with app.app_context(), open(out, "w") as log:
        n = 0
        while n < int(count):
            ids = []
            change = {"from": "hidden", "to": "visible", "actor": {"type": "system"}}
            for _ in range(min(int(batch), int(count) - n)):
                ids.append(events.emit("webinar_cta_visibility_changed", webinar_id=int(webinar_id),
                                       data=change)["event_id"])
            # No after-commit pushes here: this process holds no sockets, and rendering the
            # console and room regions for each event (~0.1 s) would make the producer the bottleneck.
            db.session.info.pop(signals._PENDING, None)
            began = time.time()  # the commit may wait for the write lock; visible somewhere in between
            db.session.commit()
            at = time.time()
            log.write("".join(json.dumps([i, began, at]) + "\n" for i in ids))
            n += len(ids)
    raise SystemExit(0)

from gevent import monkey  # noqa: E402

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import registration_burst as rb  # noqa: E402 - its helpers (bench/ is sys.path[0])
from gevent.pool import Pool  # noqa: E402

ROOT = rb.ROOT


class Receiver:
    """Records the first arrival time of each webhook-id and every attempt."""

    def __init__(self, name: str, status: int = 200, sleep: float = 0.0) -> None:
        self.name, self.status, self.sleep = name, status, sleep
        self.first: dict[str, float] = {}
        self.attempts = 0
        self.port = rb.free_port()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                at = time.time()
                self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.attempts += 1
                outer.first.setdefault(self.headers["webhook-id"], at)
                if outer.sleep:
                    gevent.sleep(outer.sleep)
                self.send_response(outer.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        gevent.spawn(self.server.serve_forever)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.name}"


def prepare(url: str, receivers: list[Receiver], rooms: int) -> tuple[int, list[str]]:
    """The endpoints and `rooms` registrations; returns the webinar id and the join tokens."""
    from sqlalchemy import insert, select

    from portal import create_app
    from portal.core.models import User, Webinar
    from portal.extensions import db
    from portal.registration.models import Registration
    from portal.registration.tokens import new_token
    from portal.webhooks import endpoints

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": rb.BENCH_SECRET_KEY})
    tokens: list[str] = []
    with app.app_context():
        webinar = db.session.scalars(select(Webinar).where(Webinar.slug == rb.SLUG)).one()
        owner = db.session.get(User, webinar.owner_user_id)
        for receiver in receivers:
            endpoints.create_endpoint(owner, receiver.url, receiver.name)
        leads = [{"email": f"room-{i}@bench.example.com", "display_name": f"Room {i}", "role": "lead"}
                 for i in range(rooms)]
        lead_ids = list(db.session.execute(insert(User).returning(User.user_id), leads).scalars())
        regs = []
        for lead_id in lead_ids:
            token, token_hash = new_token()
            tokens.append(token)
            regs.append({"webinar_id": webinar.webinar_id, "lead_id": lead_id, "webinar_type": "live",
                         "join_token_hash": token_hash, "source": ""})
        db.session.execute(insert(Registration), regs)
        db.session.commit()
        webinar_id = webinar.webinar_id
        db.session.remove()
        db.engine.dispose()
    return webinar_id, tokens


def room_load(port: int, tokens: list[str], concurrency: int, *, requests: int | None = None,
              until=None) -> tuple[list[float], dict[int, int]]:  # noqa: ANN001
    visitors = [rb.Visitor(port) for _ in range(concurrency)]
    idle = gevent.queue.Queue()
    for v in visitors:
        idle.put(v)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def one(i: int) -> None:
        visitor = idle.get()
        try:
            started = time.perf_counter()
            response = visitor._send("GET", f"/room/{tokens[i % len(tokens)]}")
            response.read()
            latencies.append(time.perf_counter() - started)
            statuses[response.status] = statuses.get(response.status, 0) + 1
        finally:
            idle.put(visitor)

    pool = Pool(concurrency)
    i = 0
    while (requests is not None and i < requests) or (until is not None and not until()):
        pool.spawn(one, i)
        i += 1
    pool.join(raise_error=True)
    return latencies, statuses


def pin(pid: int, cpus: set[int], *, tree: bool = False) -> None:
    """`taskset -pc` for a process (and, with `tree`, its children: gunicorn's workers)."""
    pids = [pid]
    if tree:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                        pids.append(int(entry.name))
                except (OSError, IndexError, ValueError):
                    pass
    for one in pids:
        for task in Path(f"/proc/{one}/task").iterdir():  # every thread, as taskset -a does
            os.sched_setaffinity(int(task.name), cpus)


def start_dispatcher(url: str, log_path: Path, cpus: set[int] | None) -> subprocess.Popen:
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": rb.BENCH_SECRET_KEY,
           "PORTAL_LOG_LEVEL": "WARNING"}
    prefix = ["taskset", "-c", ",".join(map(str, sorted(cpus)))] if cpus else []
    return subprocess.Popen([*prefix, sys.executable, "-m", "flask", "--app", "wsgi", "portal", "dispatcher"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(log_path, "wb"),  # noqa: SIM115
                            start_new_session=True)


def ms(values: list[float], p: float) -> str:
    return f"{rb.percentile(values, p) * 1000:7.1f} ms" if values else "      -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL; default: a SQLite file")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=10, help="events per producer transaction")
    parser.add_argument("--slow", type=float, default=0.5, help="seconds the slow endpoint takes")
    parser.add_argument("--requests", type=int, default=1000, help="baseline room requests")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--limit", type=float, default=600, help="seconds the burst may last at most")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--dispatcher", choices=["embedded", "external"], default="embedded")
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, clients and dispatcher on CPU 1")
    args = parser.parse_args()
    server_cpus, client_cpus = ({0}, {1}) if args.pin else (None, None)
    os.environ["PORTAL_WEBHOOK_DISPATCHER"] = args.dispatcher

    workdir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    # This process's own apps (setup) keep no attendance lease: two apps of one process would
    # sweep each other's as a dead predecessor's.
    os.environ["PORTAL_ATTENDANCE_LEASE_SECONDS"] = "0"
    url = rb.prepare_database(args.database_url, workdir)
    fast, slow, failing = Receiver("fast"), Receiver("slow", sleep=args.slow), Receiver("failing", status=500)
    webinar_id, tokens = prepare(url, [fast, slow, failing], rooms=200)
    os.environ.pop("PORTAL_ATTENDANCE_LEASE_SECONDS")  # the server keeps its leases
    port = rb.free_port()
    server = rb.start_server(url, port, args.workers, workdir / "gunicorn.log")
    dispatcher = None
    if args.dispatcher == "external":
        dispatcher = start_dispatcher(url, workdir / "dispatcher.log", client_cpus)
    if server_cpus and client_cpus:
        pin(server.pid, server_cpus, tree=True)
        pin(os.getpid(), client_cpus)
    commits_path = workdir / "commits.jsonl"
    try:
        room_load(port, tokens, args.concurrency, requests=200)  # warm-up (starts the dispatcher too)
        baseline, base_statuses = room_load(port, tokens, args.concurrency, requests=args.requests)
        env = {**os.environ, "PORTAL_SECRET_KEY": rb.BENCH_SECRET_KEY, "PORTAL_LOG_LEVEL": "WARNING"}
        started = time.time()
        pinned = ["taskset", "-c", "1"] if args.pin else []
        producer = subprocess.Popen([*pinned, sys.executable, __file__, "--produce", url, str(webinar_id),
                                     str(args.events), str(args.batch), str(commits_path)], cwd=ROOT, env=env)

        def finished() -> bool:
            if time.time() - started > args.limit:
                return True
            return len(fast.first) >= args.events and len(failing.first) >= args.events

        burst, burst_statuses = room_load(port, tokens, args.concurrency, until=finished)
        ended = time.time()
        producer.wait()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
        if dispatcher is not None:
            os.killpg(dispatcher.pid, signal.SIGTERM)
            dispatcher.wait(30)

    spans = {i: (began, at) for i, began, at in map(json.loads, commits_path.read_text().splitlines())}
    commits = {i: began for i, (began, _at) in spans.items()}
    first_commit, last_commit = min(commits.values()), max(commits.values())
    took = [at - began for began, at in spans.values()]
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"backend {backend}, gunicorn -k gevent workers={args.workers}, dispatcher {args.dispatcher}, "
          f"{'pinned: server CPU 0, clients+producer+dispatcher CPU 1' if args.pin else 'shared cores'}, "
          f"cores={os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    print(f"events {len(commits)} committed in {last_commit - first_commit:.1f} s ({args.batch} per transaction, "
          f"COMMIT p50 {ms(took, 50).strip()} p99 {ms(took, 99).strip()}); burst lasted {ended - started:.1f} s")
    for receiver in (fast, slow, failing):
        lags = [receiver.first[i] - commits[i] for i in receiver.first if i in commits]
        span = (max(receiver.first.values()) - first_commit) if receiver.first else float("nan")
        print(f"  {receiver.name:8} events seen {len(receiver.first):6}  attempts {receiver.attempts:6}  "
              f"{len(receiver.first) / span:7.1f} events/s  commit->first attempt p50 {ms(lags, 50)}  "
              f"p99 {ms(lags, 99)}")
    print(f"room GET /room/<token> (concurrency {args.concurrency}):")
    for name, values, statuses in (("baseline", baseline, base_statuses), ("burst", burst, burst_statuses)):
        print(f"  {name:9} n={len(values):6}  p50 {statistics.median(values) * 1000:7.1f} ms  p99 {ms(values, 99)}  "
              f"answers {dict(sorted(statuses.items()))}")
    ratio = statistics.median(burst) / statistics.median(baseline)
    ratio99 = rb.percentile(burst, 99) / rb.percentile(baseline, 99)
    print(f"  room latency burst/baseline: p50 {ratio:.2f}x, p99 {ratio99:.2f}x")
    missing = set(commits) - set(fast.first)
    print(f"fast endpoint: {len(missing)} events missing, {fast.attempts - len(fast.first)} duplicates")
    if args.database_url and url.startswith("postgres"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from portal.config import normalise_database_url

        admin = create_engine(normalise_database_url(args.database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
    shutil.rmtree(workdir, ignore_errors=True)
    if missing:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
