"""A real SMTP server (aiosmtpd) per test, on a free port, whose answers the test chooses."""
from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol  # noqa: N811

from portal.extensions import db
from tests.admin.conftest import as_user, staff  # noqa: F401 - fixtures
from tests.registration.conftest import Visitor, _request_scoped_g  # noqa: F401 - the autouse fixture


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sink:
    """What the server received, and how it answers next: `answers` is consumed one per DATA
    ("250" default), `rcpt_answer` refuses recipients, `drop_next` closes mid-message."""

    received: list[EmailMessage] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    rcpt_answer: str | None = None
    drop_next: int = 0
    data_attempts: int = 0

    def by_subject(self, text: str) -> list[EmailMessage]:
        return [m for m in self.received if text in str(m["Subject"])]


class Handler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if self.sink.rcpt_answer:
            return self.sink.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.sink.data_attempts += 1
        if self.sink.drop_next:
            self.sink.drop_next -= 1
            server.transport.close()  # the connection drops before the answer to DATA
            return "421 dropped"
        answer = self.sink.answers.pop(0) if self.sink.answers else "250 OK queued"
        if answer.startswith("2"):
            self.sink.received.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return answer


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.sink = Sink()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(Handler(self.sink), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_app_config(app_config: dict, smtp_server: SmtpServer) -> dict:
    app_config["SMTP_URL"] = smtp_server.url
    app_config["MAIL_SMTP_TIMEOUT"] = 5
    return app_config


@pytest.fixture
def visitor(app) -> Visitor:  # noqa: ANN001
    return Visitor(app.test_client())


@pytest.fixture
def deliver(app) -> Callable[[], int]:  # noqa: ANN001
    """Run the sender until nothing due is left; how many rows it handled."""
    from portal.mail import sender

    def run() -> int:
        total = 0
        while handled := sender.run_once(app):
            total += handled
        db.session.expire_all()
        return total

    return run


__all__ = ["SMTPProtocol"]


@pytest.fixture
def browser_factory(app) -> Callable[[], Visitor]:  # noqa: ANN001
    return lambda: Visitor(app.test_client())
