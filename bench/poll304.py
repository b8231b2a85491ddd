"""The polling fallback's 304 path over HTTP, against a bare gunicorn+gevent app, same run (issue 14).

    .venv/bin/python bench/poll304.py [--seconds 8] [--clients 2] [--connections 8] [--pin]

Starts the portal like `make run` (gunicorn.conf.py: -k gevent, one worker, SQLite) with one
registered attendee of a scheduled webinar, takes the ETag of one full GET /room/<token>/state,
then has --clients processes with --connections keep-alive connections each poll it with
If-None-Match for --seconds; then the same against bench/peers/bare304.py (a minimal Flask app
answering 304). Reports 304s per second, p50/p99, the worker's CPU per 304, the ratio
portal / bare, and the SQL statements the portal's worker ran during the polls (counted by an
SQLAlchemy event in the bench's app factory): the target is none.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fanout  # noqa: E402

ROOT = fanout.ROOT


def server_app():
    """gunicorn factory: the portal, counting its SQL statements (GET /__bench/sql reads them)."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import event

    from portal import create_app
    from portal.extensions import db

    app = create_app()
    counted: Counter[str] = Counter()

    def seen(conn, cursor, statement, *args):  # noqa: ANN001, ARG001 - SQLAlchemy's event signature
        counted[" ".join(statement.split())[:60]] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", seen)
    app.add_url_rule("/__bench/sql", "bench_sql", lambda: {"statements": counted.total(), "kinds": dict(counted)})
    return app


def spawn(args: list[str], env: dict[str, str], log: Path, pin: bool) -> tuple[subprocess.Popen, int, int]:
    """(gunicorn, port, worker pid) once /healthz answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen([*(["taskset", "-c", "0"] if pin else []), str(gunicorn), *args, "--bind",
                                f"127.0.0.1:{port}", "--no-control-socket"],
                               cwd=ROOT, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            if fanout.http_request(port, "GET", "/healthz")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start, see {log}")
        time.sleep(0.2)
    for _ in range(100):
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        if children:
            return process, port, int(children[0])
        time.sleep(0.1)
    raise RuntimeError("no worker")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def poller(port: int, path: str, etag: str, connections: int, seconds: float, start: float, out: mp.Queue,
           cpu: int | None) -> None:
    """Round-robin over keep-alive connections until the deadline: latencies of the 304s, other answers."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(connections)]
    headers = {"If-None-Match": etag, "HX-Request": "true", "User-Agent": fanout.USER_AGENT}
    while time.time() < start:
        time.sleep(0.001)
    latencies, other = [], 0
    deadline = start + seconds
    while time.time() < deadline:
        for conn in conns:  # one request in flight per connection, issued back to back
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 304:
                latencies.append(time.perf_counter() - t)
            else:
                other += 1
    out.put((latencies, other))


def measure(port: int, pid: int, path: str, etag: str, args: argparse.Namespace) -> dict:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start = time.time() + 1.0
    procs = [ctx.Process(target=poller, args=(port, path, etag, args.connections, args.seconds, start, out,
                                              1 if args.pin else None)) for _ in range(args.clients)]
    for p in procs:
        p.start()
    while time.time() < start:
        time.sleep(0.01)
    cpu_before = cpu_seconds(pid)
    results = [out.get(timeout=args.seconds + 60) for _ in procs]
    cpu = cpu_seconds(pid) - cpu_before
    for p in procs:
        p.join(10)
    latencies = sorted(x for lat, _ in results for x in lat)
    other = sum(o for _, o in results)
    return {"not_modified": len(latencies), "other": other, "per_s": len(latencies) / args.seconds,
            "p50_ms": fanout.percentile(latencies, 50) * 1000, "p99_ms": fanout.percentile(latencies, 99) * 1000,
            "cpu_us_per_304": cpu * 1e6 / max(len(latencies), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=2, help="load generator processes")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections per process")
    parser.add_argument("--pin", action="store_true", help="servers on CPU 0, load generators on CPU 1")
    parser.add_argument("--profile", default="", help="py-spy the portal's worker during its polls into this file")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.pin:
        os.sched_setaffinity(0, {1})
    workdir = Path(tempfile.mkdtemp(prefix="poll304-bench-"))
    database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    fanout.seed(database_url, 1)
    _, (token,) = fanout.new_webinar(database_url, 1)
    path = f"/room/{token}/state"
    rows = {}

    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": secrets.token_hex(16),
           "PORTAL_LOG_LEVEL": "WARNING", "PORTAL_ACCESS_LOG": "/dev/null", "PORTAL_WORKERS": "1"}
    env.pop("PORTAL_REDIS_URL", None)
    portal, port, pid = spawn(["--config", "gunicorn.conf.py", "--pythonpath", "bench", "poll304:server_app()"],
                              env, workdir / "portal.log", args.pin)
    try:
        etag = ""
        for _ in range(20):  # the registration's debounced pushes may move the version once
            time.sleep(0.5)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path, headers={"HX-Request": "true", "User-Agent": fanout.USER_AGENT})
            response = conn.getresponse()
            response.read()
            if response.getheader("ETag") == etag:
                break
            etag = response.getheader("ETag")
        before = json.loads(fanout.http_request(port, "GET", "/__bench/sql")[2])
        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
                                "--rate", "200", "--format", "raw", "--output", args.profile],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if args.profile else None
        rows["portal"] = measure(port, pid, path, etag, args)
        if spy:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        after = json.loads(fanout.http_request(port, "GET", "/__bench/sql")[2])
        rows["portal"]["sql_statements"] = after["statements"] - before["statements"]
        rows["portal"]["sql_kinds"] = {k: n - before["kinds"].get(k, 0) for k, n in after["kinds"].items()
                                       if n != before["kinds"].get(k, 0)}
    finally:
        portal.send_signal(signal.SIGTERM)
        portal.wait(20)
    bare, port, pid = spawn(["-k", "gevent", "-w", "1", "--worker-connections", "20000", "--access-logfile",
                             "/dev/null", "--pythonpath", "bench", "peers.bare304:app"], dict(os.environ),
                            workdir / "bare.log", args.pin)
    try:
        rows["bare"] = measure(port, pid, path, '"bench-v1"', args)
    finally:
        bare.send_signal(signal.SIGTERM)
        bare.wait(20)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(json.dumps(rows))
    print(f"\nload average at the end: {load}; {args.clients}×{args.connections} keep-alive connections, "
          f"{args.seconds:g} s each, {'pinned' if args.pin else 'shared cores'}\n")
    print("| server | 304/s | p50 ms | p99 ms | worker CPU µs/304 | other answers | SQL statements |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['cpu_us_per_304']:.0f} "
              f"| {r['other']} | {r.get('sql_statements', '–')} |")
    print(f"\nportal / bare 304 rate: {rows['portal']['per_s'] / rows['bare']['per_s']:.2f} (target ≥ 0.70)")


if __name__ == "__main__":
    main()
