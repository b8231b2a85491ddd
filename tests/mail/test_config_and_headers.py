"""PORTAL_SMTP_URL / PORTAL_MAIL_FROM checked at start; addresses and header values that would
inject headers are refused or folded; a server that never answers times out and is retried."""
from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import select

from portal import create_app
from portal.config import ConfigError, parse_smtp_url
from portal.extensions import db
from portal.mail import compose
from portal.mail.models import FAILED, QUEUED, MailMessage


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", ("plain", "mail.example.com", 25, "", "")),
    ("smtp+starttls://u%40x:p%3Ass@mail.example.com:2587", ("starttls", "mail.example.com", 2587, "u@x", "p:ss")),
    ("smtps://user:pw@mail.example.com", ("ssl", "mail.example.com", 465, "user", "pw")),
])
def test_smtp_urls(url, expected):  # noqa: ANN001
    s = parse_smtp_url(url)
    assert (s["security"], s["host"], s["port"], s["username"], s["password"]) == expected


@pytest.mark.parametrize(("url", "says"), [
    ("http://mail.example.com", "scheme"),
    ("smtp://", "no host"),
    ("smtp://mail.example.com:99999", "not a valid URL"),
    ("smtp://mail.example.com/path", "no path"),
])
def test_bad_smtp_urls_stop_the_start_with_a_clear_message(app_config, url, says):  # noqa: ANN001
    with pytest.raises(ConfigError, match=says):
        create_app({**app_config, "SMTP_URL": url})


@pytest.mark.parametrize("value", ["not an address", "Webinars <noreply@localhost>\r\nBcc: x@example.com"])
def test_bad_mail_from_stops_the_start(app_config, value):  # noqa: ANN001
    with pytest.raises(ConfigError, match="PORTAL_MAIL_FROM"):
        create_app({**app_config, "MAIL_FROM": value})


@pytest.mark.parametrize("addr", ["a@b.example\r\nBcc: c@example.com", "a b@example.com", "<a@example.com>", "a@",
                                  "a@b@c.example"])
def test_addresses_that_could_inject_are_refused(addr):  # noqa: ANN001
    with pytest.raises(compose.Refused):
        compose.address("Ann", addr)


def test_names_and_subjects_are_folded_to_one_line():
    assert compose.one_line("Ann\r\nBcc: x@example.com\u2028y") == "Ann Bcc: x@example.com y"
    assert str(compose.address("Ann\r\nBcc: x@example.com", "ann@example.com")).count("\n") == 0


def test_a_refused_address_fails_visibly_and_is_never_retried(app, make, deliver):
    from portal import mail
    from portal.registration import service

    webinar = make.webinar(status="scheduled")
    reg = service.register(webinar, name="Ann", email="ann@example.com").registration
    reg.lead.email = "ann@example.com\nBcc: x@example.com"  # as if stored by an older version
    mail.queue(reg, "link_recovery", occurrence="x", context={"join_token": "t" * 32})
    db.session.commit()
    deliver()
    row = db.session.scalar(select(MailMessage).where(MailMessage.kind == "link_recovery"))
    assert row.status == FAILED and row.last_answer.startswith("refused")


@pytest.fixture
def silent_server():
    """Accepts connections and never says a word (a hung SMTP server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


@pytest.fixture
def app_config(app_config, request):  # noqa: ANN001
    if "silent_server" in request.fixturenames:
        app_config["SMTP_URL"] = f"smtp://127.0.0.1:{request.getfixturevalue('silent_server')}"
        app_config["MAIL_SMTP_TIMEOUT"] = 0.5
    return app_config


def test_a_server_that_never_answers_times_out_and_the_mail_waits(app, make, silent_server, deliver):
    from portal.registration import service

    webinar = make.webinar(status="scheduled")
    service.register(webinar, name="Ann", email="ann@example.com")
    assert deliver() == 1
    row = db.session.scalar(select(MailMessage))
    assert row.status == QUEUED and row.attempts == 1 and "cannot reach" in row.last_answer
