"""Dispatchers as processes: one SIGKILLed mid-delivery (the delivery comes again later, same
webhook-id), two at once on PostgreSQL (each event delivered once: claims are
`FOR UPDATE SKIP LOCKED`), and the in-process dispatcher of a web app."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from portal import create_app, shutdown
from portal.extensions import db
from portal.webhooks import delivery as sending
from portal.webhooks import dispatcher
from portal.webhooks.models import DELIVERED, PENDING, WebhookDelivery
from tests import factories
from tests.conftest import scratch_postgres_database
from tests.webhooks.helpers import deliveries, emit, endpoint, make_due
from tests.webhooks.receiver import Answer, Receiver

ROOT = Path(__file__).resolve().parents[2]


def _dispatcher_process(database_url: str, *extra: str) -> subprocess.Popen:
    """`flask --app wsgi portal dispatcher` on that database; its stderr goes to a temporary
    file (read by _stderr when it died)."""
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": secrets.token_hex(32),
           "PORTAL_LOG_LEVEL": "WARNING"}
    with tempfile.NamedTemporaryFile(prefix="dispatcher-", suffix=".log", delete=False) as log:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "portal", "dispatcher", *extra],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    process.log_path = log.name  # type: ignore[attr-defined]
    return process


def _stderr(process: subprocess.Popen) -> str:
    if process.poll() is None:
        return "no request arrived"
    return Path(process.log_path).read_text(errors="replace")[-3000:]  # type: ignore[attr-defined]


def _wait(condition, what: str, seconds: float = 60.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def test_dispatcher_killed_mid_delivery_delivers_later_with_the_same_id(app, make, receiver):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner)
    _, secret = endpoint(owner, receiver.url)
    hold = threading.Event()
    receiver.answer(Answer(hold=hold))
    event = emit(webinar)
    process = _dispatcher_process(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        assert receiver.arrived.wait(60), _stderr(process)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        os.unlink(process.log_path)  # type: ignore[attr-defined]
        hold.set()
    [delivery] = deliveries()
    assert delivery.status == PENDING and delivery.attempts == 0  # claimed, never recorded
    make_due()  # the claim lapses (CLAIM_SECONDS later)
    assert sending.deliver_due() == 1
    assert receiver.ids() == [event.event_id, event.event_id]
    for got in receiver.received:
        Webhook(secret).verify(got.body, got.headers)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (DELIVERED, 1)


N = 150


@pytest.mark.postgres
def test_two_dispatchers_on_postgresql_deliver_each_event_once(postgres_url):
    receiver = Receiver().start()
    with scratch_postgres_database(postgres_url, "portal_webhooks") as url:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret"})
        processes: list[subprocess.Popen] = []
        try:
            with app.app_context():
                db.create_all()
                owner = factories.user(role="organizer")
                webinar = factories.webinar(owner=owner)
                endpoint(owner, receiver.url)
                ids = {emit(webinar).event_id for _ in range(N)}
                processes = [_dispatcher_process(url, "--workers", "4") for _ in range(2)]

                def done() -> bool:
                    db.session.rollback()
                    return db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                             .where(WebhookDelivery.status == DELIVERED)) == N
                _wait(done, f"{N} deliveries", 180)
                assert all(p.poll() is None for p in processes), [_stderr(p) for p in processes]
                assert sorted(receiver.ids()) == sorted(ids)  # every event once, none twice
                attempts = db.session.scalars(select(WebhookDelivery.attempts)).all()
                assert set(attempts) == {1}
                db.session.remove()
                db.engine.dispose()
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)
                os.unlink(process.log_path)  # type: ignore[attr-defined]
            receiver.stop()


def test_the_web_app_runs_a_dispatcher_in_process(app_config, receiver):
    app = create_app({**app_config, "WEBHOOK_DISPATCHER_THREAD": True})
    try:
        with app.app_context():
            from tests.conftest import _wipe
            _wipe()
            owner = factories.user(role="organizer")
            webinar = factories.webinar(owner=owner)
            endpoint(owner, receiver.url)
            app.test_client().get("/healthz")  # the first request starts it
            assert dispatcher.current(app).running
            event = emit(webinar)
            assert receiver.arrived.wait(30)
            assert receiver.ids() == [event.event_id]
            _wait(lambda: deliveries()[0].status == DELIVERED, "the delivery recorded")
    finally:
        shutdown(app)
        assert not dispatcher.current(app).running
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_external_mode_leaves_delivery_to_the_dispatcher_command(app_config, receiver):
    app = create_app({**app_config, "WEBHOOK_DISPATCHER": "external", "WEBHOOK_DISPATCHER_THREAD": True})
    try:
        with app.app_context():
            from tests.conftest import _wipe
            _wipe()
            owner = factories.user(role="organizer")
            endpoint(owner, receiver.url)
            app.test_client().get("/healthz")
            assert not dispatcher.current(app).running  # a web process of a busy portal delivers nothing
            emit(factories.webinar(owner=owner))
            assert not receiver.arrived.wait(1.5)
            assert deliveries() == []  # not even fanned out: the outbox keeps the event
            worker = dispatcher.external(app, workers=2)
            worker.start()
            try:
                assert receiver.arrived.wait(30)
                _wait(lambda: [d.status for d in deliveries()] == [DELIVERED], "the delivery recorded")
            finally:
                worker.stop()
            assert not worker.running
            db.session.remove()  # this test's own reads
            assert db.engine.pool.checkedout() == 0  # the dispatcher holds nothing after stop
    finally:
        shutdown(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_an_unknown_dispatcher_mode_stops_the_start(app_config):
    from portal.config import ConfigError

    with pytest.raises(ConfigError, match="PORTAL_WEBHOOK_DISPATCHER='sideways'"):
        create_app({**app_config, "WEBHOOK_DISPATCHER": "sideways"})
