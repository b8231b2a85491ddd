"""Fan-out benchmark (SPEC §10, issue 3): N real sockets in one room, a speaker toggles the CTA.

    .venv/bin/python bench/fanout.py --sizes 500,2000,5000,10000 --clients 4 --toggles 30

For each N and each fan-out mode ("prebuilt": the hub's encode-once path, and "naive": a
loop calling simple-websocket's ws.send() per socket, as a plain flask-sock app would), it:
  1. starts the portal like `make run` (gunicorn -k gevent, gunicorn.conf.py, one worker,
     in-process broker, SQLite) with a new scheduled webinar and N registered attendees;
  2. opens N real websocket connections to /ws/room/<token> (the waiting room), spread over
     --clients processes (each an epoll loop over raw sockets: real handshakes, real frames,
     pongs answered);
  3. logs a speaker in, starts the webinar from the console (everyone enters; each client
     answers the "live" status with the page's "enter" frame, as room.js does) and records when
     each waiting socket saw "live" (go-live latency), then toggles the CTA --toggles times
     through the console's real
     endpoint (POST /console/<id>/cta/show|hide -> Core hook -> event -> room push ->
     realtime.publish -> every socket), --interval seconds apart;
  4. reports per recipient: the fan-out loop's cost (hub timing) and the worker's whole CPU
     time during the toggles, client latency p50/p99 (from just before the POST to the
     frame's arrival), frames received vs expected, RSS per idle connection, the longest GC
     pause in the worker; and the go-live latency p50/p99 (from just before the start POST to
     the "live" status frame's arrival at each waiting socket) with its ratio to the CTA p99.

--peers (issue 14) runs, after the portal at each N, the peers of bench/peers/ with the same
clients and the portal's own CTA frames (see bench/peers/harness.py); --pin puts the servers on
CPU 0 and the clients on CPU 1; --profile samples the portal's worker with py-spy during the toggles.
"""
from __future__ import annotations

import argparse
import atexit
import base64
import bisect
import gc
import http.client
import json
import logging
import multiprocessing as mp
import os
import random
import re
import resource
import secrets
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CTA_MARKER = b'id="room-cta"'
LIVE_MARKER = b'data-status="live"'  # the status region's push when the room goes live
ENTER_FRAME = json.dumps({"type": "enter"}).encode()  # what room.js sends when it sees "live"
ENTER_SPREAD = 3.0  # seconds: room.js sends it after a random delay of up to this (ENTER_SPREAD_MS)
USER_AGENT = "portal-bench-fanout"
PASSWORD = "bench-speaker-password"


# -- the server side (runs inside the gunicorn worker) -------------------------------------
def server_app():
    """gunicorn factory: the portal app, plus fan-out and GC timings written to a stats file."""
    sys.path.insert(0, str(ROOT))
    from portal import create_app

    app = create_app()
    path = os.environ["BENCH_FANOUT_STATS"]
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(message)s"))
    stats = logging.getLogger("portal.realtime.fanout")
    stats.setLevel(logging.DEBUG)
    stats.addHandler(handler)
    stats.propagate = False
    started: dict[str, float] = {}

    def gc_timer(phase: str, info: dict) -> None:
        # Wall time is what a broadcast waits; CPU time is the collector's own cost (on a
        # shared VM the difference is time the process was descheduled).
        if phase == "start":
            started["wall"], started["cpu"] = time.perf_counter(), time.thread_time()
        elif "wall" in started:
            wall = (time.perf_counter() - started.pop("wall")) * 1000
            cpu = (time.thread_time() - started.pop("cpu")) * 1000
            if wall >= 1.0:
                try:
                    # collected: a long pass that frees much was clearing garbage, not walking
                    stats.debug("gc gen=%d ms=%.1f cpu_ms=%.1f collected=%d", info["generation"], wall, cpu,
                                info["collected"])
                except RuntimeError:  # a greenlet being finalized at worker exit cannot log
                    pass

    gc.callbacks.append(gc_timer)
    return app


