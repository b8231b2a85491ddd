"""Issue 11's "Done when", end to end over real HTTP against the portal as it is deployed:
gunicorn + gevent (as `make run`), the demo data, a token from `flask portal create-token`,
receivers registered through the API, a visitor registering on `demo-live` through the form,
a restart into `PORTAL_WEBHOOK_DISPATCHER=external` with `flask portal dispatcher` delivering,
and the API starting and stopping the webinar. Runs on SQLite and on PostgreSQL (the suite's
second pass)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from portal.core import demo
from portal.core.models import OutboxEvent, User, Webinar
from portal.extensions import db
from portal.webhooks.models import DELIVERED, WebhookDelivery
from tests.webhooks.helpers import make_due
from tests.webhooks.receiver import Answer, Receiver, free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "done-when-" + "k" * 40


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": SECRET_KEY,
            "PORTAL_LOG_LEVEL": "WARNING", "PORTAL_ACCESS_LOG": "/dev/null", "PYTHONPATH": str(ROOT), **extra}


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@contextmanager
def _process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            yield process
        finally:
            _stop(process)
            log.seek(0)
            tail = log.read()[-2000:].decode(errors="replace")
            assert "Traceback" not in tail, tail


@contextmanager
def _portal(database_url: str, **extra: str) -> Iterator[str]:
    """gunicorn with gevent workers on that database; yields its base URL once /healthz answers."""
    port = free_port()
    args = [str(ROOT / ".venv/bin/gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
            "--no-control-socket", "wsgi:app"]
    with _process(args, _env(database_url, **extra)) as process:
        base = f"http://127.0.0.1:{port}"
        _wait(lambda: _answers(base), "gunicorn to answer /healthz", 30, process)
        yield base


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(condition: Callable[[], object], what: str, seconds: float = 15.0,
          process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process is None or process.poll() is None, f"the process ended while waiting for {what}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.1)


def _cli(database_url: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "portal", *args], cwd=ROOT,
                          env=_env(database_url), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _register(base: str, name: str, email: str) -> None:
    """A visitor on /w/demo-live: the page, then the form with its CSRF token and start choice."""
    with httpx.Client(base_url=base, timeout=15) as browser:
        page = browser.get("/w/demo-live").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        slot = re.search(r'name="slot_id" value="([^"]*)"', page)
        assert token, "no CSRF token on the registration page"
        form = {"name": name, "email": email, "csrf_token": token.group(1), "slot_id": slot.group(1) if slot else ""}
        answer = browser.post("/w/demo-live/register", data=form, follow_redirects=True)
        assert answer.status_code == 200 and "/room/" in answer.text, answer.text[:500]  # the join link


def _events(receiver: Receiver, secret: str, name: str) -> list[dict]:
    """Every verified body of that event the receiver got (standardwebhooks raises on a bad one)."""
    return [payload for payload in (Webhook(secret).verify(r.body, r.headers) for r in list(receiver.received))
            if payload["event"] == name]


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    ok, failing = Receiver().start(), Receiver().start()
    failing.answer(Answer(status=500, body=b"database down"))  # then 200s
    yield ok, failing
    ok.stop()
    failing.stop()


def test_registered_signed_retried_after_a_restart_and_start_stop_through_the_api(app, receivers):
    ok, failing = receivers
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    demo.seed(password="demo-password-1")
    db.session.commit()
    live = db.session.scalars(select(Webinar).where(Webinar.slug == "demo-live")).one()
    token = _cli(url, "create-token", "--email", "organizer@example.com", "--scopes", "read,control,webhooks",
                 "--name", "crm").strip().splitlines()[-1]
    api = {"Authorization": f"Bearer {token}"}

    with _portal(url) as base:  # the embedded default: the web worker delivers
        made = [httpx.post(f"{base}/api/v1/webhooks", headers=api, timeout=15,
                           json={"url": r.url, "description": name, "events": events})
                for r, name, events in ((ok, "crm", []), (failing, "flaky", ["client_webinar_registered"]))]
        assert [m.status_code for m in made] == [201, 201], [m.text for m in made]
        ok_secret, failing_secret = (m.json()["secret"] for m in made)
        registered_at = time.monotonic()
        _register(base, "Ann Lee", "ann@example.com")
        _wait(lambda: _events(ok, ok_secret, "client_webinar_registered"), "the registration webhook", 10)
        assert time.monotonic() - registered_at < 10  # "within seconds"
        [ann] = _events(ok, ok_secret, "client_webinar_registered")
        assert ann["webinar_id"] == live.webinar_id and ann["data"]["email"] == "ann@example.com"
        assert ok.received[0].headers["webhook-id"] == ann["event_id"] and ann["sequence"] > 0
        _wait(lambda: failing.received, "the failing receiver's first attempt")
        first_id = failing.received[0].headers["webhook-id"]
        assert first_id == ann["event_id"]

    # Restarted as a busy portal: the web processes deliver nothing, a dispatcher process does.
    with _portal(url, PORTAL_WEBHOOK_DISPATCHER="external") as base:
        _register(base, "Bob Ray", "bob@example.com")
        time.sleep(2)
        assert not _events(ok, ok_secret, "client_webinar_registered")[1:], "the web worker delivered"
        make_due()  # time passes: the 500's back-off is over (the schedule itself: test_delivery.py)
        with _process([sys.executable, "-m", "flask", "--app", "wsgi", "portal", "dispatcher", "--workers", "2"],
                      _env(url)):
            _wait(lambda: len(_events(ok, ok_secret, "client_webinar_registered")) == 2, "Bob's registration")
            _wait(lambda: len(failing.received) == 3, "the retry and Bob's first attempt")
            retried = [r.headers["webhook-id"] for r in failing.received]
            assert retried.count(first_id) == 2  # the same webhook-id again, nothing lost
            for got in failing.received:
                Webhook(failing_secret).verify(got.body, got.headers)
            assert failing.received[0].headers["webhook-timestamp"] <= failing.received[-1].headers["webhook-timestamp"]

            # The API starts and stops the webinar as the console does: Core's hook, its answers
            # and its events, with the token's user as the actor.
            path = f"{base}/api/v1/webinars/{live.webinar_id}/status"
            started = httpx.post(path, headers=api, json={"action": "start"}, timeout=15)
            assert started.status_code == 200, started.text
            assert (started.json()["changed"], started.json()["after"]) == (True, "live")
            again = httpx.post(path, headers=api, json={"action": "start"}, timeout=15)
            assert again.status_code == 200 and again.json()["changed"] is False  # idempotent, like the button
            stopped = httpx.post(path, headers=api, json={"action": "stop"}, timeout=15)
            assert stopped.status_code == 200 and stopped.json()["after"] == "finished"
            refused = httpx.post(path, headers=api, json={"action": "start"}, timeout=15)
            assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
            _wait(lambda: _events(ok, ok_secret, "webinar_completed"), "webinar_completed")
    # Two dispatcher workers deliver concurrently: the receiver orders by the envelope's `sequence`.
    changes = [e["data"] for e in sorted(_events(ok, ok_secret, "webinar_status_changed"), key=lambda e: e["sequence"])]
    organizer = db.session.scalars(select(User).where(User.email == "organizer@example.com")).one()
    assert [(c["from"], c["to"]) for c in changes] == [("scheduled", "live"), ("live", "finished")]
    assert all(c["actor"] == {"type": "user", "user_id": organizer.user_id, "role": "organizer"} for c in changes)
    db.session.rollback()
    since_ann = set(db.session.scalars(select(OutboxEvent.event_id).where(OutboxEvent.sequence >= ann["sequence"])))
    assert since_ann == set(ok.ids())  # every event since reached the all-events receiver, once
    assert len(ok.ids()) == len(since_ann)
    delivered = db.session.scalars(select(WebhookDelivery.event_id).where(WebhookDelivery.status == DELIVERED)).all()
    assert since_ann <= set(delivered)
    assert json.loads(ok.received[0].body)["event_id"] == ann["event_id"]
