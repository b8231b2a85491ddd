"""Poll answers in a burst (issue 13): however many answer, every room socket gets at most one
results frame per RESULTS_INTERVAL per poll (portal.polls.push), rendered once and shared.

Drives the real code path minus HTTP: `polls.service.answer` (checks, one transaction per
answer, the after-commit signal) from `--threads` threads, the real results pusher (its
debounce timer, render per language, `realtime.publish`) and the real hub fanning each frame
out to `--sockets` subscribed sockets (counting what they were offered instead of writing).

    .venv/bin/python bench/polls_burst.py                       # SQLite file, 5,000 answers, 5,000 sockets
    .venv/bin/python bench/polls_burst.py --answers 5000 --sockets 5000 --threads 8
    .venv/bin/python bench/polls_burst.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

Reported: answers/s and per-answer latency (p50/p99), results frames per socket (total, the
most in any one second, the bound), bytes per frame, and that the last frame has every answer.
"""
from __future__ import annotations

import argparse
import math
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from heartbeats import temp_database  # noqa: E402 - after the path set-up


class CountingSocket:
    """A room socket as the hub sees it: keeps when each frame was offered and its size."""

    def __init__(self, n: int) -> None:
        self.member = n
        self.id = f"bench-{n}"
        self.frames: list[tuple[float, bytes]] = []

    def offer(self, frame: bytes) -> bool:
        self.frames.append((time.monotonic(), frame))
        return True

    def send_text(self, html: str) -> None:
        self.offer(html.encode())

    def close(self, code: int, reason: str) -> None:
        pass

    def ping(self, *, judge: bool = True) -> None:
        pass


def setup(app, attendees: int):  # noqa: ANN001, ANN201
    """A live webinar, its speaker, an open poll and `attendees` registrations (bulk insert)."""
    from sqlalchemy import insert, select

    from portal.core.models import User
    from portal.extensions import db
    from portal.polls import service
    from portal.registration.models import Registration
    from portal.registration.tokens import hash_token
    from tests import factories

    speaker = factories.user(role="speaker")
    webinar = factories.webinar(status="live", speakers=(speaker,), slug="bench-polls", title="Bench polls")
    db.session.execute(insert(User), [
        {"email": f"voter{i}@bench.example", "display_name": f"Voter {i}", "role": "lead"} for i in range(attendees)])
    ids = list(db.session.scalars(select(User.user_id).where(User.email.like("voter%@bench.example"))
                                  .order_by(User.user_id)))
    db.session.execute(insert(Registration), [
        {"webinar_id": webinar.webinar_id, "lead_id": lead_id, "webinar_type": "live",
         "join_token_hash": hash_token(secrets.token_urlsafe(24)), "source": "bench"} for lead_id in ids])
    db.session.commit()
    poll = service.create(webinar, actor=speaker, question="Which plan would you pick?",
                          options=["Free", "Pro", "Team", "Enterprise"])
    service.open_poll(poll, actor=speaker)
    regs = list(db.session.scalars(select(Registration.registration_id).where(
        Registration.webinar_id == webinar.webinar_id).order_by(Registration.registration_id)))
    return webinar.webinar_id, poll.poll_id, [o.option_id for o in poll.options], regs


def timed(push) -> list[float]:  # noqa: ANN001 - the portal.polls.push module
    """Record the seconds of every results push (read, render, publish)."""
    spent: list[float] = []
    original = push.push_results

    def wrapper(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        began = time.perf_counter()
        original(*args, **kwargs)
        spent.append(time.perf_counter() - began)

    push.push_results = wrapper
    return spent


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1)]


def run(*, database_url: str | None, answers: int, sockets: int, threads: int) -> None:
    from portal import create_app, shutdown
    from portal.extensions import db
    from portal.polls import push, service
    from portal.realtime.runtime import hub_for
    from portal.registration.models import Registration
    from portal.room.channels import room_channel

    with tempfile.TemporaryDirectory() as workdir:
        url, drop = temp_database(database_url, Path(workdir))
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(32), "REDIS_URL": "",
                          "TESTING": True})
        try:
            with app.app_context():
                db.create_all()
                webinar_id, poll_id, options, regs = setup(app, answers)
                interval = app.extensions[push.EXTENSION].interval
                hub = hub_for(app)
                pushes = timed(push)
                room = [CountingSocket(i) for i in range(sockets)]
                for s in room:
                    hub.join(room_channel(webinar_id), s)
            latencies: list[float] = []
            lock = threading.Lock()

            def voter(mine: list[int]) -> None:
                with app.app_context(), app.test_request_context("/"):
                    for i, registration_id in enumerate(mine):
                        reg = db.session.get(Registration, registration_id)
                        began = time.perf_counter()
                        service.answer(reg, poll_id, [options[(registration_id + i) % len(options)]])
                        spent = time.perf_counter() - began
                        db.session.remove()
                        with lock:
                            latencies.append(spent)

            workers = [threading.Thread(target=voter, args=(regs[t::threads],)) for t in range(threads)]
            began = time.monotonic()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            elapsed = time.monotonic() - began
            time.sleep(interval * 3)  # the last coalesced push
            fanout = hub.stats.seconds / max(hub.stats.messages, 1)
            with app.app_context():
                hub.close()
        finally:
            shutdown(app)
            with app.app_context():
                db.engine.dispose()
            drop()

    counts = [len(s.frames) for s in room]
    moments = [t for t, _ in room[0].frames]
    gaps = [b - a for a, b in zip(moments, moments[1:], strict=False)] or [0.0]
    busiest = max((sum(1 for t in moments if start <= t < start + 1.0) for start in moments), default=0)
    rate = (len(moments) - 1) / (moments[-1] - moments[0]) if len(moments) > 1 else 0.0
    sizes = [len(f) for _, f in room[0].frames]
    last = room[0].frames[-1][1].decode("utf-8", "replace") if room[0].frames else ""
    totals = [int(n) for n in re.findall(r"(\d+) answers", last)]
    shared = all(a[1] is b[1] for a, b in zip(room[0].frames, room[-1].frames, strict=True))
    print(f"backend        {url.split(':', 1)[0]}   threads {threads}   sockets {sockets:,}   interval {interval}s")
    print(f"answers        {len(latencies):,} in {elapsed:.2f}s = {len(latencies) / elapsed:,.0f}/s;"
          f" latency p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms")
    print(f"frames/socket  total {statistics.median(counts):.0f} (min {min(counts)}, max {max(counts)});"
          f" {rate:.2f}/s over the burst (bound {1 / interval:.0f}/s); smallest gap {min(gaps) * 1000:.0f} ms;"
          f" most in any 1 s window {busiest}; frames per answer {max(counts) / len(latencies):.4f}")
    print(f"one push       read + render (2 languages) + publish: median {statistics.median(pushes) * 1000:.1f} ms,"
          f" max {max(pushes) * 1000:.1f} ms; hub fan-out to {sockets:,} sockets {fanout * 1000:.2f} ms")
    print(f"frame bytes    median {statistics.median(sizes):,.0f}; same bytes object on every socket: {shared}")
    print(f"last frame     totals {totals} (expected {len(latencies)} in every language variant)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--answers", type=int, default=5000)
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    run(database_url=args.database_url, answers=args.answers, sockets=args.sockets, threads=args.threads)


if __name__ == "__main__":
    main()
