"""Login, logout, session hygiene, CSRF and the login rate limit."""
from __future__ import annotations

import pytest

from portal.core import users
from portal.extensions import db
from portal.ratelimit import limiter
from tests.conftest import csrf_token_from
from tests.factories import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    limiter().backend.reset()


def test_login_and_logout(client, auth, make):
    user = make.user(role="organizer", email="olga@example.com")
    response = auth.login("OLGA@example.com ", PASSWORD)
    assert response.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert user.display_name in home
    token = csrf_token_from(home)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert user.display_name not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("email,password", [
    ("olga@example.com", "wrong password"),
    ("nobody@example.com", PASSWORD),
])
def test_wrong_credentials_say_so_without_telling_which(client, auth, make, email, password):
    make.user(email="olga@example.com")
    response = auth.login(email, password)
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_invalid_form_is_422_with_field_messages(client, auth):
    token = auth.csrf("/login")
    response = client.post("/login", data={"email": "not-an-email", "password": "", "csrf_token": token})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in body and "This field is required." in body


def test_disabled_users_and_leads_cannot_log_in(client, auth, make):
    make.user(email="off@example.com", disabled=True)
    assert auth.login("off@example.com").status_code == 401
    lead = make.lead(email="lead@example.com")
    lead.password_hash = make.user().password_hash  # even with a password, leads are not staff
    assert auth.login("lead@example.com").status_code == 401


