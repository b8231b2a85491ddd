"""Errors as page / fragment / JSON; health check; configuration; the CLI."""
from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from portal import create_app
from portal.config import ConfigError
from portal.core import lifecycle
from portal.core.models import OutboxEvent, User, Webinar
from portal.core.permissions import SYSTEM
from portal.extensions import db


def test_404_as_page_fragment_and_json(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "<html" in page.get_data(as_text=True)
    fragment = client.get("/no/such/page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and "<html" not in fragment.get_data(as_text=True)
    assert fragment.headers["HX-Retarget"] == "#flash"
    api = client.get("/api/v1/nothing")  # the JSON API answers RFC 9457 problems (tests/api)
    assert api.status_code == 404 and api.mimetype == "application/problem+json" and api.json["code"] == "not_found"
    accept = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert accept.json["error"]["message"] == "Page not found"


def test_portal_errors_render_with_their_status(app, client):
    from portal.errors import Conflict, Forbidden

    @app.get("/_test/conflict")
    def conflict():
        raise Conflict("Cannot start a webinar that is archived.")

    @app.get("/_test/forbidden")
    def forbidden():
        raise Forbidden("You are not allowed to do this.")

    response = client.get("/_test/conflict", headers={"HX-Request": "true"})
    assert response.status_code == 409 and "Cannot start a webinar that is archived." in response.get_data(as_text=True)
    assert client.get("/_test/forbidden", headers={"Accept": "application/json"}).json["error"]["code"] == "forbidden"


def test_unexpected_error_is_500_page_and_rolls_back(app, client, make):
    owner = make.user()

    @app.get("/_test/boom")
    def boom():
        owner.display_name = "half-written"
        db.session.flush()
        raise RuntimeError("bug")

    response = client.get("/_test/boom")
    assert response.status_code == 500 and "Something went wrong" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, owner.user_id).display_name != "half-written"


def test_healthz_503_when_the_database_is_down(app_config, tmp_path):
    broken = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "down"


def test_production_refuses_the_default_secret(app_config):
    with pytest.raises(ConfigError):
        create_app({**app_config, "ENV": "production", "SECRET_KEY": "dev-insecure-change-me"})


def test_environment_variables_are_read_with_types(monkeypatch, app_config):
    monkeypatch.setenv("PORTAL_LOGIN_RATE_LIMIT", "3")
    monkeypatch.setenv("PORTAL_SESSION_COOKIE_SECURE", "true")
    app = create_app({k: v for k, v in app_config.items() if k not in ("SECRET_KEY",)})
    assert app.config["LOGIN_RATE_LIMIT"] == 3 and app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(("name", "raw", "says"), [
    ("PORTAL_DATABASE_POOL_SIZE", "abc", "PORTAL_DATABASE_POOL_SIZE='abc' is not a whole number"),
    ("PORTAL_DATABASE_POOL_SIZE", "-5", "PORTAL_DATABASE_POOL_SIZE='-5': must be a whole number of 0 or more"),
    ("PORTAL_REALTIME_POLL_SECONDS", "2.5", "PORTAL_REALTIME_POLL_SECONDS='2.5' is not a whole number"),
    ("PORTAL_ATTENDANCE_LEASE_SECONDS", "nan", "PORTAL_ATTENDANCE_LEASE_SECONDS='nan': must be a number of 0 or more"),
    ("PORTAL_ATTENDANCE_LEASE_SECONDS", "soon", "PORTAL_ATTENDANCE_LEASE_SECONDS='soon' is not a number"),
    ("PORTAL_SESSION_COOKIE_SECURE", "maybe", "PORTAL_SESSION_COOKIE_SECURE='maybe' is neither on nor off"),
])
def test_a_setting_that_is_not_of_its_type_stops_the_start_naming_the_variable(monkeypatch, app_config,
                                                                              name, raw, says):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ConfigError, match=re.escape(says)):
        create_app({k: v for k, v in app_config.items() if k != "SECRET_KEY"})
    monkeypatch.setenv("PORTAL_SESSION_COOKIE_SECURE", "off")
    monkeypatch.setenv("PORTAL_ATTENDANCE_LEASE_SECONDS", " 12.5 ")
    monkeypatch.setenv("PORTAL_DATABASE_POOL_SIZE", "0")
    monkeypatch.setenv("PORTAL_REALTIME_POLL_SECONDS", "4")
    app = create_app({k: v for k, v in app_config.items() if k != "SECRET_KEY"})
    assert (app.config["SESSION_COOKIE_SECURE"], app.config["ATTENDANCE_LEASE_SECONDS"]) == (False, 12.5)


def test_a_burst_reuses_the_pooled_connections_and_the_pool_size_is_configurable(monkeypatch, app_config, tmp_path):
    """30 requests in flight each hold a connection; given back, they stay open, so the next
    burst opens none (SQLAlchemy's default kept 5 and reopened the rest every time)."""
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/pool.sqlite3"})
    opened = []
    with app.app_context():
        engine = db.engine
        sa_event.listen(engine, "connect", lambda *args: opened.append(1))
        for _burst in range(2):
            held = [engine.connect() for _ in range(30)]
            for connection in held:
                connection.exec_driver_sql("SELECT 1")
                connection.close()
        assert len(opened) == 30 and engine.pool.checkedin() == 30
        assert engine.pool.size() == 50
        engine.dispose()
    monkeypatch.setenv("PORTAL_DATABASE_POOL_SIZE", "7")
    small = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/pool.sqlite3"})
    with small.app_context():
        assert (db.engine.pool.size(), db.engine.pool._max_overflow) == (7, 7)
        db.engine.dispose()