# -- seeding ---------------------------------------------------------------------------------
def _app(database_url: str):
    sys.path.insert(0, str(ROOT))
    from portal import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "LOG_LEVEL": "WARNING"})


def seed(database_url: str, leads: int) -> str:
    """Schema, an organizer, a speaker and `leads` attendees; returns the speaker's email."""
    from portal.core import users
    from portal.core.models import User
    from portal.extensions import db

    app = _app(database_url)
    with app.app_context():
        db.create_all()
        users.create_user("organizer@example.com", role="organizer", password=PASSWORD, display_name="Organizer")
        users.create_user("speaker@example.com", role="speaker", password=PASSWORD, display_name="Speaker")
        db.session.execute(db.insert(User), [
            {"email": f"lead{i}@example.com", "display_name": f"Lead {i}", "role": "lead"} for i in range(leads)])
        db.session.commit()
    return "speaker@example.com"


def new_webinar(database_url: str, n: int) -> tuple[int, list[str]]:
    """A scheduled webinar (CTA configured, hidden) with n registrations: (webinar_id, join tokens)."""
    from datetime import timedelta

    from portal.core import lifecycle
    from portal.core.models import User, Webinar, WebinarSpeaker
    from portal.core.permissions import SYSTEM
    from portal.db_types import utcnow
    from portal.extensions import db
    from portal.registration import tokens as join_tokens
    from portal.registration.models import Registration

    app = _app(database_url)
    with app.app_context():
        organizer = db.session.scalar(db.select(User).where(User.email == "organizer@example.com"))
        speaker = db.session.scalar(db.select(User).where(User.email == "speaker@example.com"))
        slug = f"fanout-{secrets.token_hex(4)}"
        webinar = Webinar(type="live", title="Fan-out bench", slug=slug, description="bench", stream_type="obs",
                          stream_url="/static/demo/hls/index.m3u8", scheduled_at=utcnow() + timedelta(hours=1),
                          owner_user_id=organizer.user_id, cta_text="Buy the course", cta_url="https://example.com/buy")
        webinar.speakers.append(WebinarSpeaker(user_id=speaker.user_id, display_name="Speaker"))
        db.session.add(webinar)
        db.session.commit()
        lifecycle.publish(webinar, actor=SYSTEM)
        lead_ids = db.session.scalars(
            db.select(User.user_id).where(User.role == "lead").order_by(User.user_id).limit(n)).all()
        tokens, rows = [], []
        for lead_id in lead_ids:
            token, token_hash = join_tokens.new_token()
            tokens.append(token)
            rows.append({"webinar_id": webinar.webinar_id, "lead_id": lead_id, "webinar_type": "live",
                         "source": "bench", "join_token_hash": token_hash})
        db.session.execute(db.insert(Registration), rows)
        db.session.commit()
        return webinar.webinar_id, tokens


