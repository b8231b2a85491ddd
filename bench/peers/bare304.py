"""The 304 yardstick: a minimal Flask app under gunicorn -k gevent answering a matching
If-None-Match with 304 (no session, no database), for bench/poll304.py (issue 14)."""
from __future__ import annotations

from flask import Flask, Response, request

app = Flask(__name__)
ETAG = '"bench-v1"'


@app.get("/healthz")
def healthz():
    return "ok"


@app.get("/room/<token>/state")
def state(token: str):  # noqa: ARG001 - routed like the portal's URL
    if request.headers.get("If-None-Match") == ETAG:
        return Response(status=304, headers={"ETag": ETAG})
    return Response("<div id='room-state'></div>", headers={"ETag": ETAG})
