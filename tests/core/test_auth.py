"""Login, logout, session hygiene, CSRF and the login rate limit."""
from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("target,expected", [
    ("/admin/", "/admin/"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_parameter_only_follows_local_paths(client, make, target, expected):
    make.user(email="olga@example.com")
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", query_string={"next": target},
                           data={"email": "olga@example.com", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == expected
