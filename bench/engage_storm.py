"""Reaction storm and health reports (issue 13), real sockets against gunicorn + gevent.

    .venv/bin/python bench/engage_storm.py --n 5000 --clients 2 --rate 1000 --seconds 10 --pin
    .venv/bin/python bench/engage_storm.py --n 5000 --clients 2 --scenario health --seconds 12

Reuses bench/fanout.py's server, seeding, speaker and handshake. One run, two phases of equal
length against the same N room sockets of a live webinar:
  1. quiet: the speaker toggles the CTA every --interval s (console endpoint -> every socket);
  2. storm: the same toggles while the clients send --rate frames a second in total, spread
     over their sockets: "react" taps (scenario reactions) or "player" reports with a changing
     state (scenario health: each socket reports every N / rate seconds, 5 s at 5,000/1,000).
Reported: reaction-burst frames per socket per second (reactions), console frames per second on
a console socket (health), the workers' CPU per phase, and the p99 of the CTA push (POST to
arrival) in each phase with their ratio. --pin puts the server's workers on CPU 0 and the
clients on CPU 1 (else everything shares both cores).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import selectors
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import (  # noqa: E402 - the bench folder is not a package
    CTA_MARKER,
    ROOT,
    Server,
    Speaker,
    _handshake,
    _masked,
    new_webinar,
    percentile,
    seed,
)

BURST_MARKER = b'id="reaction-burst"'
HEALTH_MARKER = b'id="console-health"'
STATES = ("playing", "paused", "buffering", "stalled")
POST_MS: list[float] = []  # how long each toggle's POST took (the push starts inside it)
TIMEOUTS: list[int] = []  # toggles whose POST got no answer in time


def client_process(port: int, tokens: list[str], ready: mp.Queue, storm: mp.Event, go: mp.Event,
                   stop: mp.Event, results: mp.Queue, rate: float, scenario: str, pin: int | None) -> None:
    """Hold the sockets; during `storm` send `rate` frames a second over them (round robin);
    count burst frames per socket and record CTA arrivals (after `go`)."""
    sys.path.insert(0, str(ROOT))
    from portal.realtime.frames import parse_frames

    if pin is not None:
        os.sched_setaffinity(0, {pin})
    selector = selectors.DefaultSelector()
    socks, buffers = [], []


    def drain() -> None:
        """While connecting: read what the open sockets got (count pushes) and answer pings, so
        the server never takes a socket that waits for its turn for a slow client."""
        for key, _ in selector.select(timeout=0):
            try:
                chunk = key.fileobj.recv(262144)
            except (BlockingIOError, OSError):
                continue
            frames, buffers[key.data] = parse_frames(buffers[key.data] + chunk)
            for opcode, payload in frames:
                if opcode == 9:
                    key.fileobj.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)

    for n, token in enumerate(tokens):
        try:
            sock, rest = _handshake(port, token)
        except OSError:
            continue
        selector.register(sock, selectors.EVENT_READ, len(socks))
        socks.append(sock)
        buffers.append(rest)
        if n % 50 == 49:
            drain()
    ready.put(len(socks))
    bursts = [0] * len(socks)
    cta: list[list[float]] = [[] for _ in socks]  # per socket: arrival of each CTA frame, in order
    closed = [False] * len(socks)
    storm_frames = 0
    rng = random.Random(os.getpid())
    next_send, i = time.monotonic(), 0
    storm_started = storm_ended = None
    while not stop.is_set():
        now = time.monotonic()
        if storm.is_set() and socks:
            if storm_started is None:
                storm_started, next_send = now, now
            while next_send <= now:  # catch up on the schedule: `rate` frames a second in total
                if scenario == "reactions":
                    frame = {"type": "react", "reaction": rng.choice(("like", "love", "clap", "laugh", "wow"))}
                else:
                    frame = {"type": "player", "state": rng.choice(STATES), "cta_seen": rng.random() < .5}
                try:
                    socks[i % len(socks)].sendall(_masked(json.dumps(frame).encode()))
                except OSError:
                    pass
                storm_frames += 1
                i += 1
                next_send += 1 / rate
        elif storm_started is not None and storm_ended is None:
            storm_ended = now
        for key, _ in selector.select(timeout=0.005):
            try:
                chunk = key.fileobj.recv(262144)
            except (BlockingIOError, OSError):
                continue
            if not chunk:
                selector.unregister(key.fileobj)
                closed[key.data] = True
                continue
            frames, buffers[key.data] = parse_frames(buffers[key.data] + chunk)
            for opcode, payload in frames:
                if opcode == 1 and BURST_MARKER in payload and storm.is_set():
                    bursts[key.data] += 1
                if opcode == 1 and CTA_MARKER in payload and go.is_set():
                    cta[key.data].append(time.monotonic())
                elif opcode == 9:
                    key.fileobj.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
    results.put({"bursts": bursts, "cta": cta, "closed": closed, "sent": storm_frames,
                 "storm_seconds": (storm_ended or time.monotonic()) - (storm_started or time.monotonic())})


def console_listener(port: int, speaker: Speaker, webinar_id: int, storm: threading.Event,
                     stop: threading.Event, out: list[float]) -> None:
    """A console socket: when each health panel frame arrives during the storm."""
    sys.path.insert(0, str(ROOT))
    import socket as socketlib

    from portal.realtime.frames import parse_frames

    sock = socketlib.create_connection(("127.0.0.1", port), timeout=30)
    cookie = "; ".join(f"{k}={v}" for k, v in speaker.cookies.items())
    sock.sendall((f"GET /ws/console/{webinar_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  f"Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    _, _, buffer = data.partition(b"\r\n\r\n")
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            chunk = sock.recv(262144)
        except TimeoutError:
            continue
        if not chunk:
            return
        frames, buffer = parse_frames(buffer + chunk)
        for opcode, payload in frames:
            if opcode == 1 and HEALTH_MARKER in payload and storm.is_set():
                out.append(time.monotonic())
            elif opcode == 9:
                sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)


def cpu(server: Server) -> float:
    return server.cpu_seconds()


def toggles(speaker: Speaker, count: int, interval: float, go: mp.Event) -> list[float]:
    sent = []
    show = True
    go.set()
    for _ in range(count):
        sent.append(time.monotonic())
        try:
            speaker.toggle(show)
        except OSError:  # no answer within the speaker's 30 s: the worker is saturated
            TIMEOUTS.append(len(POST_MS))
        POST_MS.append((time.monotonic() - sent[-1]) * 1000)
        show = not show
        time.sleep(interval)
    return sent


def latencies(sent: list[float], per_socket: list[list[float]], first: int, count: int) -> list[float]:
    """The k-th CTA frame a socket received answers the k-th toggle: latencies (ms) of the
    toggles first..first+count-1 over every socket that received them."""
    return [(arrivals[k] - sent[k]) * 1000 for arrivals in per_socket for k in range(first, first + count)
            if k < len(arrivals)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between CTA toggles")
    parser.add_argument("--scenario", choices=("reactions", "health"), default="reactions")
    parser.add_argument("--pin", action="store_true", help="server on CPU 0, clients on CPU 1")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-engage-"))
    database_url = f"sqlite:///{tmp / 'bench.db'}"
    speaker_email = seed(database_url, args.n)
    webinar_id, tokens = new_webinar(database_url, args.n)
    server = Server(database_url, "prebuilt", tmp / "stats.log", tmp / "server.log")
    if args.pin:
        for pid in server.workers:
            os.sched_setaffinity(pid, {0})
    try:
        speaker = Speaker(server.port, speaker_email, webinar_id)
        ready, results = mp.Queue(), mp.Queue()
        storm, stop = mp.Event(), mp.Event()
        gos = [mp.Event() for _ in range(2)]
        chunks = [tokens[k::args.clients] for k in range(args.clients)]
        procs = []
        for phase_go in gos[:1]:
            for chunk in chunks:
                p = mp.Process(target=client_process, args=(server.port, chunk, ready, storm, phase_go, stop, results,
                                                            args.rate / args.clients, args.scenario,
                                                            1 if args.pin else None))
                p.start()
                procs.append(p)
        connected = sum(ready.get(timeout=600) for _ in procs)
        time.sleep(3)  # presence pushes settle
        speaker.start()
        time.sleep(3 + args.n / 2000)  # the go-live push and the attendance pushes settle
        console_frames: list[float] = []
        console_stop, console_storm = threading.Event(), threading.Event()
        listener = threading.Thread(target=console_listener, daemon=True, args=(
            server.port, speaker, webinar_id, console_storm, console_stop, console_frames))
        listener.start()
        # An even number per phase: each phase starts with "show" after a "hide" (repeating the
        # current visibility is a no-op that pushes nothing).
        count = max(4, int(args.seconds / args.interval) // 2 * 2)
        cpu0 = cpu(server)
        quiet_sent = toggles(speaker, count, args.interval, gos[0])
        cpu1 = cpu(server)
        storm.set()
        console_storm.set()
        time.sleep(1.5)  # the storm reaches its rate before the measured toggles
        cpu2 = cpu(server)
        storm_sent = toggles(speaker, count, args.interval, gos[0])
        cpu3 = cpu(server)
        storm.clear()
        console_storm.clear()
        time.sleep(1.0)
        stop.set()
        console_stop.set()
        outs = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(30)
    finally:
        server.stop()
    per_socket = [a for o in outs for a in o["cta"]]
    sent_all = quiet_sent + storm_sent
    quiet = latencies(sent_all, per_socket, 0, count)
    stormy = latencies(sent_all, per_socket, count, count)
    storm_seconds = max(o["storm_seconds"] for o in outs)
    alive = [not c for o in outs for c in o["closed"]]
    bursts = [b for o in outs for b, c in zip(o["bursts"], o["closed"], strict=True) if not c]
    sent = sum(o["sent"] for o in outs)
    report = {
        "scenario": args.scenario, "n": args.n, "clients": args.clients, "connected": connected, "pinned": args.pin,
        "storm_frames_sent": sent, "storm_seconds": round(storm_seconds, 1),
        "frames_up_per_second": round(sent / storm_seconds, 0) if storm_seconds else None,
        "cta_p50_quiet_ms": round(percentile(quiet, 50), 1), "cta_p99_quiet_ms": round(percentile(quiet, 99), 1),
        "cta_p50_storm_ms": round(percentile(stormy, 50), 1), "cta_p99_storm_ms": round(percentile(stormy, 99), 1),
        "sockets_open_at_end": sum(alive),
        "toggle_posts_timed_out": len(TIMEOUTS),
        "toggle_post_p50_quiet_ms": round(percentile(POST_MS[:count], 50), 1),
        "toggle_post_p50_storm_ms": round(percentile(POST_MS[count:], 50), 1),
        "cta_delivered_quiet": f"{len(quiet)}/{count * connected}",
        "cta_delivered_storm": f"{len(stormy)}/{count * connected}",
        "cpu_quiet_s_per_s": round((cpu1 - cpu0) / (quiet_sent[-1] + args.interval - quiet_sent[0]), 3),
        "cpu_storm_s_per_s": round((cpu3 - cpu2) / (storm_sent[-1] + args.interval - storm_sent[0]), 3),
    }
    report["p99_ratio_storm_vs_quiet"] = round(report["cta_p99_storm_ms"] / report["cta_p99_quiet_ms"], 2)
    if args.scenario == "reactions":
        report["burst_frames_per_socket_per_s_max"] = round(max(bursts) / storm_seconds, 2) if bursts else 0
        report["burst_frames_per_socket_per_s_mean"] = round(sum(bursts) / max(len(bursts), 1) / storm_seconds, 2)
    else:
        span = (console_frames[-1] - console_frames[0]) if len(console_frames) > 1 else 0
        report["console_frames"] = len(console_frames)
        report["console_frames_per_s"] = round(len(console_frames) / storm_seconds, 2)
        gaps = [b - a for a, b in zip(console_frames, console_frames[1:], strict=False)]
        report["console_min_gap_s"] = round(min(gaps, default=0), 3)
        report["console_span_s"] = round(span, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
