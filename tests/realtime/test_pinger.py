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
    """A `stopped` event whose waits take the given times (a stall is a long one) on a clock
    of its own, `now`: the pinger's lateness test must not depend on how busy the machine
    running the tests is."""

    def __init__(self, waits: list[float]):
        self.waits = waits
        self.time = 1000.0

    def now(self) -> float:
        return self.time

    def wait(self, timeout: float) -> bool:
        if not self.waits:
            return True
        self.time += self.waits.pop(0)
        return False


def run(hub: FakeHub, *, interval: float, waits: list[float]) -> None:
    rounds = Rounds(waits)
    pinger.run(hub, interval=interval, stopped=rounds, clock=rounds.now)


def test_every_socket_is_pinged_each_round_and_a_late_round_judges_nobody():
    sockets = [Recorder() for _ in range(3)]
    run(FakeHub(sockets), interval=0.05, waits=[0.05, 0.3, 0.05])
    assert all(s.judged == [True, False, True] for s in sockets)


def test_a_large_room_is_pinged_in_chunks(monkeypatch):
    yields = []
    monkeypatch.setattr(pinger, "CHUNK", 10)
    real_sleep = time.sleep
    monkeypatch.setattr(pinger.time, "sleep", lambda s: yields.append(s) if s == 0 else real_sleep(s))
    sockets = [Recorder() for _ in range(35)]
    run(FakeHub(sockets), interval=0.01, waits=[0.01])
    assert yields == [0, 0, 0] and all(s.judged == [True] for s in sockets)


def test_a_round_is_spread_over_the_interval_and_each_socket_is_pinged_once_per_round(monkeypatch):
    """With an interval of four ticks, each tick pings one slice: every socket once per four
    ticks (never twice in a round, which would count a pong still on its way as missed), and
    a round's pings are spread out rather than sent to the whole room at once."""
    monkeypatch.setattr(pinger, "TICK", 0.01)
    sockets = [Recorder() for _ in range(200)]
    per_tick: list[int] = []

    class Counting(FakeHub):
        def subscribers(self):
            per_tick.append(sum(len(s.judged) for s in sockets))
            return super().subscribers()

    run(Counting(sockets), interval=0.04, waits=[0.01] * 8)
    assert all(s.judged == [True, True] for s in sockets)  # two rounds of four ticks
    pinged_by_tick = [b - a for a, b in zip(per_tick, [*per_tick[1:], 400], strict=True)]
    assert len(pinged_by_tick) == 8 and max(pinged_by_tick) < 100  # no tick pinged half the room


def test_a_late_slice_judges_none_of_its_sockets(monkeypatch):
    monkeypatch.setattr(pinger, "TICK", 0.01)
    sockets = [Recorder() for _ in range(40)]
    run(FakeHub(sockets), interval=0.02, waits=[0.01, 0.01, 0.2, 0.01])
    # two slices: ticks 1 and 3 ping slice 0, ticks 2 and 4 slice 1; tick 3 came late
    for s in sockets:
        assert s.judged == ([True, False] if pinger.slice_of(s, 2) == 0 else [True, True])
    assert {pinger.slice_of(s, 2) for s in sockets} == {0, 1}  # both slices were exercised


def test_sockets_are_spread_evenly_over_the_slices():
    """Same-size objects sit at even steps in memory: the slice must not follow id() modulo."""
    sockets = [Recorder() for _ in range(5000)]
    counts = [0] * 25
    for s in sockets:
        counts[pinger.slice_of(s, 25)] += 1
    assert min(counts) > 100 and max(counts) < 300  # 200 each on average
