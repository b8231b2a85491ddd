"""Chat flood benchmark (SPEC §10, issue 14): a busy chat into a 5,000-socket room.

    flock /tmp/bench.lock .venv/bin/python bench/chat_flood.py --sockets 5000 --rate 20 --seconds 20 --pin both

For each CHAT_PUSH_INTERVAL in --intervals (default 0.3, then 0 as the yardstick: a frame per
message, as before portal/room/batching.py), it:
  1. starts the portal like bench/fanout.py (gunicorn -k gevent, gunicorn.conf.py, SQLite; its
     Server, seeding and Speaker, with the interval in the environment) with N registered
     attendees, opens N real websocket connections to its waiting room (--clients processes,
     each an epoll loop over raw sockets answering pings) and has the speaker start the
     webinar from the console (the go-live batch enters everyone);
  2. posts --rate messages a second for --seconds from --posters attendees over their own room
     sockets (the room's "chat" frame, as room.js sends it), round robin, so each stays under
     the chat limit (5 per 10 s);
  3. when the sockets have been quiet for 2 s, compares what every socket received with the
     rows stored: missing, duplicated and out-of-order messages; chat frames per second per
     socket (the most in any 1 s window, and the mean over the posting); message-to-socket
     latency p50/p99 (from just before the post was written to its socket, to the arrival of
     the frame carrying it: the "screen" is the socket, a page adds its swap).
--pin puts the server on CPU 0 and the clients and posters on CPU 1 (taskset), as fanout.py.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import selectors
import statistics
import sys
import tempfile
import time
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import ROOT, Server, Speaker, _app, _handshake, _masked, new_webinar, percentile, seed  # noqa: E402

IDS = re.compile(rb'data-message-id="(\d+)"')
BODY = re.compile(r"flood (\d+)")


def stored(database_url: str, webinar_id: int) -> dict[int, int]:
    """message id -> the post's sequence number (from its body)."""
    from portal.extensions import db
    from portal.room.models import ChatMessage

    app = _app(database_url)
    with app.app_context():
        rows = db.session.execute(db.select(ChatMessage.message_id, ChatMessage.message_body).where(
            ChatMessage.webinar_id == webinar_id).order_by(ChatMessage.message_id)).all()
    return {mid: int(m.group(1)) for mid, body in rows if (m := BODY.search(body))}


def _pump(selector: selectors.BaseSelector, buffers: list[bytes], on_text, timeout: float) -> int:
    """Read what arrived; answer pings; `on_text(i, payload, now)` per text frame. Sockets closed."""
    from portal.realtime.frames import parse_frames

    closed = 0
    events = selector.select(timeout=timeout)
    now = time.monotonic()  # after the wait: the frames' arrival
    for key, _ in events:
        i = key.data
        try:
            chunk = key.fileobj.recv(262144)
        except BlockingIOError:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            selector.unregister(key.fileobj)
            key.fileobj.close()
            closed += 1
            continue
        frames, buffers[i] = parse_frames(buffers[i] + chunk)
        for opcode, payload in frames:
            if opcode == 1:
                on_text(i, payload, now)
            elif opcode == 9:
                key.fileobj.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
    return closed


