"""room.push.Debouncer: one run per key per window, cancelled by cancel_all (an app shutting
down), scheduled anew afterwards, and under gevent it does not hand the caller's greenlet over
to the hub (a request that schedules a push goes on at once)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from portal.room.push import Debouncer

ROOT = Path(__file__).resolve().parents[2]


def test_calls_for_a_pending_key_fold_into_one_run():
    runs: list[object] = []
    done = threading.Event()
    debouncer = Debouncer()

    def fn(app, key):  # noqa: ANN001 - the debouncer's callback signature
        runs.append(key)
        done.set()

    for _ in range(5):
        debouncer.call_soon(None, "room", fn, delay=0.05)  # type: ignore[arg-type]
    assert done.wait(5)
    time.sleep(0.1)
    assert runs == ["room"]


def test_cancel_all_drops_pending_runs_and_a_new_call_runs_once_after_its_own_delay():
    runs: list[tuple[str, float]] = []
    done = threading.Event()
    debouncer = Debouncer()

    def run(name: str):  # noqa: ANN202
        def fn(app, key):  # noqa: ANN001, ARG001 - the debouncer's callback signature
            runs.append((name, time.monotonic()))
            done.set()
        return fn

    debouncer.call_soon(None, "k", run("old"), delay=0.05)  # type: ignore[arg-type]
    debouncer.cancel_all()
    scheduled = time.monotonic()
    debouncer.call_soon(None, "k", run("new"), delay=0.3)  # type: ignore[arg-type]
    assert done.wait(10)
    time.sleep(0.2)
    # the cancelled run woke first and did nothing: it neither ran nor ran the new one early
    assert [name for name, _ in runs] == ["new"]
    assert runs[0][1] - scheduled >= 0.3


def test_under_gevent_scheduling_does_not_switch_away_from_the_caller():
    script = textwrap.dedent(f"""
        from gevent import monkey
        monkey.patch_all()
        import sys, gevent
        sys.path.insert(0, {str(ROOT)!r})
        from portal.room.push import Debouncer

        order = []
        def other():
            order.append("other")
        def caller():
            gevent.spawn(other)  # ready to run at the caller's next switch
            Debouncer().call_soon(None, "k", lambda app, key: order.append("push"), delay=0.01)
            order.append("caller went on")
        gevent.spawn(caller).join()
        gevent.sleep(0.1)
        print("RESULT", ",".join(order))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT")]
    assert line, done.stderr[-2000:]
    assert line[0].split(" ", 1)[1] == "caller went on,other,push"
