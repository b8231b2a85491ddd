"""Chat pushes coalesced per channel (portal.room.batching, SPEC §10): a burst becomes few
frames, every subscriber gets every message once and in order, a lone message goes at once,
an interval of 0 is a frame per message, a dead Redis still delivers, and two workers sharing
Redis send each message once.

No clocks: the window is long (60 s) and the tests end it by hand (releasing the lease) and
run the trailing attempts the batcher scheduled.
"""
from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest

from portal import create_app, shutdown
from portal.extensions import db
from portal.realtime.pool import LocalPool, RedisPool
from portal.realtime.runtime import current_hub
from portal.registration.models import Registration
from portal.room import batching, chat
from portal.room import push as room_push
from portal.room.channels import console_channel, room_channel
from tests.room.conftest import register

WINDOW = 60.0
IDS = re.compile(rb'data-message-id="(\d+)"')


class Later:
    """Stands in for concurrency.later: keeps the trailing attempts until the test runs them."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def __call__(self, seconds: float, fn: Callable[..., Any], *args: Any) -> None:
        self.calls.append((fn, args))

    def run(self) -> None:
        calls, self.calls = self.calls, []
        for fn, args in calls:
            fn(*args)


class Socket:
    """A hub subscriber keeping the chat ids of each frame it was offered."""

    def __init__(self, name: str) -> None:
        self.member = None
        self.id = name
        self.frames: list[list[int]] = []

    def offer(self, frame: bytes) -> bool:
        ids = list(dict.fromkeys(int(i) for i in IDS.findall(frame)))  # an item names its id twice; per language
        if ids:
            self.frames.append(ids)
        return True

    def send_text(self, html: str) -> None:  # pragma: no cover - naive fan-out only
        raise AssertionError("not used")

    def close(self, code: int, reason: str) -> None:  # pragma: no cover
        pass

    def ping(self, *, judge: bool = True) -> None:  # pragma: no cover
        pass

    def seen(self) -> list[int]:
        return [i for frame in self.frames for i in frame]


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Delivery through a broker thread: wait until it arrived (fails only if it never does)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not delivered"
        time.sleep(0.01)


def batcher_of(app) -> batching.Batcher:
    return app.extensions[room_push.CHAT_EXTENSION]


def end_window(app, channel: str) -> None:
    """The window's lease runs out (in the shared pool and the local fallback)."""
    batcher = batcher_of(app)
    batcher.shared.release(channel)
    batcher.local.release(channel)


@pytest.fixture
def app_config(app_config: dict) -> dict:
    return {**app_config, "CHAT_PUSH_INTERVAL": WINDOW}


@pytest.fixture(autouse=True)
def no_flood_limit(monkeypatch):
    monkeypatch.setattr(chat, "MAX_PER_WINDOW", 1000)


@pytest.fixture
def later(app) -> Later:
    later = Later()
    batcher_of(app)._schedule = later
    app.extensions["portal.console.push.chat"]._schedule = later
    return later


def listen(app, channel: str, name: str = "socket") -> Socket:
    sock = Socket(name)
    with app.app_context():
        current_hub().join(channel, sock)
    return sock


def post(regs, n: int) -> list[int]:
    return [chat.post(regs[i % len(regs)], f"message {i}").message_id for i in range(n)]


def test_a_burst_becomes_two_frames_and_every_socket_gets_every_message_once_in_order(app, make, later):
    live = make.webinar(status="live")
    regs = [register(live).reg for _ in range(3)]
    room = [listen(app, room_channel(live.webinar_id), f"s{i}") for i in range(3)]
    console = listen(app, console_channel(live.webinar_id), "console")
    ids = post(regs, 12)
    for sock in room + [console]:
        assert sock.frames == [ids[:1]]  # leading edge: the first at once
    assert later.calls  # the rest wait for the window's end
    end_window(app, room_channel(live.webinar_id))
    app.extensions["portal.console.push.chat"].shared.release(console_channel(live.webinar_id))
    later.run()
    for sock in room + [console]:
        assert sock.frames == [ids[:1], ids[1:]]
        assert sock.seen() == sorted(ids)
    assert later.calls == []  # nothing left: no empty frames follow
    assert batcher_of(app).frames == 2


def test_a_lone_message_goes_at_once(app, make, later):
    live = make.webinar(status="live")
    sock = listen(app, room_channel(live.webinar_id))
    [only] = post([register(live).reg], 1)
    assert sock.frames == [[only]]
    assert later.calls == []


def test_interval_zero_is_a_frame_per_message(app, make, later):
    app.config["CHAT_PUSH_INTERVAL"] = 0
    live = make.webinar(status="live")
    sock = listen(app, room_channel(live.webinar_id))
    ids = post([register(live).reg for _ in range(2)], 5)
    assert sock.frames == [[i] for i in ids]
    assert later.calls == []


