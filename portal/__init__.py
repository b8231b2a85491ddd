"""Webinar portal: application factory."""
from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from portal import config as portal_config
from portal.extensions import babel, csrf, db, htmx, login_manager, migrate, sock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers, CLI."""
    app = Flask(
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
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    _init_extensions(app)
    _register_blueprints(app)

    from portal import cli, errors, i18n, security, templating

    errors.register_error_handlers(app)
    security.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    cli.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    from portal import models  # noqa: F401 - registers every table
    from portal.core import events, guard
    from portal import ratelimit

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    sock.init_app(app)
    htmx.init_app(app)
    ratelimit.init_app(app)
    guard.install()
    events.install()


def _register_blueprints(app: Flask) -> None:
    from portal.admin.views import bp as admin_bp
    from portal.auth.views import bp as auth_bp
    from portal.autowebinar.views import bp as autowebinar_bp
    from portal.console.views import bp as console_bp
    from portal.public.views import bp as public_bp
    from portal.realtime.views import bp as realtime_bp
    from portal.registration.views import bp as registration_bp
    from portal.room.views import bp as room_bp

    for blueprint in (public_bp, auth_bp, registration_bp, room_bp, console_bp, admin_bp,
                      realtime_bp, autowebinar_bp):
        app.register_blueprint(blueprint)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    """WAL, a busy timeout and enforced foreign keys for the embedded SQLite database."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
