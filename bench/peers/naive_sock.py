"""The naive peer: a minimal flask-sock app whose broadcast is a loop of ws.send() over its sockets.

    gunicorn -k gevent --worker-connections 20000 --pythonpath bench 'peers.naive_sock:app'

POST /fire/naive sends the next CTA text with ws.send() to every socket (simple-websocket
encodes the frame for each one); POST /fire/bare sends the same frame pre-built once with a
bare socket send() over the same sockets: the calibration of what one send costs here.
"""
from __future__ import annotations

import itertools
import os
import time

from flask import Flask, jsonify
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from wsproto.frame_protocol import Opcode

from peers import frames

app = Flask(__name__)
sock = Sock(app)
clients: set = set()
texts = frames.load()
_next = itertools.cycle(range(len(texts)))
STATS = os.environ.get("BENCH_FANOUT_STATS", "")


def _frame(payload: bytes) -> bytes:
    """The server-to-client text frame for `payload`, built once (servers do not mask)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | Opcode.TEXT, n])
    elif n < 65536:
        head = bytes([0x80 | Opcode.TEXT, 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | Opcode.TEXT, 127]) + n.to_bytes(8, "big")
    return head + payload


@app.get("/healthz")
def healthz():
    return "ok"


@sock.route("/ws/room/<token>")
def room(ws, token):  # noqa: ARG001 - the token only routes like the portal's URL
    clients.add(ws)
    try:
        while True:  # raises ConnectionClosed when the client goes
            ws.receive()
    except ConnectionClosed:
        pass
    finally:
        clients.discard(ws)


@app.post("/fire/<mode>")
def fire(mode: str):
    text = texts[next(_next)]
    targets = list(clients)
    started = time.perf_counter()
    if mode == "bare":
        frame = _frame(text.encode())
        for ws in targets:
            try:
                ws.sock.sendall(frame)
            except OSError:
                clients.discard(ws)
    else:
        for ws in targets:
            try:
                ws.send(text)
            except ConnectionClosed:
                clients.discard(ws)
    loop_us = (time.perf_counter() - started) * 1e6
    frames.log_line(STATS, mode, len(targets), loop_us)
    return jsonify(n=len(targets), loop_us=loop_us)
