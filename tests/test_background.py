"""portal.background.Loop: steps, wake, interval, a failing step, stop with join and a final
step, and no database connection left checked out by the loop."""
from __future__ import annotations

import threading
import time

from sqlalchemy import text

from portal.background import Loop
from portal.extensions import db


def _until(condition, seconds: float = 5.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_steps_at_start_then_after_the_interval_or_a_wake(app):
    steps: list[float] = []
    loop = Loop("test-loop", lambda: steps.append(time.monotonic()), interval=30)
    assert loop.start(app) and loop.running
    assert not loop.start(app)  # once per process
    assert _until(lambda: len(steps) == 1)
    time.sleep(0.2)
    assert len(steps) == 1  # asleep until the interval or a wake
    loop.wake()
    assert _until(lambda: len(steps) == 2, 2)
    assert loop.stop() and not loop.running


def test_with_settle_the_wakes_of_a_burst_make_one_step(app):
    steps: list[float] = []
    loop = Loop("test-loop", lambda: steps.append(time.monotonic()), interval=30, settle=0.3)
    assert loop.start(app)
    assert _until(lambda: len(steps) == 1)
    woken_at = time.monotonic()
    for _ in range(20):  # a burst of commits, each waking the loop, well within the settle time
        loop.wake()
        time.sleep(0.001)  # 20 sleeps of 5 ms could near 0.3 s on a machine busy with parallel tests
    assert _until(lambda: len(steps) == 2, 2)
    time.sleep(0.5)
    assert len(steps) == 2, "one step for the whole burst"
    assert steps[1] - woken_at >= 0.3  # it waited the settle time after the first wake
    assert loop.stop(timeout=2) and not loop.running


def test_a_busy_step_runs_again_at_once_and_a_failing_one_is_logged_and_survived(app, caplog):
    calls = {"n": 0}

    def step() -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return calls["n"] < 5  # work to do for the first rounds

    loop = Loop("test-loop", step, interval=0.05)
    loop.start(app)
    assert _until(lambda: calls["n"] >= 6)
    loop.stop()
    assert "test-loop: a step failed" in caplog.text and "database went away" in caplog.text


def test_stop_runs_final_in_the_loop_and_leaves_no_connection_checked_out(app):
    seen: dict[str, object] = {}
    used = threading.Event()

    def step() -> None:
        db.session.execute(text("SELECT 1"))  # holds a pooled connection until the session goes
        used.set()

    def final() -> None:
        seen["thread"] = threading.current_thread().name
        db.session.execute(text("SELECT 1"))

    loop = Loop("test-loop", step, interval=30, final=final)
    loop.start(app)
    assert used.wait(5)
    assert _until(lambda: db.engine.pool.checkedout() == 0, 2)  # handed back between steps
    assert loop.stop()
    assert seen["thread"] == "test-loop"
    assert db.engine.pool.checkedout() == 0


def test_stop_gives_up_after_its_timeout_on_a_stuck_step(app, caplog):
    release = threading.Event()
    loop = Loop("stuck-loop", lambda: release.wait(10), interval=30)
    loop.start(app)
    time.sleep(0.1)
    started = time.monotonic()
    assert loop.stop(timeout=0.3) is False
    assert time.monotonic() - started < 2
    assert "stuck-loop did not stop" in caplog.text
    release.set()
