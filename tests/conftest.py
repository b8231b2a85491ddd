"""Shared fixtures: a real database per test run (SQLite file, or PostgreSQL when
PORTAL_TEST_DATABASE_URL is set), the app, clients, factories and a live server.

PostgreSQL-only and Redis tests use the server named by PORTAL_TEST_DATABASE_URL /
PORTAL_TEST_REDIS_URL, else the local default port when a server answers there, else skip
naming the missing server."""
from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from portal import create_app, shutdown
from portal.extensions import db
from tests import factories

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _postgres_answers(url: str) -> bool:
    """A real login and query, not only an open port (trust auth, the `test` database)."""
    import psycopg

    if not _port_open("127.0.0.1", 5432):
        return False
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _redis_answers(url: str) -> bool:
    import redis

    if not _port_open("127.0.0.1", 6379):
        return False
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


# The whole suite runs on PostgreSQL only when asked (.ci/run's second pass); otherwise on SQLite.
PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
# PostgreSQL-only tests (marked `postgres`) run whenever a server is there.
POSTGRES_URL = PG_URL or (DEFAULT_POSTGRES_URL if _postgres_answers(DEFAULT_POSTGRES_URL) else "")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "") or (
    DEFAULT_REDIS_URL if _redis_answers(DEFAULT_REDIS_URL) else "")
NO_POSTGRES = ("PostgreSQL is missing: PORTAL_TEST_DATABASE_URL is not set and no server answers "
               "on 127.0.0.1:5432 (user postgres, database test)")
NO_REDIS = "Redis is missing: PORTAL_TEST_REDIS_URL is not set and no server answers on 127.0.0.1:6379"


def _pg_admin_url(url: str) -> str:
    from portal.config import normalise_database_url

    return normalise_database_url(url)


@contextmanager
def scratch_postgres_database(server_url: str, prefix: str) -> Iterator[str]:
    """Create an empty PostgreSQL database on that server, yield its URL, drop it after."""
    admin_url = _pg_admin_url(server_url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server for `postgres`-marked tests (they skip, naming it, when there is none)."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server for Redis tests (they skip, naming it, when there is none)."""
    if not REDIS_URL:
        pytest.skip(NO_REDIS)
    return REDIS_URL


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One fresh database for this test run, so parallel runs never share state."""
    if not PG_URL:
        path = tmp_path_factory.mktemp("db") / "portal-test.sqlite3"
        yield f"sqlite:///{path}"
        return
    with scratch_postgres_database(PG_URL, "portal_test") as url:
        yield url


@pytest.fixture(scope="session")
def _schema(database_url: str) -> str:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return database_url


def _wipe() -> None:
    """Empty every table (children first) so each test starts from nothing."""
    db.session.remove()
    for attempt in range(5):
        try:
            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                    conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                else:
                    for table in reversed(db.metadata.sorted_tables):
                        conn.execute(table.delete())
            return
        except OperationalError as error:
            # A write still finishing in a process a previous test started (a gunicorn worker
            # it stopped, a background loop winding down) can meet TRUNCATE's table locks in a
            # deadlock; PostgreSQL aborts TRUNCATE, which is safe to run again once it is done.
            if "deadlock" not in str(error.orig).lower() or attempt == 4:
                raise
            time.sleep(0.5)


# Browser tests cut media downloads short (a page closing mid-video, a seek). Werkzeug's test
# server then meets the reset while draining the request, before it closes the response, and
# the streamed file is closed by the collector ("Exception ignored in: <_io.FileIO …>"), in
# whichever browser test runs then. That is the test server, not the app (gunicorn closes it).
BROWSER_MEDIA_CUT = "ignore:Exception ignored in. <_io.FileIO:pytest.PytestUnraisableExceptionWarning"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # `make test TEST_WORKERS=4` (pytest-xdist, --dist loadgroup): each file is one unit of
    # work, and the browser tests are one unit, run one after another in one process. Browser
    # journeys wait on pushes, polls and playback with real timeouts: run side by side they
    # starved each other's servers on 2 cores (a console missed a question it was pushed).
    for item in items:
        browser = item.get_closest_marker("e2e") is not None
        if browser:
            item.add_marker(pytest.mark.filterwarnings(BROWSER_MEDIA_CUT))
        item.add_marker(pytest.mark.xdist_group("browser" if browser else item.nodeid.split("::")[0]))


@pytest.fixture
def app_config(_schema: str) -> dict:
    """Overrides for create_app(); tests may update it before `app` is first used."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": _schema,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": True,
        "REDIS_URL": "",
        "SERVER_NAME": None,
        "CHAT_PUSH_INTERVAL": 0,  # a frame per chat message; tests/room/test_chat_batching.py batches
    }


def _sockets_finished(app: Flask, timeout: float = 10.0) -> None:
    """Wait until the server has finished with the test's sockets (their presence written,
    their sessions returned): a socket thread still running would hold locks and connections
    into the next test (a TRUNCATE deadlock, a connection collected while open)."""
    realtime = app.extensions.get("portal.realtime")
    hub = realtime._hub if realtime is not None else None
    deadline = time.monotonic() + timeout
    while hub is not None and hub.open_sockets and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def app(app_config: dict) -> Iterator[Flask]:
    app = create_app(app_config)
    with app.app_context():
        _wipe()
        yield app
        _sockets_finished(app)
        shutdown(app)
        db.session.remove()
        db.engine.dispose()


class FreshGClient(FlaskClient):
    """Each request starts with an empty `g`, as in production.

    The `app` fixture keeps one app context pushed for the whole test (so tests can use
    db.session), and Flask reuses it for test requests; without this, per-request caches in
    `g` (the CSRF token, Flask-Login's user) would leak from one request into the next.
    """

    def open(self, *args, **kwargs):
        from flask import g

        for name in list(g):
            g.pop(name)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = FreshGClient
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def make(app):
    """Factories: make.user(...), make.webinar(...), make.registration(...)."""
    return factories


def csrf_token_from(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


class Auth:
    """Log in through the real form, CSRF token included."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = factories.PASSWORD):
        token = csrf_token_from(self.client.get("/login").get_data(as_text=True))
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def csrf(self, path: str = "/") -> str:
        return csrf_token_from(self.client.get(path).get_data(as_text=True))


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


class LiveServer:
    def __init__(self, app: Flask) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app served over real sockets (HTTP and websockets) on a free loopback port."""
    with LiveServer(app) as server:
        yield server


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never `playwright install`)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: `make system-deps` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


SCREENSHOTS = Path(__file__).parent / "e2e" / "screenshots"


@pytest.fixture
def screenshot():
    """screenshot(page, name): save a PNG under tests/e2e/screenshots/ to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