def test_hidden_and_shadowed_messages_stay_out_of_the_room_frame(app, make, later):
    live = make.webinar(status="live")
    loud, muted = register(live).reg, register(live).reg
    muted.chat_muted_at = muted.registered_at
    db.session.commit()
    sock = listen(app, room_channel(live.webinar_id))
    first = chat.post(loud, "first").message_id
    shadowed = chat.post(muted, "nobody sees this").message_id
    hidden = chat.post(loud, "hidden before the window ends")
    kept = chat.post(loud, "kept").message_id
    hidden.moderation_status = "hidden"
    db.session.commit()
    end_window(app, room_channel(live.webinar_id))
    later.run()
    assert sock.seen() == [first, kept]
    assert shadowed not in sock.seen()


def test_redis_down_still_delivers_batched_by_this_process(app_config, make):
    config = {**app_config, "REDIS_URL": "redis://127.0.0.1:9/0"}  # nothing listens on the discard port
    down = create_app(config)
    try:
        with down.app_context():
            later = Later()
            batcher_of(down)._schedule = later
            down.extensions["portal.console.push.chat"]._schedule = later
            live = make.webinar(status="live")
            sock = listen(down, room_channel(live.webinar_id))
            ids = post([register(live).reg for _ in range(2)], 6)
            assert sock.frames == [ids[:1]]
            end_window(down, room_channel(live.webinar_id))
            later.run()
            assert sock.seen() == ids
            assert len(sock.frames) == 2
    finally:
        shutdown(down)


def test_two_workers_sharing_redis_send_each_message_once(app_config, make, redis_url):
    prefix = f"test-chat-batch:{secrets.token_hex(4)}:"
    config = {**app_config, "REDIS_URL": redis_url, "REALTIME_REDIS_PREFIX": prefix}
    a, b = create_app(config), create_app(config)
    later_a, later_b = Later(), Later()
    try:
        for app, later in ((a, later_a), (b, later_b)):
            batcher_of(app)._schedule = later
            app.extensions["portal.console.push.chat"]._schedule = later
        with a.app_context():
            live = make.webinar(status="live")
            regs = [register(live).reg for _ in range(2)]
            webinar_id, reg_ids = live.webinar_id, [r.registration_id for r in regs]
        channel = room_channel(webinar_id)
        sock_a, sock_b = listen(a, channel, "a"), listen(b, channel, "b")
        ids: list[int] = []
        for n in range(8):  # alternate the workers that store them
            app = (a, b)[n % 2]
            with app.app_context():
                reg = db.session.get(Registration, reg_ids[n % 2])
                ids.append(chat.post(reg, f"message {n}").message_id)
        wait_for(lambda: sock_a.seen() == ids[:1] and sock_b.seen() == ids[:1])
        assert later_a.calls and later_b.calls  # both pooled some and will come back
        batcher_of(a).shared.release(channel)
        for later, app in ((later_b, b), (later_a, a)):
            with app.app_context():
                later.run()
        wait_for(lambda: len(sock_a.seen()) >= len(ids) and len(sock_b.seen()) >= len(ids))
        time.sleep(0.2)  # a duplicate would arrive now
        for sock in (sock_a, sock_b):
            assert sock.seen() == ids
            assert sock.frames == [ids[:1], ids[1:]]
        assert batcher_of(a).frames + batcher_of(b).frames == 2
        assert [c for c in later_a.calls + later_b.calls if c[1][0] == channel] == []  # the consoles' windows still run
    finally:
        shutdown(a)
        shutdown(b)


def test_the_pool_fallback_takes_over_when_the_shared_pool_fails():
    class Dead(LocalPool):
        def add(self, key, counts, *, ttl=10):
            return False

        def claim(self, key, *, ms):
            return None

    later = Later()
    batcher = batching.Batcher(Dead(), schedule=later)
    sent: list[list[int]] = []

    def flush(take):
        ids = take()
        sent.extend([ids] if ids else [])
        return bool(ids)

    for i in (1, 2, 3):
        batcher.add("room:1", i, interval=WINDOW, flush=flush)
    batcher.local.release("room:1")
    later.run()
    assert sent == [[1], [2, 3]]


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_claim_says_how_long_the_window_is_held(kind, request):
    if kind == "local":
        pool: Any = LocalPool()
    else:
        pool = RedisPool(request.getfixturevalue("redis_url"), prefix=f"test-claim:{secrets.token_hex(4)}:")
    assert pool.claim("k", ms=60_000) == 0.0
    assert 0 < pool.claim("k", ms=60_000) <= 60
    pool.release("k")
    assert pool.claim("k", ms=60_000) == 0.0
    assert pool.size("k") == 0
    assert pool.add("k", {"7": 1}) is True
    assert pool.size("k") == 1