# -- the server process ----------------------------------------------------------------------
class Server:
    def __init__(self, database_url: str, mode: str, stats_path: Path, log_path: Path, *, workers: int = 1,
                 redis_url: str = "", pin: bool = False, env: dict[str, str] | None = None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        extra_env = env or {}  # PORTAL_* settings of a benchmark (bench/chat_flood.py)
        env = {
            **os.environ,
            "PORTAL_DATABASE_URL": database_url,
            "PORTAL_SECRET_KEY": secrets.token_hex(16),
            "PORTAL_REALTIME_FANOUT": mode,
            "PORTAL_LOG_LEVEL": "WARNING",
            "PORTAL_ACCESS_LOG": "/dev/null",
            "PORTAL_WORKERS": str(workers),
            "BENCH_FANOUT_STATS": str(stats_path),
        }
        env.pop("PORTAL_REDIS_URL", None)
        if workers > 1:  # several processes share the room through the Redis broker
            env["PORTAL_REDIS_URL"] = redis_url
            env["PORTAL_REALTIME_REDIS_PREFIX"] = f"bench-fanout:{secrets.token_hex(4)}:"
        env.update(extra_env)
        self.workers_wanted = workers
        self.stats_path = stats_path
        self.log = open(log_path, "ab")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [*(["taskset", "-c", "0"] if pin else []), str(gunicorn), "--config", "gunicorn.conf.py",
             "--no-control-socket", "--bind", f"127.0.0.1:{self.port}", "--pythonpath", "bench", "fanout:server_app()"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = http_request(self.port, "GET", "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start, see {log_path}")
            time.sleep(0.2)
        self.workers = self._worker_pids()

    def _worker_pids(self) -> list[int]:
        master = self.process.pid
        for _ in range(100):
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
            if len(children) >= self.workers_wanted:
                return [int(c) for c in children]
            time.sleep(0.1)
        raise RuntimeError("gunicorn workers missing")

    def rss_kb(self) -> int:
        """Resident memory of all workers together."""
        total = 0
        for pid in self.workers:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total

    def cpu_seconds(self) -> float:
        """User + system CPU time of all workers together."""
        total = 0
        for pid in self.workers:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()


def http_request(port: int, method: str, path: str, *, body: str | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, list[str], str]:
    """(status, Set-Cookie values, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": USER_AGENT, **(headers or {})})
        response = conn.getresponse()
        cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
        return response.status, cookies, response.read().decode()
    finally:
        conn.close()


class Speaker:
    """A logged-in speaker using the console's CTA buttons (htmx POSTs with the CSRF header)."""

    def __init__(self, port: int, email: str, webinar_id: int) -> None:
        self.port, self.webinar_id, self.cookies = port, webinar_id, {}
        page = self._get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
        self._send("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        console = self._get(f"/console/{webinar_id}")
        self.csrf = re.search(r'"X-CSRFToken": "([^"]+)"', console).group(1)

    def _cookie_header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def _send(self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None,
              timeout: float = 30) -> tuple[int, str]:
        status, cookies, text = http_request(self.port, method, path, body=body, timeout=timeout,
                                             headers={**self._cookie_header(), **(headers or {})})
        for cookie in cookies:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return status, text

    def _get(self, path: str) -> str:
        status, text = self._send("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} -> {status}")
        return text

    def start(self) -> None:
        # Before issue 9 going live entered every waiting attendee inside this request's
        # transaction (seconds at 5,000); a long timeout keeps the old tree measurable.
        status, text = self._send("POST", f"/console/{self.webinar_id}/start", "",
                                  {"HX-Request": "true", "X-CSRFToken": self.csrf}, timeout=300)
        if status != 200:
            raise RuntimeError(f"start -> {status}: {text[:200]}")

    def toggle(self, show: bool) -> None:
        status, text = self._send("POST", f"/console/{self.webinar_id}/cta/{'show' if show else 'hide'}", "",
                                  {"HX-Request": "true", "X-CSRFToken": self.csrf})
        if status != 200:
            raise RuntimeError(f"CTA toggle -> {status}: {text[:200]}")


# -- the client processes --------------------------------------------------------------------
def _handshake(port: int, token: str, target: str = "/ws/room/{token}") -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {target.format(token=token)} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  f"Origin: http://127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during handshake")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
    sock.setblocking(False)
    return sock, rest


def _masked(payload: bytes) -> bytes:
    """A client text frame (zero mask key: the payload goes as is)."""
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


def client_process(port: int, tokens: list[str], ready: mp.Queue, go: mp.Event, stop: mp.Event,
                   results: mp.Queue, live: mp.Event | None = None, enter_frames: bool = True,
                   target: str = "/ws/room/{token}", marker: bytes = CTA_MARKER, socketio: bool = False,
                   cpu: int | None = None) -> None:
    """Hold len(tokens) sockets; record when each receives a CTA frame after `go`, and when it
    first sees the "live" status after `live` (answering it with an "enter" frame). With
    `socketio` the sockets speak Engine.IO v4 (join the namespace, answer its pings)."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    sys.path.insert(0, str(ROOT))
    from portal.realtime.frames import parse_frames

    selector = selectors.DefaultSelector()
    buffers: list[bytes] = []
    arrivals: list[list[float]] = []
    went_live: list[float | None] = []
    closed = failed = 0
    samples: list[bytes] = []  # the first distinct CTA frames (the peers broadcast the same ones)
    entering: list[tuple[float, socket.socket]] = []  # (due, socket): room.js's spread "enter" frames
    rng = random.Random(os.getpid())

    def serve(timeout: float) -> None:
        """One pass over the sockets that have data: answer pings, record frames."""
        nonlocal entering, closed
        events = selector.select(timeout=timeout)
        now = time.monotonic()
        if entering:
            due = [e for e in entering if e[0] <= now]
            entering = [e for e in entering if e[0] > now]
            for _, sock in due:
                try:
                    sock.sendall(_masked(ENTER_FRAME))
                except OSError:
                    pass
        recording = go.is_set()
        watching = live is not None and live.is_set()
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
                if opcode == 1 and watching and went_live[i] is None and LIVE_MARKER in payload:
                    went_live[i] = now
                    if enter_frames:
                        entering.append((now + rng.random() * ENTER_SPREAD, key.fileobj))
                if opcode == 1 and recording and marker in payload:
                    arrivals[i].append(now)
                    if len(samples) < 2 and payload not in samples:
                        samples.append(payload)
                elif opcode == 1 and socketio and payload == b"2":  # Engine.IO ping
                    key.fileobj.sendall(_masked(b"3"))
                elif opcode == 9:  # ping: answer with a masked pong (zero mask key)
                    key.fileobj.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)

    for count, token in enumerate(tokens, start=1):
        try:
            sock, rest = _handshake(port, token, target)
            if socketio:
                sock.sendall(_masked(b"40"))  # join the default namespace
        except OSError:
            failed += 1
            continue
        selector.register(sock, selectors.EVENT_READ, len(buffers))
        buffers.append(rest)
        arrivals.append([])
        went_live.append(None)
        if count % 50 == 0:  # a browser answers pings at once: so do the sockets opened so far
            serve(0)
    ready.put((len(buffers), failed))
    while not stop.is_set():
        serve(0.05 if entering else 0.1)
    results.put((arrivals, closed, went_live, samples))
    for key in list(selector.get_map().values()):
        key.fileobj.close()


# -- calibration -----------------------------------------------------------------------------
def calibrate(n: int = 2000, payload_bytes: int = 1100, rounds: int = 7) -> dict[str, float]:
    """µs per socket, best of `rounds`, over n loopback TCP connections in this process:
    the kernel's price of one send of a pre-built frame, our writer's offer() around it, and
    the naive path (wsproto encodes the frame for each socket, then send)."""
    sys.path.insert(0, str(ROOT))
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, Request, TextMessage

    from portal.realtime import frames
    from portal.realtime.writer import SocketWriter

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    pairs = []
    for _ in range(n):
        client = socket.create_connection(listener.getsockname())
        server_side, _ = listener.accept()
        pairs.append((server_side, client))
    listener.close()
    text = "x" * payload_bytes
    frame = frames.text_frame(text.encode())

    def ws_server() -> WSConnection:
        client, server_side = WSConnection(ConnectionType.CLIENT), WSConnection(ConnectionType.SERVER)
        server_side.receive_data(client.send(Request(host="bench", target="/")))
        list(server_side.events())
        server_side.send(AcceptConnection())
        return server_side

    writers = [SocketWriter(s) for s, _ in pairs]
    protocols = [ws_server() for _ in pairs]
    paths = {
        "raw_send_us": lambda: [s.send(frame, socket.MSG_DONTWAIT) for s, _ in pairs],
        "writer_offer_us": lambda: [w.offer(frame) for w in writers],
        "naive_encode_send_us": lambda: [s.send(p.send(TextMessage(data=text)))
                                         for (s, _), p in zip(pairs, protocols, strict=True)],
    }
    best = {name: float("inf") for name in paths}
    for _ in range(rounds):
        for name, path in paths.items():
            started = time.perf_counter()
            path()
            best[name] = min(best[name], (time.perf_counter() - started) * 1e6 / n)
            for _, client in pairs:  # empty the receive buffers between rounds
                client.recv(1 << 20)
    for s, c in pairs:
        s.close()
        c.close()
    return best


# -- one run ---------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(*, database_url: str, speaker_email: str, n: int, mode: str, clients: int, toggles: int,
        interval: float, workdir: Path, workers: int = 1, redis_url: str = "", enter_frames: bool = True,
        pin: bool = False, profile: str = "") -> dict:
    webinar_id, tokens = new_webinar(database_url, n)
    stats_path = workdir / f"stats-{mode}-{n}-w{workers}.log"
    stats_path.write_text("")
    server = Server(database_url, mode, stats_path, workdir / "server.log", workers=workers, redis_url=redis_url,
                    pin=pin)
    try:
        speaker = Speaker(server.port, speaker_email, webinar_id)
        ctx = mp.get_context("fork")
        ready, results = ctx.Queue(), ctx.Queue()
        go, stop, live = ctx.Event(), ctx.Event(), ctx.Event()
        # Memory is the marginal cost: a tenth of the sockets first (one-time costs such as
        # imports, template compilation and caches land there), then the rest is measured.
        warm = max(1, n // 10)
        batches = [[tokens[:warm]], [tokens[warm:][i::clients] for i in range(clients)]]
        procs: list = []
        connected = failed = 0
        rss: list[int] = []
        connect_started = time.monotonic()
        for batch in batches:
            started = [ctx.Process(target=client_process, daemon=True,
                                   args=(server.port, s, ready, go, stop, results, live, enter_frames),
                                   kwargs={"cpu": 1 if pin else None})
                       for s in batch if s]
            for p in started:
                p.start()
            for _ in started:
                c, f = ready.get(timeout=600)
                connected += c
                failed += f
            procs += started
            time.sleep(3)  # let presence pushes settle
            rss.append(server.rss_kb())
        connect_seconds = time.monotonic() - connect_started
        # The attendees waited in the lobby; the speaker goes live (every one of them enters).
        live.set()
        time.sleep(0.3)
        started = time.monotonic()
        speaker.start()
        go_live_seconds = time.monotonic() - started
        time.sleep(3 + n / 2000)  # attendance pushes settle
        offset = stats_path.stat().st_size
        cpu_before = server.cpu_seconds()
        spy = None
        if profile:  # sample the worker during the toggles only (py-spy, bench/requirements-peers.txt)
            spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                                    str(server.workers[0]), "--rate", "200", "--format", "raw", "--output",
                                    f"{profile}-{n}.txt"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        go.set()
        time.sleep(0.3)
        sent: list[float] = []
        answered: list[float] = []  # each toggle's POST round trip, ms (the server's fixed part and the loop)
        for k in range(toggles):
            sent.append(time.monotonic())
            speaker.toggle(k % 2 == 0)
            answered.append((time.monotonic() - sent[-1]) * 1000)
            time.sleep(interval)
        time.sleep(1.5)
        cpu_after = server.cpu_seconds()
        if spy:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        end = stats_path.stat().st_size
        stop.set()
        collected = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(30)
    finally:
        server.stop()

    latencies: list[float] = []
    by_toggle: list[list[float]] = [[] for _ in sent]  # which toggle makes the tail
    received = 0
    live_latencies = [(t - started) * 1000 for c in collected for t in c[2] if t is not None]
    for arrivals, _closed, _seen, _samples in collected:
        for per_socket in arrivals:
            received += len(per_socket)
            for t in per_socket:
                k = bisect.bisect_right(sent, t) - 1  # the latest toggle sent before this arrival
                if k >= 0:
                    latencies.append((t - sent[k]) * 1000)
                    by_toggle[k].append(latencies[-1])
    dropped = sum(c[1] for c in collected)
    loops, gc_pauses, gc_cpu, gc_gens = [], [], [], []
    gc_before: list[tuple[int, float]] = []  # (generation, ms) of passes while connecting and going live
    with open(stats_path) as f:
        for line in f.read(offset).splitlines():
            g = re.match(r"gc gen=(\d+) ms=([\d.]+)", line)
            if g:
                gc_before.append((int(g.group(1)), float(g.group(2))))
        for line in f.read(end - offset).splitlines():
            m = re.match(r"fanout \S+ mode=\S+ n=(\d+) loop_us=([\d.]+)", line)
            if m and int(m.group(1)) > 0:
                loops.append(float(m.group(2)) / int(m.group(1)))
            g = re.match(r"gc gen=(\d+) ms=([\d.]+) cpu_ms=([\d.]+)", line)
            if g:
                gc_pauses.append(float(g.group(2)))
                gc_cpu.append(float(g.group(3)))
                gc_gens.append(int(g.group(1)))
    return {
        "n": n, "mode": mode, "workers": workers, "enter_frames": enter_frames,
        "connected": connected, "failed": failed,
        "connect_s": connect_seconds,
        "go_live_s": go_live_seconds,
        "live_seen": len(live_latencies),
        "live_p50_ms": percentile(live_latencies, 50), "live_p99_ms": percentile(live_latencies, 99),
        "live_max_ms": max(live_latencies, default=float("nan")),
        "expected": toggles * connected, "received": received, "closed_by_server": dropped,
        "per_toggle": [{"post_ms": round(post, 1), "p50_ms": round(percentile(arrived, 50), 1),
                        "max_ms": round(max(arrived, default=float("nan")), 1)}
                       for post, arrived in zip(answered, by_toggle, strict=True)],
        "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
        "loop_us_per_recipient": statistics.median(loops) if loops else float("nan"),
        "cpu_us_per_recipient": (cpu_after - cpu_before) * 1e6 / max(toggles * connected, 1),
        "rss_kb_per_socket": (rss[-1] - rss[0]) / max(n - max(1, n // 10), 1),
        "gc_max_ms": max(gc_pauses, default=0.0),
        "gc_max_cpu_ms": max(gc_cpu, default=0.0),
        "gc_over_10ms": [(gen, ms) for gen, ms in zip(gc_gens, gc_pauses, strict=True) if ms > 10],
        "gc_passes_1ms": len(gc_pauses),
        "gc_before_max": max(gc_before, key=lambda x: x[1], default=None),
        "gc_before_over_10ms": len([1 for _, ms in gc_before if ms > 10]),
        "loop_us_per_recipient_min": min(loops) if loops else float("nan"),
        "samples": list(dict.fromkeys(bytes(x).decode() for c in collected for x in c[3]))[:2],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="500,2000,5000,10000")
    parser.add_argument("--modes", default="prebuilt,naive")
    parser.add_argument("--clients", type=int, default=4, help="client processes holding the sockets")
    parser.add_argument("--toggles", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between CTA toggles")
    parser.add_argument("--workers", type=int, default=1,
                        help="gunicorn workers; more than one shares the room through Redis (--redis-url)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server URL (a fresh database is created there and dropped after: "
                             "the scale-out setup for --workers 2); default: a SQLite file")
    parser.add_argument("--no-enter-frames", action="store_true",
                        help="clients do not answer the live status with room.js's \"enter\" frame")
    parser.add_argument("--peers", action="store_true",
                        help="after the portal at each N, the naive flask-sock loop (and its bare send()) and "
                             "Flask-SocketIO with the same clients (bench/peers/, bench/requirements-peers.txt)")
    parser.add_argument("--pin", nargs="?", const="on", default="off", choices=["off", "on", "both"],
                        help="server on CPU 0, clients and speaker on CPU 1 (taskset); 'both': shared, then pinned")
    parser.add_argument("--profile", default="",
                        help="py-spy the portal's worker during the toggles into <PROFILE>-<N>.txt (collapsed stacks)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.pin != "off" and len(os.sched_getaffinity(0)) < 2:
        sys.exit("--pin needs two CPUs")
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by server and clients
    if max(sizes) + 200 > hard:
        sys.exit(f"ulimit -n hard limit {hard} is too low for {max(sizes)} sockets")

    workdir = Path(tempfile.mkdtemp(prefix="fanout-bench-"))
    sys.path.insert(0, str(ROOT))
    from bench import scratch

    database_url, drop_database = scratch.database(args.database_url, workdir, "bench_fanout")
    atexit.register(drop_database)
    speaker_email = seed(database_url, max(sizes))
    calibration = calibrate()
    print("calibration (µs per socket, this machine, now): "
          + json.dumps({k: round(v, 2) for k, v in calibration.items()}),
          flush=True)

    rows, peer_rows = [], []
    for pin in {"off": [False], "on": [True], "both": [False, True]}[args.pin]:
        os.sched_setaffinity(0, {1} if pin else set(range(os.cpu_count() or 1)))  # the speaker's side
        for n in sizes:
            for mode in modes:
                row = run(database_url=database_url, speaker_email=speaker_email, n=n, mode=mode,
                          clients=args.clients, toggles=args.toggles, interval=args.interval, workdir=workdir,
                          workers=args.workers, redis_url=args.redis_url, enter_frames=not args.no_enter_frames,
                          pin=pin, profile=args.profile)
                row["pin"] = pin
                rows.append(row)
                print(json.dumps(row), flush=True)
            if args.peers:
                peer_rows += _peers(rows[-len(modes):], n=n, args=args, workdir=workdir, pin=pin)

    print()
    print("| sockets | fan-out (workers) | loop µs/recipient (median, best) | worker CPU µs/recipient "
          "| p50 ms | p99 ms | received / expected | RSS KB/idle socket | longest GC in toggles, ms (wall / CPU) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']:,} | {r['mode']} ({r['workers']}) "
              f"| {r['loop_us_per_recipient']:.1f}, {r['loop_us_per_recipient_min']:.1f} | "
              f"{r['cpu_us_per_recipient']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
              f"{r['received']:,} / {r['expected']:,} | {r['rss_kb_per_socket']:.1f} | "
              f"{r['gc_max_ms']:.0f} / {r['gc_max_cpu_ms']:.0f} |")
    print()
    print("| sockets | fan-out | start POST s | go-live seen / waiting | go-live p50 ms | go-live p99 ms "
          "| CTA p99 ms | go-live p99 / CTA p99 |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']:,} | {r['mode']} | {r['go_live_s']:.2f} | {r['live_seen']:,} / {r['connected']:,} "
              f"| {r['live_p50_ms']:.1f} | {r['live_p99_ms']:.1f} | {r['p99_ms']:.1f} "
              f"| {r['live_p99_ms'] / r['p99_ms']:.2f} |")
    by_key = {(r["n"], r["mode"]): r for r in rows}
    print()
    for n in sizes:
        a, b = by_key.get((n, "prebuilt")), by_key.get((n, "naive"))
        if a and b:
            loop_ratio = b["loop_us_per_recipient"] / a["loop_us_per_recipient"]
            print(f"N={n:,}: naive/prebuilt fan-out loop {loop_ratio:.1f}x, "
                  f"worker CPU {b['cpu_us_per_recipient'] / a['cpu_us_per_recipient']:.1f}x, "
                  f"p99 {b['p99_ms'] / a['p99_ms']:.1f}x")
    if peer_rows:
        from peers import harness

        print()
        print(harness.table([r for r in rows if r["mode"] == "prebuilt"] + peer_rows,
                            " ".join(Path("/proc/loadavg").read_text().split()[:3])))
    if args.json:
        Path(args.json).write_text(json.dumps({"calibration": calibration, "rows": rows, "peers": peer_rows},
                                              indent=2))


def _peers(portal_rows: list[dict], *, n: int, args: argparse.Namespace, workdir: Path, pin: bool) -> list[dict]:
    """The peers at n sockets, broadcasting the CTA frames the portal just sent (issue 14)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from peers import harness

    frames_path = workdir / "peer-frames.json"
    frames_path.write_text(json.dumps(next((r["samples"] for r in portal_rows if r["samples"]), [])))
    rows = []
    for peer in harness.PEERS:
        for row in harness.run_peer(peer, n=n, clients=args.clients, toggles=args.toggles, interval=args.interval,
                                    workdir=workdir, frames_path=frames_path, pin=pin):
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


if __name__ == "__main__":
    main()