def listener(port: int, tokens: list[str], ready: mp.Queue, stop: mp.Event, results: mp.Queue,
             last_rx: mp.Value, cpu: int | None) -> None:
    """Hold len(tokens) room sockets; per socket the chat ids in arrival order and per chat
    frame its arrival time and how many ids it carried."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    sys.path.insert(0, str(ROOT))
    selector = selectors.DefaultSelector()
    buffers: list[bytes] = []
    failed = 0
    for token in tokens:
        try:
            sock, rest = _handshake(port, token)
        except OSError:
            failed += 1
            continue
        selector.register(sock, selectors.EVENT_READ, len(buffers))
        buffers.append(rest)
    ids = [array("q") for _ in buffers]
    times = [array("d") for _ in buffers]
    sizes = [array("i") for _ in buffers]

    def on_text(i: int, payload: bytes, now: float) -> None:
        found = list(dict.fromkeys(int(x) for x in IDS.findall(payload)))  # an item names its id twice
        if found:
            ids[i].extend(found)
            times[i].append(now)
            sizes[i].append(len(found))
            last_rx.value = now

    ready.put((len(buffers), failed))
    closed = 0
    while not stop.is_set():
        closed += _pump(selector, buffers, on_text, 0.1)
    results.put((ids, times, sizes, closed))
    for key in list(selector.get_map().values()):
        key.fileobj.close()


def poster(port: int, tokens: list[str], rate: float, seconds: float, ready: mp.Queue, go: mp.Event,
           results: mp.Queue, cpu: int | None) -> None:
    """Post rate*seconds messages round robin over one room socket per token; the send times."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    sys.path.insert(0, str(ROOT))
    selector = selectors.DefaultSelector()
    socks, buffers = [], []
    for token in tokens:
        sock, rest = _handshake(port, token)
        selector.register(sock, selectors.EVENT_READ, len(buffers))
        socks.append(sock)
        buffers.append(rest)
    ready.put((len(socks), 0))
    go.wait()
    sent: dict[int, float] = {}
    total = int(rate * seconds)
    began = time.monotonic()
    for k in range(total):
        due = began + k / rate
        while (now := time.monotonic()) < due:
            _pump(selector, buffers, lambda *_: None, min(due - now, 0.01))
        frame = json.dumps({"type": "chat", "body": f"flood {k}", "client_id": f"f{k}"}).encode()
        sent[k] = time.monotonic()
        socks[k % len(socks)].sendall(_masked(frame))
    end = time.monotonic() + 3
    while time.monotonic() < end:  # the last feedback frames
        _pump(selector, buffers, lambda *_: None, 0.1)
    results.put(sent)
    for sock in socks:
        sock.close()


