"""Mails to a whole webinar (portal.mail.broadcast): "we are live" queued in pages of one
multi-row insert each, exactly once; cancellation heard from Core's event; no join token
kept in the clear; shutdown leaves no connection behind."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import event, func, select

from portal.core import events, lifecycle
from portal.core.models import Webinar
from portal.core.permissions import SYSTEM
from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import broadcast, compose, jobs, reminders, sealed, sender
from portal.mail.ledger import TOKEN_KEY
from portal.mail.models import MailMessage
from portal.registration import service
from portal.registration.models import Registration

ROOT = Path(__file__).resolve().parents[2]


def _register_many(webinar: Webinar, count: int) -> None:
    for i in range(count):
        service.register(webinar, name=f"Lead {i}", email=f"lead{i}@example.com")
    db.session.commit()


def _count(kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(MailMessage).where(MailMessage.kind == kind)) or 0


def test_go_live_queues_each_page_with_one_insert_exactly_once(app, make, monkeypatch):
    monkeypatch.setattr(broadcast, "BATCH", 7)
    webinar = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(minutes=10))
    _register_many(webinar, 20)
    inserts: list[int] = []

    def count_inserts(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, PLR0913
        if statement.startswith("INSERT INTO mail_message") and "live_now" in str(parameters):
            inserts.append(1)

    event.listen(db.engine, "before_cursor_execute", count_inserts)
    try:
        lifecycle.core_webinar_set_status(webinar, "start", actor=SYSTEM)
        assert reminders.settle(current_app)
    finally:
        event.remove(db.engine, "before_cursor_execute", count_inserts)
    assert _count("live_now") == 20
    assert len(inserts) == 3  # 20 registrants in pages of 7: three statements, not twenty
    # every row carries the registrant's link sealed, never the token itself
    rows = list(db.session.scalars(select(MailMessage).where(MailMessage.kind == "live_now")))
    confirmations = {r.registration_id: r for r in db.session.scalars(
        select(MailMessage).where(MailMessage.kind == "confirmation"))}
    for row in rows:
        assert "join_token" not in row.context
        token = sealed.unseal(row.context[TOKEN_KEY])
        assert token == sealed.unseal(confirmations[row.registration_id].context[TOKEN_KEY])
        assert db.session.get(Registration, row.registration_id).join_token_hash != token
    # a second run (a retry, another process) writes nothing: one row per key
    db.session.expire_all()
    assert broadcast.went_live(db.session.get(Webinar, webinar.webinar_id), now=utcnow(), commit=True) == 0
    assert _count("live_now") == 20


def test_a_sealed_token_opens_only_under_the_same_key(app):
    box = sealed.seal("abc_DEF-123")
    assert box != "abc_DEF-123" and "abc_DEF-123" not in box
    assert sealed.unseal(box) == "abc_DEF-123"
    assert sealed.unseal(box[:-3] + ("AAA" if not box.endswith("AAA") else "BBB")) is None  # tampered
    assert sealed.unseal("plain-token") is None and sealed.unseal(None) is None
    original = app.secret_key
    app.secret_key = "another key " * 4
    try:
        assert sealed.unseal(box) is None  # the key was rotated: the mail falls back to recovery
    finally:
        app.secret_key = original


def test_core_cancel_event_queues_the_cancel_notice_in_its_transaction(app, make):
    webinar = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(days=3))
    _register_many(webinar, 3)
    assert _count("remind_24h") == 3
    # What issue 12's Core `cancel` emits (SPEC §3), driven here as the event itself
    events.emit("webinar_status_changed", webinar_id=webinar.webinar_id,
                data={"from": "scheduled", "to": "archived", "reason": "cancelled", "actor": None})
    assert _count("cancelled") == 3  # written in the emitting transaction, before its commit
    db.session.rollback()  # no cancel, no notice
    assert _count("cancelled") == 0
    events.emit("webinar_status_changed", webinar_id=webinar.webinar_id,
                data={"from": "scheduled", "to": "archived", "reason": "cancelled", "actor": None})
    db.session.commit()
    statuses = {r.kind: r.status for r in db.session.scalars(select(MailMessage))}
    assert statuses["cancelled"] == "queued" and statuses["remind_24h"] == statuses["remind_1h"] == "skipped"
    # an ordinary status change is not a cancellation
    assert not broadcast.is_cancellation({"event": "webinar_status_changed",
                                          "data": {"from": "finished", "to": "archived"}})


def test_link_recovery_does_the_same_work_in_the_request_for_any_address(app, make):
    """The request's SQL is the same whether or not the address is registered: the look-up
    happens in the background job."""
    from tests.conftest import csrf_token_from

    webinar = make.webinar(status="scheduled")
    service.register(webinar, name="Ann", email="ann@example.com")
    db.session.commit()
    client = app.test_client()
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, PLR0913
        if threading.current_thread() is threading.main_thread():
            seen.append(statement)

    def post(email: str) -> list[str]:
        token = csrf_token_from(client.get(f"/w/{webinar.slug}").get_data(as_text=True))
        seen.clear()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            answer = client.post(f"/w/{webinar.slug}/link-recovery", data={"email": email, "csrf_token": token})
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert answer.status_code == 303
        assert jobs.settle(app)
        return list(seen)

    assert post("nobody@example.com") == post("ann@example.com")
    assert _count("link_recovery") == 1


def test_shutdown_waits_for_the_jobs_and_the_sender_and_leaves_no_connection(app, make):
    db.session.commit()
    db.session.remove()
    started = threading.Event()

    def slow_job() -> None:
        db.session.execute(select(1))  # holds a connection
        started.set()
        time.sleep(0.3)

    jobs.start(app, slow_job, "slow")
    app.config["MAIL_SENDER_THREAD"] = True
    sender.current(app).ensure_started()
    assert started.wait(5)
    from portal.mail import shutdown

    shutdown(app)
    assert not sender.current(app).running
    assert db.engine.pool.checkedout() == 0  # the engine can be disposed: nothing leaks
    jobs.start(app, lambda: None, "late")  # after shutdown nothing starts
    assert jobs.settle(app, timeout=0.1)


def _under_gevent(tmp_path: Path, *, registrants: int, starts_in: str, body: str, fields: int) -> list[str]:
    """Run `body` in a process patched by gevent as a gunicorn worker is, after creating an app
    on a SQLite file and a scheduled webinar (`w`, starting `starts_in` from now) with
    `registrants` registrations; the `fields` words of the line `body` prints after "RESULT"
    (the last one takes the rest of the line)."""
    script = textwrap.dedent(f"""
        from gevent import monkey
        monkey.patch_all()
        import sys, time, gevent
        sys.path.insert(0, {str(ROOT)!r})
        from datetime import timedelta
        from sqlalchemy import text
        from portal import create_app
        from portal.db_types import utcnow
        from portal.extensions import db
        from portal.registration import service
        from tests import factories

        app = create_app({{"TESTING": True, "SECRET_KEY": "k" * 40,
                           "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / 'db.sqlite3'}",
                           "WTF_CSRF_ENABLED": False}})
        with app.app_context():
            db.create_all()
            w = factories.webinar(status="scheduled", scheduled_at=utcnow() + timedelta({starts_in}))
            for i in range({registrants}):
                service.register(w, name="L", email=f"l{{i}}@example.com")
            db.session.commit()
            webinar_id = w.webinar_id
    """) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT")]
    assert line, done.stderr[-2000:]
    return line[0].split(" ", fields)[1:]


def test_under_gevent_the_go_live_job_never_waits_in_sqlites_busy_handler(tmp_path):
    """A greenlet holding SQLite's write lock across a yield (as a batch of another domain can)
    must not deadlock the process with the mail job: SQLite's busy wait would block every
    greenlet for the 15 s busy timeout and end in "database is locked"."""
    held, written, seconds, error = _under_gevent(tmp_path, registrants=30, starts_in="minutes=5", fields=4, body="""
        from portal.mail import broadcast

        def holder():
            with app.app_context(), db.engine.begin() as conn:
                conn.execute(text("UPDATE webinar SET title = title"))  # takes the write lock
                gevent.sleep(0.5)  # yields while holding it
                return "held"

        def job():
            with app.app_context():
                from portal.core.models import Webinar
                return broadcast.went_live(db.session.get(Webinar, webinar_id), now=utcnow(), commit=True)

        started = time.monotonic()
        g1 = gevent.spawn(holder)
        gevent.sleep(0.05)
        g2 = gevent.spawn(job)
        gevent.joinall([g1, g2], timeout=20)
        print("RESULT", g1.value, g2.value, round(time.monotonic() - started, 2), g2.exception)
    """)
    assert held == "held" and error == "None" and written == "30"
    assert float(seconds) < 3  # not the 15 s busy timeout


def test_links_in_background_mails_come_from_the_configured_base_url(app, make):
    app.config["BASE_URL"] = "https://webinars.example.com/"
    webinar = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(minutes=10))
    _register_many(webinar, 1)
    lifecycle.core_webinar_set_status(webinar, "start", actor=SYSTEM)  # no request: a background job queues
    assert reminders.settle(current_app)
    row = db.session.scalars(select(MailMessage).where(MailMessage.kind == "live_now")).one()
    message = compose.render(row).message
    assert message["List-Unsubscribe"].startswith("<https://webinars.example.com/unsubscribe/")
    text = message.get_body(("plain",)).get_content()
    assert "https://webinars.example.com/room/" in text and "http://localhost" not in text


def test_production_mails_never_take_a_clients_host_header(app):
    from portal.mail.ledger import base_url

    app.config["ENV"] = "production"
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert base_url() == "http://localhost"
        app.config["BASE_URL"] = "https://webinars.example.com"
        assert base_url() == "https://webinars.example.com"


def test_without_a_base_url_the_job_links_to_the_origin_of_the_request_that_started_it(app, make):
    webinar = make.webinar(status="scheduled", scheduled_at=utcnow() + timedelta(minutes=10))
    _register_many(webinar, 1)
    envelope = {"event": "webinar_status_changed", "webinar_id": webinar.webinar_id,
                "data": {"from": "scheduled", "to": "live"}}
    with app.test_request_context("/console", base_url="http://portal.test:8080"):
        broadcast.on_event_committed(envelope, app=app)  # the start POST's after-commit
    assert reminders.settle(current_app)
    row = db.session.scalars(select(MailMessage).where(MailMessage.kind == "live_now")).one()
    message = compose.render(row).message  # rendered later by the sender, outside any request
    assert message["List-Unsubscribe"].startswith("<http://portal.test:8080/unsubscribe/")
    assert "http://portal.test:8080/room/" in message.get_body(("plain",)).get_content()


def test_under_gevent_starting_a_mail_job_does_not_let_it_run_before_the_caller(tmp_path):
    """A go-live request queues its "we are live" job, then pushes the room. Under gevent the
    job must wait for the request to yield: it used to run its first page of mails while the
    room's push waited (threading.Thread.start() switches to the new greenlet)."""
    before, after, settled = _under_gevent(tmp_path, registrants=0, starts_in="days=1", fields=3, body="""
        from portal.mail import jobs

        ran = []
        def request():  # the go-live request: queues the job, then goes on without yielding
            jobs.start(app, lambda: ran.append("job"), "live-now")
            seen = list(ran)
            ran.append("push")
            return seen

        caller = gevent.spawn(request)
        caller.join(timeout=30)
        settled = jobs.settle(app, timeout=30)
        print("RESULT", len(caller.value), ",".join(ran), settled)
    """)
    assert before == "0"  # nothing of the job ran before start() returned to the request
    assert after == "push,job" and settled == "True"  # it ran once the request let it, and settle saw it end


def test_under_gevent_a_sender_pass_lets_the_worker_serve_between_mails(tmp_path):
    """With no SMTP round trip to wait on (mails kept), a pass over queued mails must not hold
    the gevent worker: its sockets and the attendance keeper run between two mails (a pass
    over 10,000 confirmations once stalled 10,000 sockets for over a minute)."""
    handled, ticks = _under_gevent(tmp_path, registrants=20, starts_in="days=5", fields=2, body="""
        from portal.mail import sender

        ticks = []
        def other_greenlet():  # a socket or the keeper: runs whenever the worker lets it
            while True:
                ticks.append(1)
                gevent.sleep(0)

        def one_pass():
            with app.app_context():
                before = len(ticks)
                handled = sender.run_once(app, limit=20)
                return handled, len(ticks) - before

        ticker = gevent.spawn(other_greenlet)
        gevent.sleep(0)
        job = gevent.spawn(one_pass)
        job.join(timeout=60)
        ticker.kill()
        print("RESULT", *job.value)
    """)
    assert int(handled) == 20  # the 20 confirmations (reminders are not due yet)
    assert int(ticks) >= 20  # the other greenlet ran between the mails, not only after the pass
