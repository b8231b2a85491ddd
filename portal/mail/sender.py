"""The sender: delivers due ledger rows over SMTP, or keeps them when no SMTP is configured.

Claiming: a batch of due rows (`queued`, `next_attempt_at` <= now, or `sending` whose lease
expired) is selected `FOR UPDATE SKIP LOCKED` (PostgreSQL: several processes claim disjoint
rows; SQLite ignores it and serialises writers) and flipped to `sending` with this pass's
claim token and a lease, re-checking the status in the UPDATE, then committed. Only rows
carrying our token are delivered, and each result is written back only where the token is
still ours — so no row is delivered by two senders, and a restart (new process, new token)
sends nothing that was marked sent. A process that dies between the server's "250" and the
commit leaves a `sending` row whose lease expires: that one message can go out again (the
only at-least-once window; its Message-ID is stable so clients can tell).

Answers: 2xx → sent; 4xx, connection refused/dropped, timeouts → queued again with
exponential back-off and jitter (failed after MAX_ATTEMPTS); 5xx or a refused address →
failed; a reminder to an unsubscribed registration, or a row its kind's still_wanted hook
(kinds.register_still_wanted) declines → skipped. The server's answer is kept in
`last_answer`. With no PORTAL_SMTP_URL every message is rendered and kept (status `kept`)
for /admin/mail.

Where it runs is `app.config["MAIL_SENDER"]` (`PORTAL_MAIL_SENDER`): `embedded` (the default)
runs one background thread per app and web process (a greenlet under gevent), started on the
first request, stopped by portal.shutdown(app); `external` runs none in the web processes and
leaves the ledger to `flask --app wsgi portal mailer` processes (`Sender.run_forever`; any number
on PostgreSQL, claims do not overlap). Test apps run the thread only with MAIL_SENDER_THREAD set;
tests call `run_once(app)`.
"""
from __future__ import annotations

import atexit
import logging
import os
import random
import secrets
import signal
import smtplib
import ssl
import threading
import time
from datetime import timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload

from portal.config import choice
from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import compose, kinds
from portal.mail.models import FAILED, KEPT, QUEUED, SENDING, SENT, SKIPPED, MailMessage
from portal.registration.models import Registration

log = logging.getLogger(__name__)

EXTENSION = "portal.mail.sender"
EMBEDDED, EXTERNAL = "embedded", "external"
BATCH = 50  # rows claimed per pass
LEASE = timedelta(minutes=5)  # a claim outlives a hung SMTP conversation (timeouts are shorter)
SMTP_TIMEOUT = 10.0  # seconds per SMTP operation
MAX_ATTEMPTS = 12  # ~ a day of back-off, then failed
BACKOFF_BASE = 30.0  # seconds after the first failure
BACKOFF_CAP = 3 * 3600.0
IDLE = 1.0  # seconds between passes that found nothing
IDLE_CHECK = 5.0  # a conversation unused this long is checked (NOOP) before the next message
_PASS_ROWS = "portal.mail.sender.pass_rows"
KEPT_ANSWER = "kept: no PORTAL_SMTP_URL, nothing was sent (read it at /admin/mail)"


