"""Delivery against a real SMTP server (aiosmtpd): the confirmation, retries, failures, restarts."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.db_types import utcnow
from portal.extensions import db
from portal.mail.models import FAILED, QUEUED, SENT, MailMessage


@pytest.fixture
def app_config(app_config, smtp_app_config):  # noqa: ANN001 - the SMTP server is configured
    return smtp_app_config


def rows() -> list[MailMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(MailMessage).order_by(MailMessage.message_id)))


def make_due() -> None:
    """Move every queued row's retry time to now (instead of waiting for the back-off)."""
    db.session.execute(update(MailMessage).where(MailMessage.status == QUEUED).values(next_attempt_at=utcnow()))
    db.session.commit()


def test_confirmation_arrives_with_a_working_link_and_an_invitation(app, make, visitor, smtp_server, deliver):
    webinar = make.webinar(status="scheduled", title="Pricing\r\nBcc: evil@example.com")
    registered = visitor.register(webinar.slug, name="Vera\r\nBcc: x@example.com", email="vera@example.com")
    assert registered.status_code == 303
    [row] = rows()
    assert (row.kind, row.occurrence, row.status, row.recipient) == ("confirmation", "registered", QUEUED,
                                                                     "vera@example.com")
    assert deliver() == 1
    [row] = rows()
    assert row.status == SENT and row.sent_at is not None and row.last_answer.startswith("250")
    [msg] = smtp_server.sink.received
    # header injection neutralised: one line, no Bcc header, one recipient
    assert msg["Bcc"] is None and "\n" not in str(msg["Subject"]) and "\n" not in str(msg["To"])
    assert str(msg["To"]).endswith("<vera@example.com>")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    link = re.search(r"http://localhost/room/[A-Za-z0-9_\-]+", text).group(0)
    assert link in html
    # the link works: it opens the room
    assert visitor.client.get(link.removeprefix("http://localhost")).status_code == 200
    parts = {p.get_content_type(): p for p in msg.walk()}
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    ics = parts["text/calendar"].get_content()
    assert "METHOD:REQUEST" in ics and f"UID:registration-{row.registration_id}@localhost" in ics
    assert "application/ics" in parts
    # sending again sends nothing
    assert deliver() == 0 and len(smtp_server.sink.received) == 1


def test_a_second_registration_submit_queues_no_second_confirmation(app, make, visitor, deliver):
    webinar = make.webinar(status="scheduled")
    visitor.register(webinar.slug)
    visitor.register(webinar.slug)
    assert len(rows()) == 1


def test_server_down_then_up_is_retried_and_delivered_once(app, make, visitor, smtp_server, deliver):
    webinar = make.webinar(status="scheduled")
    smtp_server.stop()
    visitor.register(webinar.slug)
    assert deliver() == 1
    [row] = rows()
    assert row.status == QUEUED and row.attempts == 1 and "cannot reach" in row.last_answer
    assert row.next_attempt_at > utcnow()  # backed off
    assert deliver() == 0  # not due yet
    smtp_server.start()
    make_due()
    assert deliver() == 1
    [row] = rows()
    assert row.status == SENT and row.attempts == 2
    assert len(smtp_server.sink.received) == 1


def test_4xx_is_retried_and_5xx_fails_visibly(app, make, visitor, smtp_server, deliver):
    webinar = make.webinar(status="scheduled")
    smtp_server.sink.answers = ["451 try later"]
    visitor.register(webinar.slug, email="a@example.com")
    deliver()
    [row] = rows()
    assert row.status == QUEUED and row.last_answer.startswith("DATA: 451")
    make_due()
    deliver()
    assert rows()[0].status == SENT and len(smtp_server.sink.received) == 1

    smtp_server.sink.answers = ["554 no thanks"]
    visitor.register(webinar.slug, email="b@example.com")
    deliver()
    row = rows()[1]
    assert row.status == FAILED and row.last_answer == "DATA: 554 no thanks"
    make_due()
    assert deliver() == 0 and len(smtp_server.sink.received) == 1


def test_refused_recipient_fails(app, make, visitor, smtp_server, deliver):
    webinar = make.webinar(status="scheduled")
    smtp_server.sink.rcpt_answer = "550 no such user"
    visitor.register(webinar.slug)
    deliver()
    [row] = rows()
    assert row.status == FAILED and row.last_answer == "RCPT TO: 550 no such user"
    assert smtp_server.sink.data_attempts == 0


