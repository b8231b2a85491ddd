"""Configuration: defaults here, overridden by PORTAL_* environment variables only."""
from __future__ import annotations

import os
import secrets
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

#: The key this portal used to ship with: refused everywhere (a cookie signed with it and an
#: admin's `_user_id` would open the admin pages of any portal still using it).
DEFAULT_SECRET_KEY = "dev-insecure-change-me"
MIN_SECRET_KEY_BYTES = 32
SECRET_KEY_FILE = "secret_key"


class ConfigError(RuntimeError):
    """The configuration cannot run safely."""


def choice(config: Any, key: str, allowed: tuple[str, ...], explain: str) -> str:
    """A setting that names one of `allowed` (the first is the default); anything else stops
    the start with `explain`."""
    value = str(config.get(key) or allowed[0]).strip().lower()
    if value not in allowed:
        raise ConfigError(f"PORTAL_{key}={value!r}: {explain}")
    return value


def defaults(instance_path: str) -> dict[str, Any]:
    db_file = Path(instance_path) / "portal.sqlite3"
    return {
        "ENV": "development",
        # Empty: a random key generated once and kept in SECRET_KEY_FILE (owner-only, 0600).
        "SECRET_KEY": "",
        "SECRET_KEY_FILE": str(Path(instance_path) / SECRET_KEY_FILE),
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,  # seconds a staff session (and remember cookie) lasts
        "TRUSTED_PROXIES": 0,  # proxy hops in front of the portal whose X-Forwarded-For/-Proto count
        "WORKERS": 1,  # gunicorn workers (gunicorn.conf.py); > 1 needs REDIS_URL
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # Database connections each process keeps open; 0 = by backend (config.pool_options).
        "DATABASE_POOL_SIZE": 0,
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
        "LOGIN_RATE_LIMIT": 10,  # attempts per window per client; failures per account: portal/auth/lockout.py
        "LOGIN_RATE_WINDOW": 300,
        "DEMO_PASSWORD": "",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "LOG_LEVEL": "INFO",
        "REGISTRATION_RATE_LIMIT": 30,  # registration POSTs per window per IP
        "REGISTRATION_RATE_WINDOW": 60,
        "ROOM_ATTENDANCE_PUSH_INTERVAL": 1.0,  # seconds between attendee-count pushes per webinar
        # Chat pushes per channel: the first message after a quiet window goes at once, the
        # rest of the window's messages in one frame at its end (0: a frame per message).
        "CHAT_PUSH_INTERVAL": 0.3,
        "ROOM_MAX_SOCKETS_PER_LINK": 3,  # open room sockets per registrant; the oldest beyond is closed
        "AUTOWEBINAR_FLUSH_INTERVAL": 1.0,  # seconds between heartbeat flushes; 0 = no flusher thread
        # Interaction (issue 13): the per-worker tickers of reaction bursts and of the health
        # panel (one push a second at most per webinar; 0 = no thread, tests tick by hand).
        "REACTIONS_TICK_SECONDS": 1.0,
        "HEALTH_TICK_SECONDS": 1.0,
        # Attendance (issue 9): a worker's lease on its open rows (renewed every third; 0 = no
        # keeper), a polling page's silence before it has left, rows per go-live transaction.
        "ATTENDANCE_LEASE_SECONDS": 30.0,
        "ATTENDANCE_HTTP_STALE_SECONDS": 45.0,
        "ATTENDANCE_GO_LIVE_BATCH": 250,
        # Live updates (portal/realtime).
        "REALTIME_PING_SECONDS": 25,  # server pings find dead phones (0: none)
        "REALTIME_MAX_MESSAGE_BYTES": 64 * 1024,  # above: the socket is closed (8 KB is refused politely)
        "REALTIME_QUEUE_FRAMES": 256,  # frames pending on one socket before it is dropped as too slow
        "REALTIME_WRITE_TIMEOUT": 10,  # seconds a socket may refuse to take bytes before it is dropped
        "REALTIME_REDIS_PREFIX": "portal:rt:",
        "REALTIME_FANOUT": "prebuilt",  # "naive" (per-socket ws.send) exists only for bench/fanout.py
        "REALTIME_POLL_SECONDS": 4,  # polling interval of the fallback while the socket is down
        "REALTIME_GC_FREEZE": True,  # keep idle sockets out of full GC passes (gevent servers only)
        # Webhooks (issue 11): in production, receivers on private, loopback or link-local
        # addresses are refused unless this is set; development always allows them.
        "WEBHOOK_ALLOW_PRIVATE": False,
        # Where webhooks are delivered from: "embedded" (each web process runs a dispatcher) or
        # "external" (only `flask --app wsgi portal dispatcher` processes do: busy portals).
        "WEBHOOK_DISPATCHER": "embedded",
        # Mail (issue 10, portal/mail): empty SMTP URL = nothing is sent, every message is kept
        # and readable at /admin/mail. smtp://user:pass@host:port, smtp+starttls://…, smtps://…
        "SMTP_URL": "",
        # Where mail is sent from: "embedded" (each web process runs a sender, the default) or
        # "external" (only `flask --app wsgi portal mailer` processes do: rendering and SMTP then
        # take no CPU from the web workers' sockets and requests; busy portals).
        "MAIL_SENDER": "embedded",
        "MAIL_FROM": "Webinars <noreply@localhost>",
        # Recordings (issue 12/13, portal/media): uploads kept here (empty: instance/recordings),
        # at most this many bytes each (the upload route alone lifts MAX_CONTENT_LENGTH to it).
        "RECORDINGS_DIR": "",
        "RECORDING_MAX_BYTES": 2 * 1024 * 1024 * 1024,
    }


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _coerce(name: str, raw: str, current: Any) -> Any:
    """`raw` as the type of the setting's default; a value that is not one stops the start with
    the variable's name (every numeric setting is a count, a size or a duration: none negative)."""
    if isinstance(current, bool):
        word = raw.strip().lower()
        if word not in _TRUE | _FALSE:
            raise ConfigError(f"{name}={raw!r} is neither on nor off: use 1/true/yes/on or 0/false/no/off.")
        return word in _TRUE
    if isinstance(current, (int, float)):
        kind, number = ("a whole number", int) if isinstance(current, int) else ("a number", float)
        try:
            value = number(raw.strip())
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not {kind}.") from None
        if not 0 <= value < float("inf"):  # also refuses nan
            raise ConfigError(f"{name}={raw!r}: must be {kind} of 0 or more.")
        return value
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
        config[key] = _coerce(name, raw, config.get(key, ""))


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs whatever spelling the operator used."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def secret_key_from_file(path: str | Path) -> str:
    """The key kept in `path`, created there first (random, mode 0600, atomically) if missing.

    Several workers starting at once all end up with the same key: each writes a complete
    private temporary file and links it into place; os.link never overwrites, so the first
    link wins and everyone reads the winner's key.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48) + "\n")
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another worker was first: use its key
        finally:
            temporary.unlink(missing_ok=True)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}); "
                          f"run `chmod 600 {path}` or set PORTAL_SECRET_KEY")
    return path.read_text(encoding="utf-8").strip()


def check_secret_key(key: str, *, testing: bool) -> None:
    """Refuse the old default everywhere, and keys under MIN_SECRET_KEY_BYTES outside tests."""
    if key == DEFAULT_SECRET_KEY:
        raise ConfigError(f"PORTAL_SECRET_KEY is the old public default {DEFAULT_SECRET_KEY!r}; unset it "
                          "(a random key is then kept in instance/) or set a random value of at least "
                          f"{MIN_SECRET_KEY_BYTES} bytes "
                          "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')")
    if not testing and len(key.encode("utf-8")) < MIN_SECRET_KEY_BYTES:
        raise ConfigError(f"PORTAL_SECRET_KEY is too short ({len(key.encode('utf-8'))} bytes); use a random value "
                          f"of at least {MIN_SECRET_KEY_BYTES} bytes, or unset it to have one kept in instance/")


def check_workers(workers: int, redis_url: str) -> None:
    """Several processes need Redis: without it each has its own broker and rate limits."""
    if workers > 1 and not redis_url:
        raise ConfigError(f"PORTAL_WORKERS={workers} needs PORTAL_REDIS_URL: without Redis each worker has "
                          "its own broker and rate limits, so pushes and limits would not reach the other "
                          "workers. Set PORTAL_REDIS_URL=redis://... or PORTAL_WORKERS=1.")


SMTP_SCHEMES = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "ssl"}
SMTP_DEFAULT_PORTS = {"plain": 25, "starttls": 587, "ssl": 465}


def parse_smtp_url(url: str) -> dict[str, Any] | None:
    """PORTAL_SMTP_URL as {"security", "host", "port", "username", "password"}; None when empty.

    smtp://host:port (no TLS), smtp+starttls://user:pass@host:587, smtps://user:pass@host:465;
    user and password are URL-decoded. Raises ConfigError with what is wrong."""
    from urllib.parse import unquote, urlsplit

    url = (url or "").strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ConfigError(f"PORTAL_SMTP_URL is not a valid URL ({error}); expected e.g. "
                          "smtp+starttls://user:password@mail.example.com:587") from None
    security = SMTP_SCHEMES.get(parts.scheme.lower())
    if security is None:
        raise ConfigError(f"PORTAL_SMTP_URL has the scheme {parts.scheme!r}; use one of "
                          f"{', '.join(s + '://' for s in SMTP_SCHEMES)} (e.g. smtp+starttls://user:password@host:587)")
    if not parts.hostname:
        raise ConfigError("PORTAL_SMTP_URL names no host; expected e.g. smtp://mail.example.com:25")
    if (parts.path or "/") != "/" or parts.query or parts.fragment:
        raise ConfigError("PORTAL_SMTP_URL takes no path, query or fragment; expected scheme://user:pass@host:port")
    return {
        "security": security,
        "host": parts.hostname,
        "port": port or SMTP_DEFAULT_PORTS[security],
        "username": unquote(parts.username) if parts.username else "",
        "password": unquote(parts.password) if parts.password else "",
    }


def check_mail_from(value: str) -> None:
    """PORTAL_MAIL_FROM must be one address (`Name <addr@host>` or `addr@host`), no line breaks."""
    from email.headerregistry import Address
    from email.utils import parseaddr

    if "\r" in value or "\n" in value:
        raise ConfigError("PORTAL_MAIL_FROM contains a line break")
    name, addr = parseaddr(value)
    try:
        Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError, TypeError):
        addr = ""
    if not addr or "@" not in addr:
        raise ConfigError(f"PORTAL_MAIL_FROM {value!r} is not an address; expected e.g. "
                          "'Webinars <noreply@example.com>'")


#: Connections a process keeps open when DATABASE_POOL_SIZE is 0: a SQLite connection is an open
#: file; a PostgreSQL one is a server process, and two workers with their bursts must stay
#: under its default max_connections (100).
POOL_SIZE_SQLITE, POOL_SIZE_POSTGRESQL = 50, 20


def pool_options(config: dict[str, Any]) -> dict[str, int]:
    """The engine's pool: DATABASE_POOL_SIZE connections kept open (0: by backend), as many again
    opened during a burst and closed when given back.

    SQLAlchemy's default (5 kept) made a gevent worker open and close a connection on most
    requests of a burst (50 in flight: their transactions wait for one another, each holding its
    connection): on SQLite four PRAGMAs each time, on PostgreSQL a new server process
    (issue 14: about 4 % of the worker's CPU in a registration burst on SQLite)."""
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite") and (":memory:" in uri or uri.rstrip("/") in ("sqlite:", "sqlite:/", "sqlite://")):
        return {}  # one shared in-memory connection (flask-sqlalchemy's StaticPool): no pool to size
    size = int(config.get("DATABASE_POOL_SIZE") or 0)
    if size <= 0:
        size = POOL_SIZE_SQLITE if uri.startswith("sqlite") else POOL_SIZE_POSTGRESQL
    return {"pool_size": size, "max_overflow": size}


def finalise(config: dict[str, Any]) -> None:
    """Derive dependent settings and refuse unsafe setups."""
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    production = config.get("ENV") == "production"
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = secret_key_from_file(config["SECRET_KEY_FILE"])
    check_secret_key(config["SECRET_KEY"], testing=bool(config.get("TESTING")))
    check_workers(int(config.get("WORKERS") or 1), config.get("REDIS_URL") or "")
    config["SMTP"] = parse_smtp_url(config.get("SMTP_URL") or "")
    check_mail_from(config.get("MAIL_FROM") or "")
    # One lifetime for both ways a staff session lives on: the session cookie and remember-me.
    lifetime = config["PERMANENT_SESSION_LIFETIME"]
    if not isinstance(lifetime, timedelta):
        lifetime = timedelta(seconds=int(lifetime))
    config["PERMANENT_SESSION_LIFETIME"] = lifetime
    config["REMEMBER_COOKIE_DURATION"] = lifetime
    if production:
        for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
            config[key] = True
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "connect_args": {"timeout": 15, "check_same_thread": False},
            **pool_options(config),
            **config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
        }
    else:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **pool_options(config),
                                               **config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
