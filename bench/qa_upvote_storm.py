"""Q&A upvote storm (issue 13): however fast attendees vote, a room socket gets at most a few
list frames a second.

Drives the real code path minus the network: `portal.qa.questions.vote` (checks, rate limit,
the vote row and the recount in one transaction, the after-commit `question_changed`) and the
real push (`portal.qa.push`: coalesced per webinar, rendered once per language, published
through the in-process hub). `--sockets` counting subscribers sit on the room channel and the
console channel of the hub, as open sockets would. Voters toggle their votes on `--questions`
questions at `--rate` votes/s in total (spread over `--threads` threads) for `--seconds`.

Yardstick (same run): without coalescing a socket would get one list frame per vote, i.e.
`--rate` frames/s. Reported: votes/s achieved, vote call p50/p99, list frames/s per socket
(room, console) and their ratio to the yardstick.

    .venv/bin/python bench/qa_upvote_storm.py                       # SQLite file, 2,000 sockets
    .venv/bin/python bench/qa_upvote_storm.py --rate 300 --sockets 5000
    .venv/bin/python bench/qa_upvote_storm.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Counting:
    """A socket as the hub sees it, counting the frames offered to it."""

    member = None
    id = "bench"

    def __init__(self) -> None:
        self.frames = 0

    def offer(self, frame: bytes) -> bool:
        self.frames += 1
        return True

    def send_text(self, html: str) -> None:
        self.frames += 1

    def close(self, code: int, reason: str) -> None:
        pass


def setup(voters: int, questions: int):  # noqa: ANN201
    """A live webinar, `voters` registrations (bulk insert) and `questions` visible questions."""
    from sqlalchemy import insert, select

    from portal.core.models import User
    from portal.db_types import utcnow
    from portal.extensions import db
    from portal.qa.models import Question
    from portal.registration.models import Registration
    from portal.registration.tokens import hash_token
    from tests import factories

    webinar = factories.webinar(status="live", slug="bench-qa", title="Bench Q&A")
    db.session.execute(insert(User), [
        {"email": f"voter{i}@bench.example", "display_name": f"Voter {i}", "role": "lead"} for i in range(voters)])
    ids = list(db.session.scalars(select(User.user_id).where(User.email.like("voter%@bench.example"))
                                  .order_by(User.user_id)))
    db.session.execute(insert(Registration), [
        {"webinar_id": webinar.webinar_id, "lead_id": lead_id, "webinar_type": "live",
         "join_token_hash": hash_token(secrets.token_urlsafe(24)), "source": "bench"} for lead_id in ids])
    now = utcnow()
    db.session.execute(insert(Question), [
        {"webinar_id": webinar.webinar_id, "author_id": ids[i % len(ids)], "body": f"Question {i}?",
         "created_at": now, "moderation_status": "visible", "answer_state": "open", "votes": 0}
        for i in range(questions)])
    db.session.commit()
    regs = list(db.session.scalars(select(Registration.registration_id)
                                   .where(Registration.webinar_id == webinar.webinar_id)))
    qids = list(db.session.scalars(select(Question.question_id).where(Question.webinar_id == webinar.webinar_id)))
    return webinar.webinar_id, regs, qids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--voters", type=int, default=400)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--rate", type=float, default=100.0, help="votes per second, all voters together")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server (a throw-away database on it)")
    args = parser.parse_args()

    from portal import create_app
    from portal.extensions import db
    from portal.qa import questions
    from portal.ratelimit import limiter
    from portal.realtime.runtime import current_hub
    from portal.registration.models import Registration
    from portal.room.channels import console_channel, room_channel

    sys.path.insert(0, str(ROOT / "bench"))
    from heartbeats import temp_database  # the same throw-away database as the heartbeat bench

    with tempfile.TemporaryDirectory() as workdir:
        url, drop = temp_database(args.database_url, Path(workdir))
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "bench",
                          "WTF_CSRF_ENABLED": False})
        with app.app_context():
            db.create_all()
            webinar_id, regs, qids = setup(args.voters, args.questions)
            hub = current_hub()
            room = [Counting() for _ in range(args.sockets)]
            console = Counting()
            for sub in room:
                hub.join(room_channel(webinar_id), sub)
            hub.join(console_channel(webinar_id), console)

        latencies: list[float] = []
        refused = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + args.seconds
        per_thread = args.rate / args.threads

        def voter(offset: int) -> None:
            state: dict[tuple[int, int], bool] = {}
            n = offset
            next_at = time.monotonic()
            with app.app_context():
                while (now := time.monotonic()) < stop_at:
                    if now < next_at:
                        time.sleep(next_at - now)
                    next_at += 1.0 / per_thread
                    reg_id, qid = regs[n % len(regs)], qids[(n // len(regs) + n) % len(qids)]
                    n += args.threads
                    up = not state.get((reg_id, qid), False)
                    started = time.perf_counter()
                    try:
                        reg = db.session.get(Registration, reg_id)
                        questions.vote(reg, qid, up=up)
                        state[(reg_id, qid)] = up
                    except Exception:  # noqa: BLE001 - a refusal (rate limit) is counted, not fatal
                        db.session.rollback()
                        with lock:
                            refused[0] += 1
                    finally:
                        db.session.remove()
                    with lock:
                        latencies.append(time.perf_counter() - started)

        with app.app_context():
            limiter().reset()
        started = time.monotonic()
        threads = [threading.Thread(target=voter, args=(i,)) for i in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # the last coalesced push
        votes = len(latencies) - refused[0]
        frames = statistics.mean(s.frames for s in room)
        window = elapsed + 0.5
        ordered = sorted(latencies)
        p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
        print(f"sockets={args.sockets} voters={args.voters} questions={args.questions} target={args.rate:.0f}/s "
              f"seconds={args.seconds}")
        print(f"votes stored: {votes} ({votes / elapsed:.1f}/s), refused: {refused[0]}; "
              f"vote call p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms")
        print(f"room: {frames:.1f} list frames per socket = {frames / window:.2f}/s "
              f"(yardstick, a frame per vote: {votes / elapsed:.1f}/s; ratio {frames / max(votes, 1):.4f})")
        print(f"console: {console.frames} frames = {console.frames / window:.2f}/s")
        from portal import shutdown

        shutdown(app)
        with app.app_context():
            db.engine.dispose()
        drop()


if __name__ == "__main__":
    main()
