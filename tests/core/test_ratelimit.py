"""Rate limits (Flask-Limiter) behave the same in memory and on Redis, and survive a dead Redis."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from flask_limiter import Limiter

from portal import create_app, shutdown
from portal.errors import RateLimited
from portal.ratelimit import KEY_PREFIX, RateLimiter, limiter


@pytest.fixture(params=["memory", "redis"])
def app_limiter(request, app_config) -> Iterator[RateLimiter]:
    url = "" if request.param == "memory" else request.getfixturevalue("redis_url")
    app = create_app({**app_config, "REDIS_URL": url})
    with app.app_context():
        yield limiter()
    shutdown(app)


def test_the_app_limits_through_flask_limiter(app_limiter):
    assert isinstance(app_limiter.extension, Limiter)


def test_allows_up_to_the_limit_then_refuses(app_limiter):
    key = f"test:{uuid.uuid4()}"
    for _ in range(3):
        app_limiter.hit(key, limit=3, window=3600, message="slow down")
    with pytest.raises(RateLimited) as refused:
        app_limiter.hit(key, limit=3, window=3600, message="slow down")
    assert refused.value.message == "slow down" and 0 < refused.value.retry_after <= 3600


def test_keys_are_independent(app_limiter):
    a, b = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"
    app_limiter.hit(a, limit=1, window=3600, message="x")
    app_limiter.hit(b, limit=1, window=3600, message="x")
    with pytest.raises(RateLimited):
        app_limiter.hit(a, limit=1, window=3600, message="x")


def test_redis_counts_are_shared_between_apps(app_config, redis_url):
    """Two workers (two apps) on one Redis count together; their keys carry our prefix."""
    key = f"test:{uuid.uuid4()}"
    first, second = (create_app({**app_config, "REDIS_URL": redis_url}) for _ in range(2))
    with first.app_context():
        limiter().hit(key, limit=2, window=3600, message="x")
    with second.app_context():
        limiter().hit(key, limit=2, window=3600, message="x")
        with pytest.raises(RateLimited):
            limiter().hit(key, limit=2, window=3600, message="x")
    client = redis.Redis.from_url(redis_url)
    stored = [k.decode() for k in client.scan_iter(f"{KEY_PREFIX}:*{key}*")]
    assert len(stored) == 1 and client.get(stored[0]) == b"3"
    for app in (first, second):
        shutdown(app)


# --- a Redis that dies --------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(port: int, directory: str) -> subprocess.Popen:
    """Start a redis-server on `port` (no persistence) and wait until it answers."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    proc = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", directory],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("own redis-server did not start")


