"""Webinar portal: application factory."""
from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable
from types import FunctionType
from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import (
    admin,
    api,
    attendance,
    audit,
    auth,
    autowebinar,
    cli,
    console,
    core,
    errors,
    health,
    htmx,
    i18n,
    mail,
    media,
    models,  # noqa: F401 - every table, for the metadata and Alembic
    polls,
    public,
    qa,
    ratelimit,
    reactions,
    realtime,
    registration,
    replay,
    room,
    security,
    signals,
    sqlite_gate,
    templating,
    webhooks,
)
from portal import config as portal_config
from portal.autowebinar import state as autowebinar_state
from portal.console import push as console_push
from portal.extensions import csrf, db, login_manager, migrate, sock
from portal.qa import push as qa_push
from portal.realtime import runtime as realtime_runtime
from portal.room import push as room_push

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Portal(Flask):
    """Flask, with `ensure_sync` (Flask's documented override point) remembering for each plain
    function whether it is a coroutine function: Flask asks for every hook and view of every
    request (about ten `inspect.iscoroutinefunction` calls per request, issue 14's 304 path),
    and the answer never changes. Other callables (bound methods are new objects per call) are
    asked each time. Weak keys: a function made per request (an `after_this_request` closure)
    is not kept alive."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._is_async: WeakKeyDictionary[FunctionType, bool] = WeakKeyDictionary()

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if type(func) is not FunctionType:
            return super().ensure_sync(func)
        is_async = self._is_async.get(func)
        if is_async is None:
            is_async = self._is_async[func] = inspect.iscoroutinefunction(func)
        return super().ensure_sync(func) if is_async else func


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers, CLI."""
    app = Portal(
        __name__,
        instance_path=os.path.join(ROOT, "instance"),
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    app.config.update(portal_config.defaults(app.instance_path))
    portal_config.from_environment(app.config)
    app.config.update(overrides or {})
    portal_config.finalise(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    _trust_proxies(app)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    _init_extensions(app)
    # Every domain, lowest layer first (STYLE.md): each registers its blueprints, connects its
    # receivers (portal/signals.py), registers its socket frames and keeps its per-app state
    # in app.extensions. Nothing is wired at import time.
    for domain in (core, audit, registration, attendance, mail, media, room, qa, polls, reactions, health, autowebinar,
                   replay, console, admin, auth, public, webhooks, api):
        domain.init_app(app)
    errors.register_error_handlers(app)
    security.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    cli.init_app(app)
    return app


def shutdown(app: Flask) -> None:
    """Stop what an app runs in the background: go-live batches and the lease keeper, pending
    pushes, the heartbeat flusher (after a last flush), the realtime hub, the webhook
    dispatcher, the mail sender."""
    attendance.shutdown(app)
    room_push.shutdown(app)
    console_push.shutdown(app)
    qa_push.shutdown(app)
    polls.shutdown(app)
    reactions.shutdown(app)
    health.shutdown(app)
    autowebinar_state.current(app).stop()
    realtime_runtime.shutdown(app)
    webhooks.shutdown(app)
    mail.shutdown(app)


def _trust_proxies(app: Flask) -> None:
    """Behind PORTAL_TRUSTED_PROXIES proxies, the client address and scheme are theirs to tell
    (rate limits, secure cookies, HSTS). The Host header is not taken from X-Forwarded-Host:
    the proxy passes Host itself (docs/DEPLOY.md), so a client cannot choose it."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    sock.init_app(app)
    htmx.init_app(app)
    ratelimit.init_app(app)
    signals.init_app(app)
    realtime.init_app(app)


#: SQLite's `synchronous` in WAL mode. FULL: every COMMIT is fsynced, so a registration the
#: visitor saw confirmed survives a power cut or a kernel crash (NORMAL may lose the last
#: commits then, though never corrupts). It costs 15-45 % of the registration burst on the dev VM
#: (docs/PERFORMANCE.md, issue 9); bench/sqlite_synchronous.py compares the two.
SQLITE_SYNCHRONOUS = "FULL"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    """WAL, a busy timeout, enforced foreign keys and durable commits for the embedded SQLite
    database."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={sqlite_gate.BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={'NORMAL' if SQLITE_SYNCHRONOUS == 'NORMAL' else 'FULL'}")
        cursor.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_begin_before_savepoint(conn, name) -> None:  # noqa: ANN001
    """Python's sqlite3 opens a transaction only before a data-changing statement, so a
    SAVEPOINT issued first would open one of its own, and its RELEASE would COMMIT everything
    (an outer rollback then undoes nothing). A BEGIN first keeps the savepoint nested."""
    if conn.dialect.name == "sqlite":
        dbapi_connection = conn.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN")
