"""Issue 9, point 6: join tokens never reach gunicorn's access log (gunicorn.conf.py).

Served by the real `gunicorn -k gevent --config gunicorn.conf.py`, like `make run`."""
from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_masking_cuts_every_token_in_room_paths():
    mask = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["mask_join_tokens"]
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    assert mask(f"GET /room/{token} HTTP/1.1") == "GET /room/AbCd*** HTTP/1.1"
    assert mask(f"GET /ws/room/{token} HTTP/1.1") == "GET /ws/room/AbCd*** HTTP/1.1"
    assert mask(f"POST /room/{token}/chat HTTP/1.1") == "POST /room/AbCd***/chat HTTP/1.1"
    assert mask(f"https://example.com/room/{token}/state?since=3") == "https://example.com/room/AbCd***/state?since=3"
    assert mask("GET /w/some-slug HTTP/1.1") == "GET /w/some-slug HTTP/1.1"
    assert mask(None) is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_logs_no_token(_schema, tmp_path, make, app):
    from tests.room.conftest import register

    attendee = register(make.webinar(status="live"))
    token = attendee.token
    access = tmp_path / "access.log"
    port = _free_port()
    env = {**os.environ, "PORTAL_DATABASE_URL": _schema, "PORTAL_ACCESS_LOG": str(access),
           "PORTAL_SECRET_KEY": "access-log-test-secret-of-at-least-32-bytes", "PORTAL_WORKERS": "1"}
    env.pop("PORTAL_REDIS_URL", None)
    out = tmp_path / "server.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with open(out, "wb") as sink:
        process = subprocess.Popen([str(gunicorn), "--config", "gunicorn.conf.py", "--no-control-socket",
                                    "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                                   cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start:\n" + out.read_text()) from None
                time.sleep(0.2)
        room = f"{base}/room/{token}"
        for url in (room, f"{room}/state", f"{base}/ws/room/{token}"):
            request = urllib.request.Request(url, headers={"Referer": room})
            try:
                urllib.request.urlopen(request, timeout=5).read()
            except urllib.error.HTTPError:
                pass  # the socket URL without an upgrade is refused: still logged
        wait = time.monotonic() + 10
        while access.read_text().count("\n") < 4 and time.monotonic() < wait:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(15)
    log = access.read_text()
    assert f"/room/{token[:4]}***" in log and f"/ws/room/{token[:4]}***" in log
    assert token not in log and token[4:12] not in log


def test_every_atom_the_format_reads_is_masked():
    """The masking happens when the log line reads an atom, so any atom a format names (a
    request header, an environ value) is masked, not only those of the default format."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    token = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    atoms = conf["MaskedAtoms"]({"r": f"GET /room/{token}/state HTTP/1.1", "{referer}i": f"https://x/room/{token}",
                                 "{raw_uri}e": f"/ws/room/{token}", "s": 304})
    line = '%(r)s %({Referer}i)s %({raw_uri}e)s %(s)s %(b)s' % atoms  # noqa: UP031 - as logging formats it
    assert token[4:] not in line and line.count("AbCd***") == 3 and line.endswith(" 304 -")
