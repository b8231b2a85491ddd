"""Runs the peers with the same clients as the portal's run (bench/fanout.py --peers, issue 14).

Each peer is its own gunicorn (-k gevent, one worker, the portal's worker_connections), holding
N sockets opened by the same client processes as the portal's; the bench POSTs /fire/<mode>
--toggles times, --interval apart, and measures as for the portal: latency from just before the
POST to the frame at each client, reach, the worker's CPU per recipient, RSS per idle socket,
and the server's own loop time per recipient (the naive server's `bare` mode is the calibration:
a pre-built frame sent with socket.send() over the same sockets).
"""
from __future__ import annotations

import bisect
import json
import multiprocessing as mp
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import fanout

PEERS = {  # peer -> (gunicorn app, client target, CTA marker, Engine.IO, broadcast modes in order)
    "naive": ("peers.naive_sock:app", "/ws/room/{token}", fanout.CTA_MARKER, False, ["naive", "bare"]),
    "socketio": ("peers.socketio_app:app", "/socket.io/?EIO=4&transport=websocket",
                 json.dumps(fanout.CTA_MARKER.decode())[1:-1].encode(), True, ["socketio"]),
}


class PeerServer(fanout.Server):
    """A peer app under gunicorn -k gevent with one worker."""

    def __init__(self, app: str, stats_path: Path, frames_path: Path, log_path: Path, *, pin: bool) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "BENCH_FANOUT_STATS": str(stats_path), "BENCH_PEER_FRAMES": str(frames_path)}
        self.workers_wanted, self.stats_path = 1, stats_path
        self.log = open(log_path, "ab")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [*(["taskset", "-c", "0"] if pin else []), str(gunicorn), "-k", "gevent", "-w", "1",
             "--worker-connections", "20000", "--no-control-socket", "--access-logfile", "/dev/null",
             "--bind", f"127.0.0.1:{self.port}", "--pythonpath", "bench", app],
            cwd=fanout.ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if fanout.http_request(self.port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"peer did not start, see {log_path}")
            time.sleep(0.2)
        self.workers = self._worker_pids()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)  # quick shutdown: the sockets are the bench's own
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()


