"""The polling fallback's 304 path over HTTP, against a bare gunicorn+gevent app, same run (issue 14).

    .venv/bin/python bench/poll304.py [--rounds 8] [--seconds 2] [--clients 2] [--connections 8] [--pin]
                                      [--player-report]

Starts the portal like `make run` (gunicorn.conf.py: -k gevent, one worker, SQLite) with one
registered attendee of a scheduled webinar, and bench/peers/bare304.py (a minimal Flask app
answering 304) beside it; takes the ETag of one full GET /room/<token>/state. Then, for
--rounds rounds, --clients processes with --connections keep-alive connections each poll one
server with If-None-Match for --seconds, then the other (ABBA order): a slow phase of the
shared machine falls on both, where one long run of each in turn put it on one. Reports 304s
per second, p50/p99 and the worker's CPU per 304 pooled over the slices, the portal / bare
ratio pooled and per round (median, min, max), and the SQL statements the portal's worker ran
during its polls (counted by an SQLAlchemy event in the bench's app factory): the target is none.
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
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fanout  # noqa: E402

ROOT = fanout.ROOT
#: What static/js/health.js adds to each poll of a page with a player while its socket is down.
PLAYER_REPORT = '{"state":"playing","autoplay_blocked":false,"cta_seen":false,"cta_clicked":false}'


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
           cpu: int | None, extra: dict[str, str]) -> None:
    """Round-robin over keep-alive connections until the deadline: latencies of the 304s, other answers."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(connections)]
    headers = {"If-None-Match": etag, "HX-Request": "true", "User-Agent": fanout.USER_AGENT, **extra}
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
    """One slice of --seconds against one server: its 304s, latencies and worker CPU."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start = time.time() + 0.5
    extra = {"X-Player-Report": PLAYER_REPORT} if args.player_report else {}
    procs = [ctx.Process(target=poller, args=(port, path, etag, args.connections, args.seconds, start, out,
                                              1 if args.pin else None, extra)) for _ in range(args.clients)]
    for p in procs:
        p.start()
    while time.time() < start:
        time.sleep(0.01)
    cpu_before = cpu_seconds(pid)
    results = [out.get(timeout=args.seconds + 60) for _ in procs]
    cpu = cpu_seconds(pid) - cpu_before
    for p in procs:
        p.join(10)
    return {"latencies": [x for lat, _ in results for x in lat], "other": sum(o for _, o in results), "cpu": cpu,
            "seconds": args.seconds}


def pooled(slices: list[dict]) -> dict:
    latencies = sorted(x for s in slices for x in s["latencies"])
    seconds = sum(s["seconds"] for s in slices)
    return {"not_modified": len(latencies), "other": sum(s["other"] for s in slices),
            "per_s": len(latencies) / seconds, "p50_ms": fanout.percentile(latencies, 50) * 1000,
            "p99_ms": fanout.percentile(latencies, 99) * 1000,
            "cpu_us_per_304": sum(s["cpu"] for s in slices) * 1e6 / max(len(latencies), 1)}


def settled_etag(port: int, path: str) -> str:
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
    return etag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2, help="length of one slice")
    parser.add_argument("--rounds", type=int, default=8, help="rounds of one portal and one bare slice each")
    parser.add_argument("--clients", type=int, default=2, help="load generator processes")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections per process")
    parser.add_argument("--pin", action="store_true", help="servers on CPU 0, load generators on CPU 1")
    parser.add_argument("--player-report", action="store_true",
                        help="send X-Player-Report with every poll, as a room page with a player does")
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

    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": secrets.token_hex(16),
           "PORTAL_LOG_LEVEL": "WARNING", "PORTAL_ACCESS_LOG": "/dev/null", "PORTAL_WORKERS": "1"}
    env.pop("PORTAL_REDIS_URL", None)
    servers = {}
    try:
        servers["portal"] = spawn(["--config", "gunicorn.conf.py", "--pythonpath", "bench", "poll304:server_app()"],
                                  env, workdir / "portal.log", args.pin)
        servers["bare"] = spawn(["-k", "gevent", "-w", "1", "--worker-connections", "20000", "--access-logfile",
                                 "/dev/null", "--pythonpath", "bench", "peers.bare304:app"], dict(os.environ),
                                workdir / "bare.log", args.pin)
        etags = {"portal": settled_etag(servers["portal"][1], path), "bare": '"bench-v1"'}
        portal_port, portal_pid = servers["portal"][1], servers["portal"][2]
        before = json.loads(fanout.http_request(portal_port, "GET", "/__bench/sql")[2])
        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(portal_pid),
                                "--rate", "200", "--format", "raw", "--output", args.profile],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if args.profile else None
        # Both servers run throughout and take turns (ABBA), so a slow phase of the shared
        # machine falls on both: each round's ratio compares slices seconds apart.
        slices: dict[str, list[dict]] = {"portal": [], "bare": []}
        for round_ in range(args.rounds):
            order = ("portal", "bare") if round_ % 2 == 0 else ("bare", "portal")
            for name in order:
                _, port, pid = servers[name]
                slices[name].append(measure(port, pid, path, etags[name], args))
        if spy:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        after = json.loads(fanout.http_request(portal_port, "GET", "/__bench/sql")[2])
    finally:
        for process, _, _ in servers.values():
            process.send_signal(signal.SIGTERM)
            process.wait(20)
    rows = {name: pooled(parts) for name, parts in slices.items()}
    rows["portal"]["sql_statements"] = after["statements"] - before["statements"]
    rows["portal"]["sql_kinds"] = {k: n - before["kinds"].get(k, 0) for k, n in after["kinds"].items()
                                   if n != before["kinds"].get(k, 0)}
    pairs = list(zip(slices["portal"], slices["bare"], strict=True))
    rate = sorted(len(p["latencies"]) / max(len(b["latencies"]), 1) for p, b in pairs)
    cpu = sorted((b["cpu"] / max(len(b["latencies"]), 1)) / (p["cpu"] / max(len(p["latencies"]), 1))
                 for p, b in pairs if p["cpu"] and b["cpu"])
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(json.dumps({**rows, "rate_ratios": rate, "cpu_ratios": cpu}))
    print(f"\nload average at the end: {load}; {args.clients}×{args.connections} keep-alive connections, "
          f"{args.rounds} rounds of {args.seconds:g} s per server, {'pinned' if args.pin else 'shared cores'}"
          f"{', X-Player-Report on every poll' if args.player_report else ''}\n")
    print("| server | 304/s | p50 ms | p99 ms | worker CPU µs/304 | other answers | SQL statements |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['per_s']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['cpu_us_per_304']:.0f} "
              f"| {r['other']} | {r.get('sql_statements', '–')} |")
    print(f"\nportal / bare 304 rate, pooled: {rows['portal']['per_s'] / rows['bare']['per_s']:.2f}; per round: "
          f"median {statistics.median(rate):.2f} (min {rate[0]:.2f}, max {rate[-1]:.2f}) (target ≥ 0.70)")
    if cpu:
        print(f"bare / portal CPU per 304, per round: median {statistics.median(cpu):.2f} "
              f"(min {cpu[0]:.2f}, max {cpu[-1]:.2f})")


if __name__ == "__main__":
    main()