def backoff(attempts: int) -> timedelta:
    """Exponential with full jitter around it (0.5x..1.5x), capped."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=base * random.uniform(0.5, 1.5))


class Transient(Exception):
    """Try again later (4xx, connection trouble)."""


class Permanent(Exception):
    """Do not try again (5xx, refused address)."""


def _answer(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()[:1000]


class Connection:
    """One SMTP conversation for a batch; reconnects when the server dropped us."""

    def __init__(self, settings: dict[str, Any], timeout: float) -> None:
        self.settings, self.timeout = settings, timeout
        self.smtp: smtplib.SMTP | None = None
        self.used_at = 0.0

    def open(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        s = self.settings
        try:
            if s["security"] == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s["host"], s["port"], timeout=self.timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s["host"], s["port"], timeout=self.timeout)
            smtp.ehlo()
            if s["security"] == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s["username"]:
                smtp.login(s["username"], s["password"])
        except smtplib.SMTPAuthenticationError as error:
            raise Transient(f"login refused: {_answer(error.smtp_code, error.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise Transient(f"cannot reach {s['host']}:{s['port']}: {error!r}") from None
        self.smtp = smtp
        return smtp

    def send(self, sender: str, recipient: str, data: bytes) -> str:
        reused = self.smtp is not None and time.monotonic() - self.used_at > IDLE_CHECK
        smtp = self.open()
        self.used_at = time.monotonic()
        if reused:
            try:
                smtp.noop()  # the server may have closed an idle conversation: open a new one
            except (smtplib.SMTPException, OSError):
                self.close()
                smtp = self.open()
        try:
            code, text = smtp.mail(sender)
            if code >= 300:
                self._reset()
                raise self._classify(code, text, "MAIL FROM")
            code, text = smtp.rcpt(recipient)
            if code >= 300:
                self._reset()
                raise self._classify(code, text, "RCPT TO")
            code, text = smtp.data(data)
            if code >= 300:
                self._reset()
                raise self._classify(code, text, "DATA")
            return _answer(code, text)
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as error:
            self.close()
            if isinstance(error, smtplib.SMTPResponseException):
                raise self._classify(error.smtp_code, error.smtp_error, "SMTP") from None
            raise Transient(f"connection lost: {error!r}") from None

    @staticmethod
    def _classify(code: int, text: bytes | str, step: str) -> Exception:
        answer = f"{step}: {_answer(code, text)}"
        return Permanent(answer) if 500 <= code < 600 else Transient(answer)

    def _reset(self) -> None:
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            try:
                smtp.close()
            except OSError:
                pass


def claim(limit: int = BATCH) -> tuple[str, list[MailMessage]]:
    """Claim up to `limit` due rows for this pass in one short transaction; (token, the rows
    claimed, loaded with their registrations and webinars for the pass)."""
    now = utcnow()
    token = secrets.token_hex(16)
    due = or_(
        (MailMessage.status == QUEUED) & (MailMessage.next_attempt_at <= now),
        (MailMessage.status == SENDING) & (MailMessage.claimed_until < now),
    )
    ids = list(db.session.scalars(
        select(MailMessage.message_id).where(due).order_by(MailMessage.next_attempt_at, MailMessage.message_id)
        .limit(limit).with_for_update(skip_locked=True)))
    if ids:
        db.session.execute(
            update(MailMessage).where(MailMessage.message_id.in_(ids), due)
            .values(status=SENDING, claim_token=token, claimed_until=now + LEASE)
            .execution_options(synchronize_session=False))
    db.session.commit()
    if not ids:
        return token, []
    rows = list(db.session.scalars(select(MailMessage).where(MailMessage.claim_token == token)
                                   .order_by(MailMessage.message_id)))
    if rows:  # one query for the pass instead of one per message (render and still_wanted read them)
        loaded = list(db.session.scalars(
            select(Registration).where(Registration.registration_id.in_({r.registration_id for r in rows}))
            .options(joinedload(Registration.webinar), joinedload(Registration.slot), joinedload(Registration.lead))))
        # Held for the pass: the identity map keeps objects only while someone does, and once
        # collected each message loaded them again, one query at a time (issue 14).
        db.session.info[_PASS_ROWS] = loaded
    db.session.commit()  # no transaction held while rendering and talking SMTP
    return token, rows


def _finish(message_id: int, token: str, **values: Any) -> None:
    """Write a result (and the log copy) in one statement, only where the claim is still ours."""
    db.session.execute(
        update(MailMessage).where(MailMessage.message_id == message_id, MailMessage.claim_token == token,
                                  MailMessage.status == SENDING)
        .values(claim_token=None, claimed_until=None, **values).execution_options(synchronize_session=False))
    db.session.commit()


def _release(token: str) -> None:
    """Give back this pass's rows still claimed (queued again, as they were)."""
    db.session.execute(
        update(MailMessage).where(MailMessage.claim_token == token, MailMessage.status == SENDING)
        .values(status=QUEUED, claim_token=None, claimed_until=None).execution_options(synchronize_session=False))
    db.session.commit()