def test_connection_dropped_mid_message_is_retried_and_delivered_once(app, make, visitor, smtp_server, deliver):
    webinar = make.webinar(status="scheduled")
    smtp_server.sink.drop_next = 1
    visitor.register(webinar.slug)
    deliver()
    [row] = rows()
    assert row.status == QUEUED and "connection lost" in row.last_answer
    make_due()
    deliver()
    [row] = rows()
    assert row.status == SENT and len(smtp_server.sink.received) == 1 and smtp_server.sink.data_attempts == 2


def test_a_restart_while_mails_are_due_sends_each_once(app, app_config, make, browser_factory, smtp_server, deliver):
    from portal import create_app, shutdown
    from portal.mail import sender

    webinar = make.webinar(status="scheduled")
    for i in range(5):
        browser_factory().register(webinar.slug, email=f"p{i}@example.com")
    # the first process claims some rows and dies before sending them (its lease is left)
    token, claimed = sender.claim(limit=2)
    assert len(claimed) == 2
    # a new process (a new app: its own sender) starts while all five are due
    other = create_app(app_config)
    with other.app_context():
        assert sender.run_once(other) == 3  # the claimed rows are not its to send
        db.session.execute(update(MailMessage).where(MailMessage.claim_token == token)
                           .values(claimed_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert sender.run_once(other) == 2  # the dead process's lease expired: taken over
        assert sender.run_once(other) == 0
        shutdown(other)
        db.session.remove()
        db.engine.dispose()
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp_server.sink.received) == [
        f"p{i}@example.com" for i in range(5)]
    assert {r.status for r in rows()} == {SENT}
    # the first process's late write-back changes nothing: the claim is not its any more
    sender._finish(claimed[0].message_id, token, status=QUEUED)
    assert rows()[0].status == SENT


def test_a_stopping_sender_gives_back_what_it_claimed_and_did_not_send(app, make, visitor, smtp_server,
                                                                       monkeypatch):
    import threading

    from portal.mail import sender

    webinar = make.webinar(status="scheduled")
    for i in range(3):
        visitor.register(webinar.slug, email=f"lead{i}@example.com")
    stop = threading.Event()
    original = sender._deliver

    def deliver_one_then_stop(row, token, connection):  # noqa: ANN001 - the shutdown comes mid-pass
        original(row, token, connection)
        stop.set()

    monkeypatch.setattr(sender, "_deliver", deliver_one_then_stop)
    assert sender.run_once(app, stop=stop) == 1
    statuses = sorted((r.status, r.claim_token) for r in rows())
    assert statuses == [(QUEUED, None), (QUEUED, None), (SENT, None)]  # not left "sending" for a lease
    assert len(smtp_server.sink.received) == 1


@pytest.mark.parametrize(("accept", "subject", "greeting", "when"), [
    ("ru-RU,ru;q=0.9", "Вы зарегистрированы: Цены", "Здравствуйте, Вера!", "Когда"),
    ("en-GB,en;q=0.9", "You are registered: Цены", "Hello Вера,", "When"),
])
def test_the_confirmation_is_in_the_language_the_registration_page_was_shown_in(
        app, make, visitor, smtp_server, deliver, accept, subject, greeting, when):
    webinar = make.webinar(status="scheduled", title="Цены")
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    assert visitor.register(webinar.slug, name="Вера", email="vera@example.com").status_code == 303
    assert deliver() == 1
    [msg] = smtp_server.sink.received
    assert str(msg["Subject"]) == subject
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = msg.get_body(("html",)).get_content()
    assert text.startswith(f"Цены\n====\n\n{greeting}\n") and f"\n{when}: " in text
    assert greeting.rstrip(",!") in html


def test_a_pass_loads_its_registrations_once_not_per_message(app, make, browser_factory, smtp_server, deliver):
    """The pass's registrations (with webinar, slot, lead) are loaded in one query and kept for
    the pass: rendering and the still-wanted check read them without a query per message
    (issue 14: once the loaded objects were collected, each message loaded them again)."""
    from sqlalchemy import event

    webinar = make.webinar(status="scheduled")
    for n in range(4):
        assert browser_factory().register(webinar.slug, email=f"pass{n}@example.com").status_code == 303
    selects: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001, ARG001 - SQLAlchemy's event signature
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(" ".join(statement.split())[:80])

    db.session.remove()  # a new session, as the sender's thread has: nothing loaded yet
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert deliver() == 4
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(smtp_server.sink.received) == 4
    # claim: the due ids, the claimed rows, their registrations; then the empty second pass
    assert len(selects) <= 4, "\n".join(selects)
