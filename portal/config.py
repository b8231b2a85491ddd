"""Configuration: defaults here, overridden by PORTAL_* environment variables only."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_SECRET_KEY = "dev-insecure-change-me"


class ConfigError(RuntimeError):
    """The configuration cannot run safely."""


def defaults(instance_path: str) -> dict[str, Any]:
    db_file = Path(instance_path) / "portal.sqlite3"
    return {
        "ENV": "development",
        "SECRET_KEY": DEFAULT_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # Redis URL for the broker and rate limits when scaled out; empty = in-process.
        "REDIS_URL": "",
        "BASE_URL": "",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": True,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": ["en", "ru"],
        "LOGIN_RATE_LIMIT": 10,  # attempts per window per IP and per email
        "LOGIN_RATE_WINDOW": 300,
        "DEMO_PASSWORD": "",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "LOG_LEVEL": "INFO",
        "REGISTRATION_RATE_LIMIT": 30,  # registration POSTs per window per IP
        "REGISTRATION_RATE_WINDOW": 60,
        "ROOM_ATTENDANCE_PUSH_INTERVAL": 1.0,  # seconds between attendee-count pushes per webinar
        "AUTOWEBINAR_FLUSH_INTERVAL": 1.0,  # seconds between heartbeat flushes; 0 = no flusher thread
        # Live updates (portal/realtime).
        "REALTIME_PING_SECONDS": 25,  # server pings find dead phones (0: none)
        "REALTIME_MAX_MESSAGE_BYTES": 64 * 1024,  # above: the socket is closed (8 KB is refused politely)
        "REALTIME_QUEUE_FRAMES": 256,  # frames pending on one socket before it is dropped as too slow
        "REALTIME_WRITE_TIMEOUT": 10,  # seconds a socket may refuse to take bytes before it is dropped
        "REALTIME_REDIS_PREFIX": "portal:rt:",
        "REALTIME_FANOUT": "prebuilt",  # "naive" (per-socket ws.send) exists only for bench/fanout.py
        "REALTIME_POLL_SECONDS": 4,  # polling interval of the fallback while the socket is down
        "REALTIME_GC_FREEZE": True,  # keep idle sockets out of full GC passes (gevent servers only)
    }

        "ROOM_MAX_SOCKETS_PER_LINK": 3,  # open room sockets per registrant; the oldest beyond is closed

def _coerce(raw: str, current: Any) -> Any:
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int) and not isinstance(current, bool):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, list):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def from_environment(config: dict[str, Any], environ: os._Environ[str] | dict[str, str] | None = None) -> None:
    """Apply PORTAL_<KEY> variables over the defaults, keeping each default's type."""
    env = os.environ if environ is None else environ
    for name, raw in env.items():
        if not name.startswith("PORTAL_") or name.startswith("PORTAL_TEST_"):
            continue
        key = name.removeprefix("PORTAL_")
        if key == "DATABASE_URL":
            key = "SQLALCHEMY_DATABASE_URI"
        config[key] = _coerce(raw, config.get(key, ""))


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs whatever spelling the operator used."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def finalise(config: dict[str, Any]) -> None:
    """Derive dependent settings and refuse unsafe production setups."""
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    production = config.get("ENV") == "production"
    if production:
        if config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET_KEY):
            raise ConfigError("PORTAL_SECRET_KEY must be set to a random value in production")
        for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
            config[key] = True
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"timeout": 15, "check_same_thread": False},
            **config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        }
    else:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