def connection_for(app: Flask) -> Connection | None:
    """An SMTP conversation for `app` (opened on first use), None when no SMTP is configured."""
    settings = app.config.get("SMTP")
    return Connection(settings, float(app.config.get("MAIL_SMTP_TIMEOUT") or SMTP_TIMEOUT)) if settings else None


def run_once(app: Flask, *, limit: int = BATCH, connection: Connection | None = None,
             stop: threading.Event | None = None) -> int:
    """One pass: claim due rows, render, deliver (or keep). Returns the rows handled.
    `connection`: an open conversation to reuse across passes (the thread's, kept while busy);
    without one, a conversation for this pass only. `stop` set (shutdown): the rows not yet
    handled are given back (queued, not waiting for their lease) and the pass ends."""
    session = db.session()
    expire = session.expire_on_commit
    session.expire_on_commit = False  # the pass's rows stay loaded across its per-message commits
    own = connection is None
    try:
        token, rows = claim(limit)
        if not rows:
            return 0
        if own:
            connection = connection_for(app)
        for done, row in enumerate(rows):
            if stop is not None and stop.is_set():
                _release(token)
                return done
            _deliver(row, token, connection)
            # Under gevent this thread is a greenlet in the web worker: with nothing to wait
            # for (mail kept, no SMTP round trip) a pass over 10,000 queued mails would hold
            # the worker's sockets and lease keeper for minutes. Let them run between mails.
            time.sleep(0)
        return len(rows)
    finally:
        session.expire_on_commit = expire
        session.info.pop(_PASS_ROWS, None)
        if own and connection is not None:
            connection.close()


def _deliver(row: MailMessage, token: str, connection: Connection | None) -> None:
    """Render, send, then write the status with the log copy in one commit (the message is
    rendered again on a retry: the ledger keeps no join token in the clear, portal.mail.sealed)."""
    message_id, attempts = row.message_id, row.attempts + 1
    try:
        reason = _skip_reason(row)
        if reason:
            _finish(message_id, token, status=SKIPPED, attempts=attempts, last_answer=f"not sent: {reason}")
            return
        rendered = compose.render(row)
        # Without SMTP the message itself is never built: only its log copy is kept.
        logged = {"raw": rendered.logged.as_string(), "subject": str(rendered.logged["Subject"])}
        data = rendered.message.as_bytes() if connection is not None else b""
    except compose.Refused as error:
        db.session.rollback()
        _finish(message_id, token, status=FAILED, attempts=attempts, last_answer=f"refused: {error}")
        log.warning("mail %s refused: %s", message_id, error)
        return
    except Exception as error:  # a template error must not stop the other rows
        db.session.rollback()
        log.exception("mail %s: rendering failed", message_id)
        _finish(message_id, token, status=FAILED, attempts=attempts, last_answer=f"rendering failed: {error!r}")
        return
    if connection is None:
        _finish(message_id, token, status=KEPT, attempts=attempts, last_answer=KEPT_ANSWER, **logged)
        return
    recipient = row.recipient
    db.session.commit()  # no transaction held while talking SMTP
    try:
        answer = connection.send(compose.sender_address().addr_spec, recipient, data)
    except Permanent as error:
        _finish(message_id, token, status=FAILED, attempts=attempts, last_answer=str(error), **logged)
        log.warning("mail %s to %s failed: %s", message_id, recipient, error)
        return
    except Transient as error:
        if attempts >= MAX_ATTEMPTS:
            _finish(message_id, token, status=FAILED, attempts=attempts,
                    last_answer=f"gave up after {attempts} attempts: {error}", **logged)
        else:
            _finish(message_id, token, status=QUEUED, attempts=attempts, last_answer=str(error),
                    next_attempt_at=utcnow() + backoff(attempts), **logged)
        log.warning("mail %s to %s: will retry (%s)", message_id, recipient, error)
        return
    _finish(message_id, token, status=SENT, attempts=attempts, last_answer=answer, sent_at=utcnow(), **logged)
    log.info("mail %s (%s) sent to %s: %s", message_id, row.kind, recipient, answer)


