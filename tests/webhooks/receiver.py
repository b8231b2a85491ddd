"""A real HTTP receiver for webhook tests: http.server on a free port in a thread.

Each request takes the next scripted answer (default 200 "ok"): a status with headers, a
sleep before answering (slow), or a broken answer (headers promising more body than is sent,
then the connection closed). Every request is recorded (path, headers, body)."""
from __future__ import annotations

import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0
    broken: bool = False  # promise 1000 bytes, send 5, close
    hold: threading.Event | None = None  # answer only once set


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.script: deque[Answer] = deque()
        self.received: list[Received] = []
        self.arrived = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def answer(self, *answers: Answer) -> Receiver:
        self.script.extend(answers)
        return self

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                outer.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                outer.arrived.set()
                answer = outer.script.popleft() if outer.script else Answer()
                if answer.hold is not None:
                    answer.hold.wait(30)
                if answer.sleep:
                    time.sleep(answer.sleep)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    if answer.broken:
                        self.send_header("content-length", "1000")
                        self.end_headers()
                        self.wfile.write(b"parti")
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    self.send_header("content-length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