def max_per_second(times: array) -> int:
    """The most frames in any window of 1 s."""
    best, j = 0, 0
    for i, t in enumerate(times):
        while t - times[j] >= 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def run(*, database_url: str, speaker_email: str, n: int, interval: float, clients: int, posters: int,
        rate: float, seconds: float, workdir: Path, workers: int, redis_url: str, pin: bool) -> dict:
    webinar_id, tokens = new_webinar(database_url, n)
    stats = workdir / f"stats-{interval}-{pin}.log"
    stats.write_text("")
    server = Server(database_url, "prebuilt", stats, workdir / "server.log", workers=workers, redis_url=redis_url,
                    pin=pin, env={"PORTAL_CHAT_PUSH_INTERVAL": str(interval)})
    load_before = Path("/proc/loadavg").read_text().split()[0]
    try:
        speaker = Speaker(server.port, speaker_email, webinar_id)
        ctx = mp.get_context("fork")
        ready, results, sent_q = ctx.Queue(), ctx.Queue(), ctx.Queue()
        stop, go = ctx.Event(), ctx.Event()
        last = [ctx.Value("d", 0.0, lock=False) for _ in range(clients)]
        cpu = 1 if pin else None
        procs = [ctx.Process(target=listener, daemon=True,
                             args=(server.port, tokens[i::clients], ready, stop, results, last[i], cpu))
                 for i in range(clients)]
        post = ctx.Process(target=poster, daemon=True,
                           args=(server.port, tokens[:posters], rate, seconds, ready, go, sent_q, cpu))
        connected = failed = 0
        for p in procs:
            p.start()
        for _ in procs:
            c, f = ready.get(timeout=600)
            connected, failed = connected + c, failed + f
        post.start()
        ready.get(timeout=120)
        # Everyone waits in the lobby, then the speaker starts: the go-live batch enters them
        # (as in fanout.py; a socket opening into a live room writes its own attendance row).
        time.sleep(3)
        speaker.start()
        time.sleep(3 + n / 1000)  # attendance pushes settle
        cpu_before = server.cpu_seconds()
        go.set()
        sent = sent_q.get(timeout=seconds + 120)
        cpu_after = server.cpu_seconds()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and time.monotonic() - max(v.value for v in last) < 2.0:
            time.sleep(0.2)  # until every socket has been quiet for 2 s
        stop.set()
        collected = [results.get(timeout=120) for _ in procs]
        for p in procs + [post]:
            p.join(30)
    finally:
        server.stop()
    load_after = Path("/proc/loadavg").read_text().split()[0]

    by_id = stored(database_url, webinar_id)
    want = sorted(by_id)
    wanted = set(want)
    missing = duplicated = out_of_order = frames = messages_seen = 0
    perfect = 0
    peaks: list[int] = []
    means: list[float] = []
    latencies: list[float] = []
    closed = 0
    for ids, times, sizes, c in collected:
        closed += c
        for sock_ids, sock_times, sock_sizes in zip(ids, times, sizes, strict=True):
            seen = [i for i in sock_ids if i in wanted]
            distinct = set(seen)
            missing += len(wanted - distinct)
            duplicated += len(seen) - len(distinct)
            out_of_order += sum(1 for a, b in zip(seen, seen[1:], strict=False) if b < a)
            perfect += seen == want
            frames += len(sock_times)
            messages_seen += len(seen)
            peaks.append(max_per_second(sock_times))
            if len(sock_times) > 1:
                means.append(len(sock_times) / max(sock_times[-1] - sock_times[0], 1e-9))
            k = 0
            for t, size in zip(sock_times, sock_sizes, strict=True):
                for mid in sock_ids[k:k + size]:
                    seq = by_id.get(mid)
                    if seq is not None and seq in sent:
                        latencies.append((t - sent[seq]) * 1000)
                k += size
    return {
        "sockets": n, "interval": interval, "pin": pin, "workers": workers,
        "connected": connected, "failed": failed, "closed_by_server": closed,
        "posted": len(sent), "stored": len(want),
        "sockets_with_all_in_order": perfect,
        "missing": missing, "duplicated": duplicated, "out_of_order": out_of_order,
        "frames": frames, "messages_seen": messages_seen,
        "frames_per_s_max": max(peaks, default=0),
        "frames_per_s_max_p50": statistics.median(peaks) if peaks else 0,
        "frames_per_s_mean": statistics.mean(means) if means else 0.0,
        "messages_per_frame": messages_seen / max(frames, 1),
        "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
        "server_cpu_s": cpu_after - cpu_before,
        "load_before": load_before, "load_after": load_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4, help="client processes holding the sockets")
    parser.add_argument("--posters", type=int, default=80, help="attendees posting, round robin")
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--intervals", default="0.3,0", help="CHAT_PUSH_INTERVAL values (0: the yardstick)")
    parser.add_argument("--workers", type=int, default=1,
                        help="gunicorn workers; more than one shares the room through Redis (--redis-url)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--pin", nargs="?", const="on", default="off", choices=["off", "on", "both"])
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.rate * 10 / args.posters > 5:
        sys.exit("too few --posters: each may post 5 messages per 10 s")
    if args.pin != "off" and len(os.sched_getaffinity(0)) < 2:
        sys.exit("--pin needs two CPUs")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.sockets + args.posters + 200 > hard:
        sys.exit(f"ulimit -n hard limit {hard} is too low")

    workdir = Path(tempfile.mkdtemp(prefix="chat-flood-"))
    rows = []
    for pin in {"off": [False], "on": [True], "both": [False, True]}[args.pin]:
        os.sched_setaffinity(0, {1} if pin else set(range(os.cpu_count() or 1)))
        for interval in [float(x) for x in args.intervals.split(",")]:
            # A database per run: the attendance rows a stopped server left open are swept by
            # the next one, which would otherwise load the next run (5,000 rows on SQLite).
            database_url = f"sqlite:///{workdir / f'bench-{interval}-{pin}.sqlite3'}"
            speaker_email = seed(database_url, args.sockets)
            row = run(database_url=database_url, speaker_email=speaker_email, n=args.sockets, interval=interval,
                      clients=args.clients, posters=args.posters, rate=args.rate, seconds=args.seconds, workdir=workdir,
                      workers=args.workers, redis_url=args.redis_url, pin=pin)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print("| mode | CHAT_PUSH_INTERVAL | sockets | posted / stored | sockets with every message in order "
          "| missing / dup / out of order | chat frames/s per socket (max any 1 s, mean) | messages per frame "
          "| latency p50 / p99 ms | worker CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {'pinned' if r['pin'] else 'shared'} ({r['workers']}w) | {r['interval']:g} | {r['connected']:,} "
              f"| {r['posted']} / {r['stored']} | {r['sockets_with_all_in_order']:,} "
              f"| {r['missing']} / {r['duplicated']} / {r['out_of_order']} "
              f"| {r['frames_per_s_max']}, {r['frames_per_s_mean']:.2f} | {r['messages_per_frame']:.1f} "
              f"| {r['p50_ms']:.0f} / {r['p99_ms']:.0f} | {r['server_cpu_s']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