def run_peer(peer: str, *, n: int, clients: int, toggles: int, interval: float, workdir: Path,
             frames_path: Path, pin: bool) -> list[dict]:
    """One row per broadcast mode of `peer` at n sockets."""
    app, target, marker, socketio, modes = PEERS[peer]
    stats_path = workdir / f"stats-{peer}-{n}.log"
    stats_path.write_text("")
    server = PeerServer(app, stats_path, frames_path, workdir / f"{peer}.log", pin=pin)
    tokens = [f"peer{i:06d}" for i in range(n)]
    phases: list[dict] = []
    try:
        ctx = mp.get_context("fork")
        ready, results = ctx.Queue(), ctx.Queue()
        go, stop = ctx.Event(), ctx.Event()
        warm = max(1, n // 10)
        batches = [[tokens[:warm]], [tokens[warm:][i::clients] for i in range(clients)]]
        procs: list = []
        connected = failed = 0
        rss: list[int] = []
        for batch in batches:
            started = [ctx.Process(target=fanout.client_process, daemon=True,
                                   args=(server.port, s, ready, go, stop, results),
                                   kwargs={"target": target, "marker": marker, "socketio": socketio,
                                           "cpu": 1 if pin else None})
                       for s in batch if s]
            for p in started:
                p.start()
            for _ in started:
                c, f = ready.get(timeout=600)
                connected += c
                failed += f
            procs += started
            time.sleep(3)
            rss.append(server.rss_kb())
        go.set()
        time.sleep(0.3)
        sent: list[float] = []
        for mode in modes:
            offset = stats_path.stat().st_size
            cpu_before = server.cpu_seconds()
            first = len(sent)
            for _ in range(toggles):
                sent.append(time.monotonic())
                status, _, text = fanout.http_request(server.port, "POST", f"/fire/{mode}", body="")
                if status != 200:
                    raise RuntimeError(f"{peer} /fire/{mode} -> {status}: {text[:200]}")
                time.sleep(interval)
            time.sleep(1.5)
            phases.append({"mode": mode, "first": first, "cpu": server.cpu_seconds() - cpu_before,
                           "offset": offset, "end": stats_path.stat().st_size})
        stop.set()
        collected = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(30)
    finally:
        server.stop()

    rows = []
    for k, phase in enumerate(phases):
        last = phases[k + 1]["first"] if k + 1 < len(phases) else len(sent)
        latencies: list[float] = []
        received = 0
        for arrivals, *_ in collected:
            for per_socket in arrivals:
                for t in per_socket:
                    i = bisect.bisect_right(sent, t) - 1
                    if phase["first"] <= i < last:
                        received += 1
                        latencies.append((t - sent[i]) * 1000)
        loops = []
        with open(stats_path) as f:
            f.seek(phase["offset"])
            for line in f.read(phase["end"] - phase["offset"]).splitlines():
                m = re.match(r"fanout peer mode=\S+ n=(\d+) loop_us=([\d.]+)", line)
                if m and int(m.group(1)) > 0:
                    loops.append(float(m.group(2)) / int(m.group(1)))
        rows.append({
            "n": n, "mode": phase["mode"], "pin": pin, "connected": connected, "failed": failed,
            "expected": toggles * connected, "received": received,
            "closed_by_server": sum(c[1] for c in collected),
            "p50_ms": fanout.percentile(latencies, 50), "p99_ms": fanout.percentile(latencies, 99),
            "max_ms": max(latencies, default=float("nan")),
            "loop_us_per_recipient": statistics.median(loops) if loops else float("nan"),
            "loop_us_per_recipient_min": min(loops) if loops else float("nan"),
            "cpu_us_per_recipient": phase["cpu"] * 1e6 / max(toggles * connected, 1),
            "rss_kb_per_socket": (rss[-1] - rss[0]) / max(n - warm, 1),
        })
    return rows


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b == b and a == a and b > 0 else "–"


def table(rows: list[dict], load: str) -> str:
    """The markdown table per N: every server in the run, and the portal's ratios to each peer."""
    out = [f"load average at the end: {load}", "",
           "| sockets | pinned | server | p50 ms | p99 ms | reach | loop µs/recipient (median) "
           "| worker CPU µs/recipient | RSS KB/socket | portal p99 / this p99 | portal CPU / this CPU |",
           "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for r in rows:
        same = [p for p in rows if p["n"] == r["n"] and p["pin"] == r["pin"]]
        portal = next((p for p in same if p["mode"] == "prebuilt"), r)
        reach = 100 * r["received"] / r["expected"] if r["expected"] else 0.0
        out.append(f"| {r['n']:,} | {'yes' if r['pin'] else 'no'} | {r['mode']} | {r['p50_ms']:.1f} "
                   f"| {r['p99_ms']:.1f} | {reach:.2f} % ({r['received']:,}/{r['expected']:,}) "
                   f"| {r['loop_us_per_recipient']:.1f} | {r['cpu_us_per_recipient']:.1f} "
                   f"| {r['rss_kb_per_socket']:.1f} | {_ratio(portal['p99_ms'], r['p99_ms'])} "
                   f"| {_ratio(portal['cpu_us_per_recipient'], r['cpu_us_per_recipient'])} |")
        bare = next((p for p in same if p["mode"] == "bare"), None)
        if r["mode"] == "prebuilt" and bare:
            median = _ratio(r["loop_us_per_recipient"], bare["loop_us_per_recipient"])
            best = _ratio(r["loop_us_per_recipient_min"], bare["loop_us_per_recipient_min"])
            notes.append(f"N={r['n']:,} {'pinned' if r['pin'] else 'shared'}: the portal's loop per recipient / "
                         f"bare send() per recipient = {median} (best: {best})")
    return "\n".join(out + [""] + notes)