@pytest.fixture
def own_redis(tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A redis-server of this test's own, on a free port, that the test may kill."""
    port = _free_port()
    proc = start_redis(port, str(tmp_path))
    yield f"redis://127.0.0.1:{port}/0", proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_a_dead_redis_falls_back_to_memory_and_still_limits(app_config, own_redis, make):
    url, proc = own_redis
    app = create_app({**app_config, "REDIS_URL": url, "REGISTRATION_RATE_LIMIT": 2, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    key = f"test:{uuid.uuid4()}"
    with app.app_context():
        limiter().hit(key, limit=2, window=3600, message="x")
        assert redis.Redis.from_url(url).dbsize() == 1  # counted in Redis while it lived
        proc.kill()
        proc.wait()
        # Redis is gone: the first hit after it falls back, the limit still holds per process.
        limiter().hit(key, limit=2, window=3600, message="x")
        assert limiter().storage_down
        limiter().hit(key, limit=2, window=3600, message="x")
        with pytest.raises(RateLimited):
            limiter().hit(key, limit=2, window=3600, message="x")
        # And the app still serves and limits a real view (registration: 2 per window per IP).
        assert client.get("/healthz").status_code == 200
        webinar = make.webinar(status="scheduled")
        answers = [client.post(f"/w/{webinar.slug}/register", data={}) for _ in range(3)]
    assert 429 not in [a.status_code for a in answers[:2]]
    assert answers[2].status_code == 429 and "Too many registrations" in answers[2].get_data(as_text=True)
    shutdown(app)


def test_storage_is_used_again_once_redis_answers(app_config, own_redis, monkeypatch, tmp_path):
    import portal.ratelimit as ratelimit

    url, proc = own_redis
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    app = create_app({**app_config, "REDIS_URL": url})
    key = f"test:{uuid.uuid4()}"
    with app.app_context():
        proc.kill()
        proc.wait()
        limiter().hit(key, limit=5, window=3600, message="x")
        assert limiter().storage_down
        restarted = start_redis(port, str(tmp_path))
        try:
            client = redis.Redis.from_url(url)
            monkeypatch.setattr(ratelimit, "RECHECK_SECONDS", 0.0)
            limiter()._next_check = 0.0
            limiter().hit(key, limit=5, window=3600, message="x")
            assert not limiter().storage_down
            assert client.dbsize() == 1  # the hit after recovery is counted in Redis again
        finally:
            restarted.kill()
            restarted.wait()
    shutdown(app)


# --- login and registration while Redis is gone or hangs ----------------------------------------

def _log_in_and_register(app, make) -> tuple[int, str, int]:
    from tests import factories
    from tests.conftest import Auth

    with app.app_context():
        staff = make.user(role="organizer")
        email, slug = staff.email, make.webinar(status="scheduled", owner=staff).slug
    client = app.test_client()
    login = Auth(client).login(email, factories.PASSWORD)
    dashboard = client.get("/admin/").get_data(as_text=True) if login.status_code == 302 else ""
    visitor = app.test_client()
    from tests.conftest import csrf_token_from
    token = csrf_token_from(visitor.get(f"/w/{slug}").get_data(as_text=True))
    registered = visitor.post(f"/w/{slug}/register", data={
        "name": "Ann", "email": f"ann-{uuid.uuid4().hex[:6]}@example.com", "csrf_token": token})
    return login.status_code, dashboard, registered.status_code


def test_login_and_registration_work_with_redis_killed(app_config, own_redis, make):
    url, proc = own_redis
    app = create_app({**app_config, "REDIS_URL": url})
    proc.kill()
    proc.wait()
    login, dashboard, registered = _log_in_and_register(app, make)
    assert login == 302 and "logout" in dashboard.lower()
    assert registered == 303
    shutdown(app)


def test_a_redis_that_accepts_and_never_answers_does_not_hang_requests(app_config, make):
    # A half-dead Redis (the TCP connection opens, nothing ever comes back) is the case that
    # short socket timeouts exist for: without them every request would wait on it forever.
    import threading

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    port = silent.getsockname()[1]
    app = create_app({**app_config, "REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    answers: list[tuple[int, str, int]] = []
    worker = threading.Thread(target=lambda: answers.append(_log_in_and_register(app, make)), daemon=True)
    worker.start()
    worker.join(60)  # a liveness bound, far above the 0.5-1 s client timeouts: not a speed check
    try:
        assert not worker.is_alive(), "a request hung on a Redis that never answers"
        [(login, dashboard, registered)] = answers
        assert login == 302 and "logout" in dashboard.lower() and registered == 303
    finally:
        shutdown(app)
        silent.close()


def test_flask_limiter_adds_no_per_request_hook(app_config):
    """The portal's limits are keyed hit()s: no request pays for Flask-Limiter's decorated-limit
    check, header injection or context teardown (issue 14: every 304 poll ran them)."""
    app = create_app(app_config)
    extension = app.extensions["portal.ratelimit"].extension

    def owner(hook):  # noqa: ANN001, ANN202 - a bound method, or functools.partial(fn, extension)
        return getattr(hook, "__self__", None) or (getattr(hook, "args", None) or (None,))[0]

    hooks = [*app.before_request_funcs.get(None, []), *app.after_request_funcs.get(None, []),
             *app.teardown_request_funcs.get(None, [])]
    assert hooks and not [h for h in hooks if owner(h) is extension]
    with app.app_context():
        key = f"test:{uuid.uuid4()}"
        limiter().hit(key, limit=1, window=60, message="x")  # the limits still count
        with pytest.raises(RateLimited):
            limiter().hit(key, limit=1, window=60, message="x")
    shutdown(app)
