"""The pinger: every socket each round; a round that starts late (this process stalled) blames nobody."""
from __future__ import annotations

import time

from portal.realtime import pinger


class FakeHub:
    def __init__(self, subscribers):
        self._subscribers = subscribers

    def subscribers(self):
        return list(self._subscribers)


class Recorder:
    def __init__(self):
        self.judged: list[bool] = []

    def ping(self, *, judge: bool = True) -> None:
        self.judged.append(judge)


class Rounds:
    """A `stopped` event whose waits take the given times (a stall is a long one)."""

    def __init__(self, waits: list[float]):
        self.waits = waits

    def wait(self, timeout: float) -> bool:
        if not self.waits:
            return True
        time.sleep(self.waits.pop(0))
        return False


def test_every_socket_is_pinged_each_round_and_a_late_round_judges_nobody():
    sockets = [Recorder() for _ in range(3)]
    pinger.run(FakeHub(sockets), interval=0.05, stopped=Rounds([0.05, 0.3, 0.05]))
    assert all(s.judged == [True, False, True] for s in sockets)


def test_a_large_room_is_pinged_in_chunks(monkeypatch):
    yields = []
    monkeypatch.setattr(pinger, "CHUNK", 10)
    real_sleep = time.sleep
    monkeypatch.setattr(pinger.time, "sleep", lambda s: yields.append(s) if s == 0 else real_sleep(s))
    sockets = [Recorder() for _ in range(35)]
    pinger.run(FakeHub(sockets), interval=0.01, stopped=Rounds([0.01]))
    assert yields == [0, 0, 0] and all(s.judged == [True] for s in sockets)
