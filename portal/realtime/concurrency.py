"""Starting background work the same way under threads (werkzeug, tests) and gevent (gunicorn)."""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any


def gevent_active() -> bool:
    """Is this process running on gevent's monkey-patched threading (gunicorn -k gevent)?"""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return monkey.is_module_patched("threading")


def spawn(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run fn(*args) in the background without waiting for it to start.

    Under gevent this only schedules a greenlet: a broadcast loop that starts a drain worker
    must not yield to the hub in the middle of the room (threading.Thread.start() would,
    waiting for the new "thread" to report that it started).
    """
    if gevent_active():
        import gevent

        gevent.spawn(fn, *args, **kwargs)
    else:
        threading.Thread(target=fn, args=args, kwargs=kwargs, daemon=True).start()


def later(seconds: float, fn: Callable[..., Any], *args: Any) -> None:
    """Run fn(*args) after `seconds`, in the background."""
    def wait_then_run() -> None:
        time.sleep(seconds)  # cooperative under gevent's monkey patching
        fn(*args)

    spawn(wait_then_run)
