"""What the commit-order `sequence` costs (portal/core/sequencing.py): event-writing commits per
second from concurrent writers, numbered (the counter row locked from the stamp to COMMIT) and
unnumbered (the stamp's listener removed: a plain outbox), alternating in the same run.

Each transaction writes one outbox event through `events.emit` and commits, as a registration
or a status change does; `--events-per-transaction 250` writes 250 `client_webinar_entered`, as one batch of a
go-live's lobby does (`ATTENDANCE_GO_LIVE_BATCH`). Checks afterwards that the stamped rows are numbered
1..N without a gap or a repeat.

    .venv/bin/python bench/event_sequence.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/event_sequence.py                          # SQLite file
    .venv/bin/python bench/event_sequence.py --writers 2 --per-writer 20 --events-per-transaction 250
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

from sqlalchemy import event as sa_event
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from portal import create_app  # noqa: E402
from portal.core import events, sequencing  # noqa: E402
from portal.core.models import OutboxEvent  # noqa: E402
from portal.extensions import db  # noqa: E402
from tests import factories  # noqa: E402
from tests.conftest import scratch_postgres_database  # noqa: E402


@contextmanager
def database(url: str | None):
    if url:
        with scratch_postgres_database(url, "bench_sequence") as scratch:
            yield scratch
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.sqlite3"


def _unnumbered(session: Session) -> None:
    """The plain outbox to compare with: the queued rows written at commit, without the counter."""
    unwritten = session.info.pop(sequencing._UNWRITTEN, None)
    if unwritten:
        session.flush()
        session.connection().execute(insert(OutboxEvent.__table__), list(unwritten.values()))


def run(app, webinar_id: int, writers: int, per_writer: int, per_transaction: int) -> float:
    """Event-writing commits per second."""
    def writer() -> None:
        with app.app_context():
            for _ in range(per_writer):
                if per_transaction == 1:
                    events.emit("webinar_completed", webinar_id=webinar_id, data={"bench": True})
                for lead_id in range(1, per_transaction + 1) if per_transaction > 1 else ():
                    events.emit("client_webinar_entered", webinar_id=webinar_id, lead_id=lead_id,
                                session_id="bench", data={"bench": True})
                db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return writers * per_writer / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--per-writer", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events-per-transaction", type=int, default=1)
    args = parser.parse_args()
    per_transaction = args.events_per_transaction
    with database(args.database_url) as url:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": args.writers + 2}} if "postgresql" in url
                         else {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            db.create_all()
            webinar_id = factories.webinar().webinar_id
            results: dict[str, list[float]] = {"stamped": [], "unstamped": []}
            for _ in range(args.rounds):  # alternate, so both see the same noise
                results["stamped"].append(run(app, webinar_id, args.writers, args.per_writer, per_transaction))
                sa_event.remove(Session, "before_commit", sequencing._stamp)
                sa_event.listen(Session, "before_commit", _unnumbered)
                try:
                    results["unstamped"].append(run(app, webinar_id, args.writers, args.per_writer, per_transaction))
                finally:
                    sa_event.remove(Session, "before_commit", _unnumbered)
                    sa_event.listen(Session, "before_commit", sequencing._stamp)
            numbers = [s for (s,) in db.session.execute(
                select(OutboxEvent.sequence).where(OutboxEvent.sequence.is_not(None)).order_by(OutboxEvent.sequence))]
            expected = args.rounds * args.writers * args.per_writer * per_transaction
            gapless = numbers == list(range(1, expected + 1))
            db.session.remove()
            db.engine.dispose()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    for name, values in results.items():
        print(f"{backend} {name:9}: " + ", ".join(f"{v:7.0f}" for v in values) + " commits/s"
              f"   (best {max(values):.0f}; {max(values) * per_transaction:.0f} events/s,"
              f" {per_transaction} per transaction)")
    print(f"ratio stamped/unstamped (best of {args.rounds}): "
          f"{max(results['stamped']) / max(results['unstamped']):.2f}; numbered 1..N without gaps: {gapless}")


if __name__ == "__main__":
    main()
