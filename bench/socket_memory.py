"""Memory per idle socket (SPEC §10: <= 35 KB): the marginal resident memory of the portal's
worker over N idle room sockets.

    .venv/bin/python bench/socket_memory.py --sockets 5000 --steps 10

Starts the portal as bench/fanout.py does (gunicorn -k gevent, one worker, SQLite, the
prebuilt fan-out), opens the sockets in `--steps` equal steps (one client process each, the
fan-out bench's raw-socket clients: real handshakes, pongs answered), waits `--settle` seconds
after each step (presence pushes, the GC freeze) and reads the worker's VmRSS. The first step
carries one-time costs (imports, templates, caches) and is left out: the result is the slope of
a least-squares line through the other steps, in KB per socket, with the spread of the
per-step increments.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fanout  # noqa: E402 - the fan-out bench's server and clients


def slope(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.mean(xs), statistics.mean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after each step before reading RSS")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    workdir = Path(tempfile.mkdtemp(prefix="socket-memory-"))
    database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    fanout.seed(database_url, args.sockets)
    _, tokens = fanout.new_webinar(database_url, args.sockets)
    server = fanout.Server(database_url, "prebuilt", workdir / "stats.log", workdir / "server.log")
    ctx = mp.get_context("fork")
    ready, results = ctx.Queue(), ctx.Queue()
    go, stop = ctx.Event(), ctx.Event()
    procs = []
    counts, rss = [0], [server.rss_kb()]
    step = args.sockets // args.steps
    try:
        for k in range(args.steps):
            p = ctx.Process(target=fanout.client_process, daemon=True,
                            args=(server.port, tokens[k * step:(k + 1) * step], ready, go, stop, results))
            p.start()
            procs.append(p)
            connected, failed = ready.get(timeout=600)
            if failed:
                print(f"step {k + 1}: {failed} sockets failed to connect")
            time.sleep(args.settle)
            counts.append(counts[-1] + connected)
            rss.append(server.rss_kb())
            print(f"{counts[-1]:>7,} sockets: worker RSS {rss[-1] / 1024:8.1f} MB "
                  f"(+{(rss[-1] - rss[-2]) / max(connected, 1):.1f} KB/socket)", flush=True)
        stop.set()
        for _ in procs:
            results.get(timeout=120)
        for p in procs:
            p.join(30)
    finally:
        server.stop()
    increments = [(rss[i] - rss[i - 1]) / (counts[i] - counts[i - 1]) for i in range(2, len(rss))]
    print(f"marginal RSS per idle socket (steps 2..{args.steps}, least squares): "
          f"{slope(counts[1:], rss[1:]):.2f} KB; per-step median {statistics.median(increments):.2f}, "
          f"min {min(increments):.2f}, max {max(increments):.2f}; first step {rss[1] - rss[0]:,} KB "
          f"for {counts[1]:,} sockets")


if __name__ == "__main__":
    main()
