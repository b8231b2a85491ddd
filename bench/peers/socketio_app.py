"""The Socket.IO peer: a minimal Flask-SocketIO app (gevent) broadcasting the same CTA text.

    gunicorn -k gevent --worker-connections 20000 --pythonpath bench 'peers.socketio_app:app'

Clients connect with the Engine.IO v4 websocket transport (/socket.io/?EIO=4&transport=websocket)
and join the default namespace; POST /fire/socketio emits the next CTA text to all of them.
"""
from __future__ import annotations

import itertools
import os
import time

from flask import Flask, jsonify
from flask_socketio import SocketIO

from peers import frames

app = Flask(__name__)
socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins="*", logger=False, engineio_logger=False)
texts = frames.load()
_next = itertools.cycle(range(len(texts)))
STATS = os.environ.get("BENCH_FANOUT_STATS", "")
connected: set[str] = set()


@app.get("/healthz")
def healthz():
    return "ok"


@socketio.on("connect")
def on_connect():
    from flask import request

    connected.add(request.sid)


@socketio.on("disconnect")
def on_disconnect(*_args):
    from flask import request

    connected.discard(request.sid)


@app.post("/fire/<mode>")
def fire(mode: str):
    text = texts[next(_next)]
    started = time.perf_counter()
    socketio.emit("cta", text)  # to every client of the namespace; the writes go out per client
    loop_us = (time.perf_counter() - started) * 1e6
    frames.log_line(STATS, mode, len(connected), loop_us)
    return jsonify(n=len(connected), loop_us=loop_us)
