"""The sender as it runs: the in-process thread delivers without anyone asking, several
senders on PostgreSQL (FOR UPDATE SKIP LOCKED) share the due rows without sending one twice,
and with PORTAL_MAIL_SENDER=external a `flask portal mailer` process sends instead."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal import create_app, shutdown
from portal.config import ConfigError
from portal.extensions import db
from portal.mail import sender
from portal.mail.models import QUEUED, SENT, MailMessage
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


# --- PORTAL_MAIL_SENDER=external: `flask portal mailer` sends, the web processes do not -------

ROOT = Path(__file__).resolve().parents[2]
KEY = secrets.token_hex(32)  # the mailer process unseals the join links with the same key


@pytest.fixture
def external_config(app_config, smtp_app_config):  # noqa: ANN001
    smtp_app_config.update(MAIL_SENDER="external", MAIL_SENDER_THREAD=True, SECRET_KEY=KEY)
    return smtp_app_config


def _mailer(app, smtp_url: str, *extra: str) -> subprocess.Popen:  # noqa: ANN001
    env = {**os.environ, "PORTAL_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "PORTAL_SECRET_KEY": KEY,
           "PORTAL_SMTP_URL": smtp_url, "PORTAL_MAIL_SENDER": "external", "PORTAL_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "portal", "mailer", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _statuses() -> list[str]:
    return list(db.session.scalars(select(MailMessage.status).order_by(MailMessage.message_id)
                                   .execution_options(populate_existing=True)))


def test_an_external_mailer_sends_what_the_web_process_queues_and_stops_cleanly(
        external_config, app, make, visitor, smtp_server):  # noqa: ANN001
    webinar = make.webinar(status="scheduled", title="Pricing clinic")
    assert visitor.register(webinar.slug).status_code == 303
    assert not sender.current(app).running  # the web process sends nothing itself
    time.sleep(0.3)
    assert _statuses() == [QUEUED] and not smtp_server.sink.received
    process = _mailer(app, smtp_server.url)
    try:
        assert _wait_for(lambda: len(smtp_server.sink.received) == 1, seconds=60), process.stderr
        [mail] = smtp_server.sink.received
        assert mail["To"].addresses[0].addr_spec == "ann@example.com" and "Pricing clinic" in mail["Subject"]
        assert "/room/" in mail.get_body(("plain",)).get_content()  # the join link, unsealed by the mailer
        assert _wait_for(lambda: _statuses() == [SENT])
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "mail sender running (SMTP 127.0.0.1)" in out and "web processes' own senders: external" in out

    # Queued while no mailer runs: kept queued, then sent by a one-off pass.
    other = make.webinar(status="scheduled", title="Second clinic")
    assert visitor.register(other.slug).status_code == 303
    time.sleep(0.3)
    assert _statuses() == [SENT, QUEUED] and len(smtp_server.sink.received) == 1
    once = _mailer(app, smtp_server.url, "--once")
    out, err = once.communicate(timeout=60)
    assert once.returncode == 0, err
    assert out.strip() == "1 messages handled"
    assert _statuses() == [SENT, SENT] and len(smtp_server.sink.received) == 2


def test_the_mail_log_tells_the_admin_a_mailer_process_sends(external_config, app, as_user, staff):  # noqa: ANN001
    page = as_user(staff.admin).get("/admin/mail").get_data(as_text=True)
    assert "PORTAL_MAIL_SENDER=external" in page and "While none runs, messages stay queued." in page


def test_the_mail_log_says_nothing_of_a_mailer_process_by_default(app, as_user, staff):  # noqa: ANN001
    assert "PORTAL_MAIL_SENDER" not in as_user(staff.admin).get("/admin/mail").get_data(as_text=True)


def test_an_unknown_mail_sender_mode_stops_the_start(app_config):  # noqa: ANN001
    with pytest.raises(ConfigError, match="PORTAL_MAIL_SENDER='elsewhere'"):
        create_app({**app_config, "MAIL_SENDER": "elsewhere"})