def test_missing_csrf_is_refused_and_changes_nothing(client, make):
    make.user(email="olga@example.com")
    response = client.post("/login", data={"email": "olga@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "stale" in response.get_data(as_text=True)
    assert "olga" not in client.get("/").get_data(as_text=True).lower()


def test_htmx_request_without_csrf_header_is_refused(client, auth, make):
    make.user(email="olga@example.com")
    auth.login("olga@example.com")
    response = client.post("/logout", headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#flash"
    token = auth.csrf("/")
    assert client.post("/logout", headers={"HX-Request": "true", "X-CSRFToken": token}).status_code == 302


def test_session_is_renewed_at_login(client, auth, make):
    """A session planted before login (fixation) does not survive it."""
    make.user(email="olga@example.com")
    with client.session_transaction() as sess:
        sess["planted"] = "by attacker"
    auth.login("olga@example.com")
    with client.session_transaction() as sess:
        assert "planted" not in sess and sess.get("_user_id")


def test_cookie_flags(client, auth, make):
    make.user(email="olga@example.com")
    response = auth.login("olga@example.com")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookies_in_production(app_config):
    from portal import create_app

    app = create_app({**app_config, "ENV": "production", "SECRET_KEY": "a-real-secret-value"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_login_rate_limit(client, auth, make, app):
    make.user(email="olga@example.com")
    limit = app.config["LOGIN_RATE_LIMIT"]
    for _ in range(limit):
        assert auth.login("olga@example.com", "wrong password").status_code == 401
    blocked = auth.login("olga@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert "Too many login attempts" in blocked.get_data(as_text=True)
    assert int(blocked.headers["Retry-After"]) > 0


@pytest.mark.parametrize("target,expected", [  # refused targets: an organizer's landing page
    ("/admin/webinars", "/admin/webinars"),
    ("https://evil.example/", "/admin/"),
    ("//evil.example/", "/admin/"),
    ("javascript:alert(1)", "/admin/"),
])
def test_next_parameter_only_follows_local_paths(client, make, target, expected):
    make.user(email="olga@example.com")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", query_string={"next": target},
                           data={"email": "olga@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == expected


# --- issue 9: the secret key ---------------------------------------------------------------------

def _without_key(app_config: dict, key_file) -> dict:  # noqa: ANN001
    return {**{k: v for k, v in app_config.items() if k != "SECRET_KEY"}, "SECRET_KEY_FILE": str(key_file)}


def test_a_cookie_signed_with_the_old_default_key_opens_nothing(app_config, tmp_path, make):
    """Today's attack: sign `_user_id` of the admin with `dev-insecure-change-me`."""
    import os

    from flask.sessions import SecureCookieSessionInterface

    from portal import create_app
    from portal.config import DEFAULT_SECRET_KEY

    os.environ.pop("PORTAL_SECRET_KEY", None)
    app = create_app(_without_key(app_config, tmp_path / "secret_key"))
    admin = make.user(role="admin")
    forger = create_app({**app_config, "SECRET_KEY": "x"})
    forger.secret_key = DEFAULT_SECRET_KEY
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    for user_id in (str(admin.user_id), admin.get_id()):
        cookie = serializer.dumps({"_user_id": user_id, "_fresh": True})
        client = app.test_client()
        client.set_cookie("session", cookie)
        response = client.get("/admin/users")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert app.secret_key != DEFAULT_SECRET_KEY


def test_the_secret_key_is_generated_once_private_and_shared_by_every_worker(app_config, tmp_path):
    import stat
    import subprocess
    import sys

    from portal import create_app

    key_file = tmp_path / "instance" / "secret_key"
    # Four processes start at once, as gunicorn workers do: one key, written once, for all.
    code = ("import sys; from portal.config import secret_key_from_file; "
            "print(secret_key_from_file(sys.argv[1]))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(key_file)], stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(keys) == 1
    key = keys.pop()
    assert len(key.encode()) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["secret_key"], "temporary files left behind"
    app = create_app(_without_key({**app_config, "TESTING": False}, key_file))
    assert app.secret_key == key  # reused on the next start


@pytest.mark.parametrize("overrides,message", [
    ({"SECRET_KEY": "dev-insecure-change-me"}, "old public default"),
    ({"SECRET_KEY": "dev-insecure-change-me", "TESTING": True}, "old public default"),
    ({"SECRET_KEY": "a" * 31, "TESTING": False}, r"too short \(31 bytes\)"),
    ({"SECRET_KEY": "short", "TESTING": False, "ENV": "production"}, "too short"),
])
def test_unsafe_secret_keys_are_refused_at_start(app_config, overrides, message):
    from portal import create_app
    from portal.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        create_app({**app_config, **overrides})


def test_a_key_file_others_can_read_is_refused(app_config, tmp_path):
    from portal import create_app
    from portal.config import ConfigError

    key_file = tmp_path / "secret_key"
    key_file.write_text("k" * 64)
    key_file.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        create_app(_without_key(app_config, key_file))


def test_environment_key_of_32_bytes_is_used(app_config, monkeypatch):
    from portal import create_app

    monkeypatch.setenv("PORTAL_SECRET_KEY", "k" * 32)
    app = create_app({k: v for k, v in {**app_config, "TESTING": False}.items() if k != "SECRET_KEY"})
    assert app.secret_key == "k" * 32


# --- issue 9: session lifetime ---------------------------------------------------------------------

def test_sessions_last_the_configured_lifetime_and_remember_me_the_same(client, auth, make, app_config, monkeypatch):
    from datetime import timedelta

    from portal import create_app

    make.user(email="olga@example.com")
    response = auth.login("olga@example.com")
    assert "Expires=" in response.headers["Set-Cookie"]  # a permanent session, not a browser-session one
    assert client.application.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    monkeypatch.setenv("PORTAL_PERMANENT_SESSION_LIFETIME", "3600")
    app = create_app(app_config)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=1)
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(hours=1)


def test_a_session_cookie_older_than_the_lifetime_is_refused(client, auth, make, app, monkeypatch):
    import time

    make.user(role="organizer", email="olga@example.com")
    auth.login("olga@example.com")
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as sess:
        data = dict(sess)
    serializer = app.session_interface.get_signing_serializer(app)
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 13 * 3600)  # signed 13 hours ago
    old_cookie = serializer.dumps(data)
    monkeypatch.setattr(time, "time", real)
    stale = app.test_client()
    stale.set_cookie("session", old_cookie)
    response = stale.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- issue 9: lockout that a stranger cannot turn against the owner --------------------------------

@pytest.fixture(autouse=True)
def _fresh_g_clients(app):
    from tests.conftest import FreshGClient

    app.test_client_class = FreshGClient

def _login_from(client, address: str, email: str, password: str, headers: dict | None = None):  # noqa: ANN001
    """POST /login from `address` (the socket peer), through the real form."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}, headers=headers or {})


def test_a_stranger_failing_the_password_cannot_lock_the_owner_out(app, make):
    """Attackers from several addresses fail the staff member's password until the account is
    under attack; they are refused from then on (even with the right password), one guess per
    new address; the owner, from an address that never failed, still logs in."""
    make.user(role="speaker", email="sam@example.com")
    limit = app.config["LOGIN_RATE_LIMIT"]
    attackers = [f"203.0.113.{n}" for n in range(1, 4)]
    per_attacker = -(-limit // len(attackers))  # each stays under the per-client limit
    for n in range(limit):
        address = attackers[n // per_attacker]
        assert _login_from(app.test_client(), address, "sam@example.com", "guess").status_code == 401
    # Today's per-email limit locked the owner out here; it is the attackers who are stopped:
    assert _login_from(app.test_client(), attackers[-1], "sam@example.com", "guess").status_code == 429
    # Under attack: a client that failed is refused before its password is checked.
    assert _login_from(app.test_client(), attackers[0], "sam@example.com", PASSWORD).status_code == 429
    # A new attacking address gets one guess, then is refused too.
    assert _login_from(app.test_client(), "198.51.100.7", "sam@example.com", "guess").status_code == 401
    assert _login_from(app.test_client(), "198.51.100.7", "sam@example.com", "guess2").status_code == 429
    # The owner logs in.
    owner = app.test_client()
    response = _login_from(owner, "192.0.2.10", "sam@example.com", PASSWORD)
    assert response.status_code == 302
    with owner.session_transaction() as sess:
        assert sess.get("_user_id", "").startswith(f"{users.find_by_email('sam@example.com').user_id}")


def test_one_client_failing_on_one_account_is_stopped_on_it(app, make):
    make.user(email="olga@example.com")
    make.user(email="other@example.com")
    limit = app.config["LOGIN_RATE_LIMIT"]
    app.config["LOGIN_RATE_LIMIT"] = 3  # the per-client limit would otherwise stop it first
    for _ in range(3):
        assert _login_from(app.test_client(), "203.0.113.9", "olga@example.com", "guess").status_code == 401
    assert _login_from(app.test_client(), "203.0.113.9", "olga@example.com", PASSWORD).status_code == 429
    app.config["LOGIN_RATE_LIMIT"] = limit


# --- issue 9: proxies ------------------------------------------------------------------------------

def test_behind_a_trusted_proxy_limits_key_on_the_real_client(app_config, make):
    """PORTAL_TRUSTED_PROXIES=1: X-Forwarded-For names the client; one client blocked does not
    block another behind the same proxy. Untrusted (0), the header is ignored: no escape."""
    from portal import create_app
    from portal.auth.models import LoginFailure
    from tests.conftest import FreshGClient

    make.user(email="olga@example.com")
    for hops, second_status in ((1, 401), (0, 429)):
        app = create_app({**app_config, "TRUSTED_PROXIES": hops, "LOGIN_RATE_LIMIT": 2})
        app.test_client_class = FreshGClient
        limiter_of(app).backend.reset()
        db.session.query(LoginFailure).delete()
        db.session.commit()
        for client_ip in ("203.0.113.5", "203.0.113.5"):
            response = _login_from(app.test_client(), "10.0.0.1", "x@example.com", "guess",
                                   headers={"X-Forwarded-For": client_ip})
            assert response.status_code == 401
        assert _login_from(app.test_client(), "10.0.0.1", "x@example.com", "guess",
                           headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 429
        response = _login_from(app.test_client(), "10.0.0.1", "y@example.com", "guess",
                               headers={"X-Forwarded-For": "198.51.100.20"})
        assert response.status_code == second_status


def test_behind_a_trusted_proxy_https_is_known(app_config):
    from portal import create_app

    for hops, hsts in ((1, True), (0, False)):
        app = create_app({**app_config, "TRUSTED_PROXIES": hops})
        response = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https",
                                                            "X-Forwarded-For": "203.0.113.5"})
        assert ("Strict-Transport-Security" in response.headers) is hsts


def limiter_of(app):  # noqa: ANN001, ANN201
    return app.extensions["portal.ratelimit"]


def test_a_remember_cookie_dies_with_the_sessions(app, make):
    """Remember-me carries the same versioned id: ending the sessions ends it too, and it
    lasts no longer than a session."""
    from flask_login.utils import encode_cookie

    organizer = make.user(role="organizer", email="olga@example.com")
    assert app.config["REMEMBER_COOKIE_DURATION"] == app.config["PERMANENT_SESSION_LIFETIME"]
    with app.test_request_context():
        remember = encode_cookie(organizer.get_id())
    browser = app.test_client()
    browser.set_cookie("remember_token", remember)
    assert browser.get("/admin/").status_code == 200
    users.end_sessions(organizer, reason="logged_out")
    db.session.commit()
    replay = app.test_client()
    replay.set_cookie("remember_token", remember)
    response = replay.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