def _skip_reason(row: MailMessage) -> str | None:
    """Why a claimed row is no longer wanted (a reminder to an unsubscribed registration, or
    what the kind's still_wanted hook says), or None."""
    reg = db.session.get(Registration, row.registration_id)
    if reg is None:
        return "the registration no longer exists"
    if kinds.get(row.kind).reminder and getattr(reg, "reminders_unsubscribed_at", None) is not None:
        return "unsubscribed"
    return kinds.skip_reason(current_app._get_current_object(), row, reg)  # type: ignore[attr-defined]


def mode(app: Flask) -> str:
    """`embedded` or `external` (PORTAL_MAIL_SENDER); anything else stops the start."""
    return choice(app.config, "MAIL_SENDER", (EMBEDDED, EXTERNAL), f"use {EMBEDDED!r} (web processes send the "
                  f"mail, the default) or {EXTERNAL!r} (run `flask --app wsgi portal mailer`)")


class Sender:
    """This app's sender in this process: a background thread of a web process (embedded), or
    the foreground of `flask portal mailer` (run_forever)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._atexit = False

    @property
    def enabled(self) -> bool:
        """Does this app send mail from its web processes?"""
        if mode(self.app) != EMBEDDED:
            return False
        return not self.app.testing or bool(self.app.config.get("MAIL_SENDER_THREAD"))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    def ensure_started(self) -> None:
        if self.running or not self.enabled:
            return
        with self._lock:
            if self.running:
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
            self._thread.start()
            if not self._atexit:
                atexit.register(self.stop)
                self._atexit = True
        log.info("mail sender started in process %s (%s)", self._pid,
                 "SMTP " + self.app.config["SMTP"]["host"] if self.app.config.get("SMTP") else "kept: no SMTP")

    def wake(self) -> None:
        self._wake.set()

    def run_forever(self) -> None:
        """`flask portal mailer`: send in this thread until Ctrl-C or SIGTERM. The message being
        sent is finished and written first (an SMTP step is bounded by its timeout), the rest of
        the claimed batch is given back, so a restart neither loses nor repeats a mail."""
        self._pid = os.getpid()
        self._stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_args: self._stop_now())
        self._run()

    def _stop_now(self) -> None:
        self._stop.set()
        self._wake.set()

    def _run(self) -> None:
        stop = self._stop
        interval = float(self.app.config.get("MAIL_SENDER_INTERVAL") or IDLE)
        connection = connection_for(self.app)  # kept open while there is mail, closed when idle
        with self.app.app_context():
            while not stop.is_set():
                handled = 0
                try:
                    handled = run_once(self.app, connection=connection, stop=stop)
                except Exception:
                    log.exception("mail sender pass failed; will retry")
                    db.session.rollback()
                finally:
                    db.session.remove()
                if not handled:
                    if connection is not None:
                        connection.close()
                    self._wake.wait(interval)
                    self._wake.clear()
            if connection is not None:
                connection.close()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop the thread and wait for it: it ends its pass (an SMTP conversation ends within
        its timeout) and removes its session, so it holds no database connection after this
        returns True (the engine may then be disposed)."""
        thread = self._thread
        if thread is None or self._pid != os.getpid():
            return True
        self._stop.set()
        self._wake.set()
        if timeout is None:  # one SMTP step's timeout and a bit: the longest a pass waits
            timeout = float(self.app.config.get("MAIL_SMTP_TIMEOUT") or SMTP_TIMEOUT) + 5.0
        thread.join(timeout)
        if thread.is_alive():
            log.warning("mail sender still running %.0f s after stop", timeout)
            return False
        self._thread = None
        return True


def current(app: Flask) -> Sender:
    return app.extensions[EXTENSION]


def init_app(app: Flask) -> None:
    sender = app.extensions[EXTENSION] = Sender(app)
    if mode(app) == EMBEDDED:  # a wrong PORTAL_MAIL_SENDER stops the start here
        app.before_request(sender.ensure_started)


def shutdown(app: Flask) -> None:
    sender = app.extensions.get(EXTENSION)
    if sender is not None:
        sender.stop()

