"""The sender as it runs: the in-process thread delivers without anyone asking, and several
senders on PostgreSQL (FOR UPDATE SKIP LOCKED) share the due rows without sending one twice."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from portal import create_app, shutdown
from portal.extensions import db
from portal.mail import sender
from portal.mail.models import SENT, MailMessage
from portal.registration import service
from tests import factories
from tests.conftest import scratch_postgres_database


def _wait_for(predicate, seconds: float = 20.0) -> bool:  # noqa: ANN001
    """Poll until `predicate()` holds (a bound for a hung run, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def app_config(app_config, smtp_app_config):  # noqa: ANN001
    smtp_app_config["MAIL_SENDER_THREAD"] = True
    smtp_app_config["MAIL_SENDER_INTERVAL"] = 0.05
    return smtp_app_config


def test_the_background_sender_delivers_the_confirmation_on_its_own(app, make, visitor, smtp_server):
    webinar = make.webinar(status="scheduled")
    assert visitor.register(webinar.slug).status_code == 303  # the request starts the sender
    assert sender.current(app).running
    assert _wait_for(lambda: len(smtp_server.sink.received) == 1)
    assert _wait_for(lambda: db.session.scalar(select(MailMessage.status).execution_options(
        populate_existing=True)) == SENT)
    shutdown(app)
    assert not sender.current(app).running
    assert len(smtp_server.sink.received) == 1


@pytest.mark.postgres
def test_several_senders_on_postgresql_send_each_mail_once(smtp_server, postgres_url):
    with scratch_postgres_database(postgres_url, "portal_mail") as url:
        config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret", "REDIS_URL": "",
                  "SMTP_URL": smtp_server.url, "MAIL_SMTP_TIMEOUT": 5}
        apps = [create_app(config) for _ in range(3)]
        with apps[0].app_context():
            db.create_all()
            webinar = factories.webinar(status="scheduled")
            for i in range(40):  # each registration queues its confirmation
                service.register(webinar, name=f"Lead {i}", email=f"lead{i}@example.com")
        handled: list[int] = []

        def work(app) -> None:  # noqa: ANN001
            with app.app_context():
                while True:
                    n = sender.run_once(app, limit=3)
                    if not n:
                        break
                    handled.append(n)
                db.session.remove()

        threads = [threading.Thread(target=work, args=(a,)) for a in apps]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with apps[0].app_context():
            statuses = {status: count for status, count in db.session.execute(
                select(MailMessage.status, func.count()).group_by(MailMessage.status))}
            db.session.remove()
            for a in apps:
                shutdown(a)
                with a.app_context():
                    db.engine.dispose()
        assert statuses == {SENT: 40}
        assert sum(handled) == 40
        recipients = sorted(m["To"].addresses[0].addr_spec for m in smtp_server.sink.received)
        assert recipients == sorted(f"lead{i}@example.com" for i in range(40))