def test_language_from_browser_and_switcher(client):
    russian = client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert '<html lang="ru">' in russian.get_data(as_text=True)
    from tests.conftest import csrf_token_from

    token = csrf_token_from(client.get("/").get_data(as_text=True))
    client.post("/lang", data={"lang": "en", "csrf_token": token})
    english = client.get("/login", headers={"Accept-Language": "ru"})
    assert '<html lang="en">' in english.get_data(as_text=True)


def test_seed_demo_is_idempotent(runner, app, monkeypatch):
    app.config["DEMO_PASSWORD"] = "demo-password-1"
    for _ in range(2):
        result = runner.invoke(args=["portal", "seed-demo"])
        assert result.exit_code == 0, result.output
    assert "demo-password-1" in result.output and "/w/demo-live" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 3
    live = db.session.scalar(select(Webinar).where(Webinar.slug == "demo-live"))
    auto = db.session.scalar(select(Webinar).where(Webinar.slug == "demo-auto"))
    assert (live.status, live.type, live.stream_type) == ("scheduled", "live", "obs")
    assert (auto.status, auto.cta_visibility) == ("live", "visible")
    assert [s.user.email for s in live.speakers] == ["speaker@example.com"]
    assert live.owner.email == "organizer@example.com"
    changes = db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event == "webinar_status_changed"))
    assert changes == 3, "re-seeding must not repeat transitions"


def test_seed_demo_prints_a_random_password_when_none_is_set(runner, app):
    app.config["DEMO_PASSWORD"] = ""
    result = runner.invoke(args=["portal", "seed-demo"])
    assert result.exit_code == 0 and "Password for all demo users:" in result.output


def test_create_user(runner):
    ok = runner.invoke(args=["portal", "create-user", "--email", "New@Example.com", "--role", "organizer",
                             "--password", "long enough pw"])
    assert ok.exit_code == 0 and "new@example.com" in ok.output
    again = runner.invoke(args=["portal", "create-user", "--email", "new@example.com", "--role", "speaker",
                                "--password", "long enough pw"])
    assert again.exit_code != 0 and "already exists" in again.output
    bad_role = runner.invoke(args=["portal", "create-user", "--email", "x@example.com", "--role", "lead",
                                   "--password", "long enough pw"])
    assert bad_role.exit_code != 0
    short = runner.invoke(args=["portal", "create-user", "--email", "y@example.com", "--role", "admin",
                                "--password", "short"])
    assert short.exit_code != 0 and "8 characters" in short.output


def test_concurrent_double_start_changes_and_emits_once(app, make):
    """Two requests start the same webinar at once: one change, one event, no error."""
    webinar = make.webinar(status="scheduled")
    webinar_id = webinar.webinar_id
    outcomes, errors = [], []
    barrier = threading.Barrier(2)

    def click():
        with app.app_context():
            try:
                w = db.session.get(Webinar, webinar_id)
                barrier.wait()
                outcomes.append(lifecycle.core_webinar_set_status(w, "start", actor=SYSTEM).changed)
            except Exception as error:  # collected and asserted below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and sorted(outcomes) == [False, True]
    starts = db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.webinar_id == webinar_id, OutboxEvent.event == "webinar_status_changed"))
    assert starts == 2  # publish + exactly one start


def test_refusals_are_translated_with_their_vocabulary(app, client, make):
    webinar = make.webinar(status="finished")

    @app.get("/_test/start")
    def start():
        lifecycle.core_webinar_set_status(webinar, "start", actor=SYSTEM)

    english = client.get("/_test/start", headers={"HX-Request": "true", "Accept-Language": "en"})
    assert "Cannot start a webinar that is finished." in english.get_data(as_text=True)
    russian = client.get("/_test/start", headers={"HX-Request": "true", "Accept-Language": "ru"})
    assert russian.status_code == 409
    assert "Нельзя выполнить «начать» для вебинара в статусе «завершён»." in russian.get_data(as_text=True)


def test_the_app_remembers_which_functions_are_sync_without_keeping_any_alive(app):
    """Portal.ensure_sync: a plain function is itself (asked once), a coroutine function still
    goes to Flask (which wraps it, or says what to install), and a function made per request
    is not kept alive by the memory."""
    import gc
    import weakref

    def view():
        return "ok"

    async def coroutine_view():
        return "ok"

    assert app.ensure_sync(view) is view and app.ensure_sync(view) is view
    with pytest.raises(RuntimeError, match="async"):  # Flask's own answer: asgiref is not installed
        app.ensure_sync(coroutine_view)
    with pytest.raises(RuntimeError, match="async"):  # asked again, the same answer
        app.ensure_sync(coroutine_view)

    def per_request() -> weakref.ref:
        def callback(response):
            return response
        app.ensure_sync(callback)
        return weakref.ref(callback)

    dead = per_request()
    gc.collect()
    assert dead() is None
    assert app.test_client().get("/healthz").status_code == 200
