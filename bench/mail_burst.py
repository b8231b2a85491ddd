"""Mail burst (issue 10): 10,000 reminders due in the same minute, handed to a local SMTP sink,
while room and registration requests keep being served.

Runs the app under gunicorn with gevent workers (as `make run` does; the in-process mail
sender runs in the worker) on a fresh database holding one published live webinar with
`--reminders` registrations and one queued `remind_1h` ledger row each, all due at the same
instant a little after the start; PORTAL_SMTP_URL points at an aiosmtpd sink in a separate
process (`python -m aiosmtpd -c aiosmtpd.handlers.Sink`: accepts and discards).

1. baseline: `--requests` requests, `--concurrency` in flight, half `GET /room/<token>` (the
   waiting room of a registrant), half `POST /w/<slug>/register` (new visitors), BEFORE the
   reminders are due — latency p50/p99 per kind;
2. burst: the reminders fall due; the same mix runs until every reminder is sent; the ledger's
   `sent_at` gives the delivery rate (messages/s from the due instant to the last one sent);
3. check: every reminder row `sent` exactly once (one row per key; the sink's count matches).

    .venv/bin/python bench/mail_burst.py                        # SQLite file, 1 worker
    .venv/bin/python bench/mail_burst.py --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import registration_burst as rb  # noqa: E402 - its helpers (bench/ is sys.path[0])
from gevent.pool import Pool  # noqa: E402
from gevent.queue import Queue  # noqa: E402

ROOT = rb.ROOT
SLUG = rb.SLUG


def prepare(url: str, count: int, due_in: float) -> tuple[list[str], datetime]:
    """`count` registrations with a queued reminder each, all due `due_in` seconds from now;
    returns the join tokens and the due instant."""
    from sqlalchemy import create_engine, insert, select

    from portal import create_app
    from portal.config import normalise_database_url
    from portal.core.models import User, Webinar
    from portal.mail import reminders, sealed
    from portal.mail.ledger import TOKEN_KEY
    from portal.mail.models import QUEUED, MailMessage
    from portal.registration.models import Registration
    from portal.registration.tokens import new_token

    engine = create_engine(normalise_database_url(url))
    due = datetime.now().astimezone() + timedelta(seconds=due_in)
    tokens: list[str] = []
    with engine.begin() as conn:
        webinar_id, start = conn.execute(
            select(Webinar.webinar_id, Webinar.scheduled_at).where(Webinar.slug == SLUG)).one()
        occurrence = reminders.occurrence_of(start)
        leads = [{"email": f"reminded-{i}@bench.example.com", "display_name": f"Reminded {i}", "role": "lead"}
                 for i in range(count)]
        lead_ids = list(conn.execute(insert(User).returning(User.user_id), leads).scalars())
        regs = []
        for lead_id in lead_ids:
            token, token_hash = new_token()
            tokens.append(token)
            regs.append({"webinar_id": webinar_id, "lead_id": lead_id, "webinar_type": "live",
                         "join_token_hash": token_hash, "source": "", "registered_at": due})
        reg_ids = list(conn.execute(insert(Registration).returning(Registration.registration_id), regs).scalars())
        app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": rb.BENCH_SECRET_KEY})
        with app.app_context():  # sealed with the server's key, as portal.mail.ledger stores them
            boxes = [sealed.seal(token) for token in tokens]
        conn.execute(insert(MailMessage), [{
            "registration_id": reg_id, "webinar_id": webinar_id, "kind": "remind_1h", "occurrence": occurrence,
            "recipient": lead["email"], "recipient_name": lead["display_name"], "language": "en",
            "context": {"base_url": "http://localhost", TOKEN_KEY: box}, "subject": "", "status": QUEUED,
            "attempts": 0, "next_attempt_at": due, "last_answer": "", "created_at": due,
        } for reg_id, lead, box in zip(reg_ids, leads, boxes, strict=True)])
    engine.dispose()
    return tokens, due


def ledger_state(url: str) -> tuple[dict[str, int], datetime | None, datetime | None, int]:
    from sqlalchemy import create_engine, func, select

    from portal.config import normalise_database_url
    from portal.mail.models import MailMessage

    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        mine = (MailMessage.kind == "remind_1h") & MailMessage.recipient.like("reminded-%@bench.example.com")
        statuses = dict(conn.execute(select(MailMessage.status, func.count()).where(mine)
                                     .group_by(MailMessage.status)).all())
        first, last = conn.execute(select(func.min(MailMessage.sent_at), func.max(MailMessage.sent_at))
                                   .where(mine)).one()
        keys = conn.execute(select(func.count()).select_from(
            select(MailMessage.registration_id, MailMessage.kind, MailMessage.occurrence).distinct()
            .where(mine).subquery())).scalar_one()
        everything = conn.execute(select(func.count()).where(MailMessage.status == "sent")).scalar_one()
    engine.dispose()
    statuses["all kinds sent"] = everything
    return statuses, first, last, keys


def start_sink(port: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [str(ROOT / ".venv/bin/python"), "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
         "-l", f"127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            import socket

            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the SMTP sink did not start")


class Load:
    """The request mix: room pages of registrants and new registrations, `concurrency` in flight."""

    def __init__(self, port: int, tokens: list[str], visitors: list[rb.Visitor], concurrency: int) -> None:
        self.port, self.tokens, self.concurrency = port, tokens, concurrency
        self.idle: Queue = Queue()
        for v in visitors:
            self.idle.put(v)
        self.run = uuid.uuid4().hex[:8]
        self.n = 0

    def one(self, i: int, out: dict[str, list[float]], statuses: dict[str, dict[int, int]]) -> None:
        visitor = self.idle.get()
        try:
            if i % 2:
                kind = "register"
                status, seconds = visitor.register(f"during-{self.run}-{i}@example.com")
            else:
                kind = "room"
                started = time.perf_counter()
                response = visitor._send("GET", f"/room/{self.tokens[i % len(self.tokens)]}")
                response.read()
                status, seconds = response.status, time.perf_counter() - started
        finally:
            self.idle.put(visitor)
        out.setdefault(kind, []).append(seconds)
        statuses.setdefault(kind, {}).setdefault(status, 0)
        statuses[kind][status] += 1

    def phase(self, *, requests: int | None = None, until=None) -> tuple[dict[str, list[float]], dict]:  # noqa: ANN001
        out: dict[str, list[float]] = {}
        statuses: dict[str, dict[int, int]] = {}
        pool = Pool(self.concurrency)
        done = 0
        while (requests is not None and done < requests) or (until is not None and not until()):
            pool.spawn(self.one, self.n, out, statuses)
            self.n += 1
            done += 1
        pool.join(raise_error=True)
        return out, statuses


def report(name: str, latencies: dict[str, list[float]], statuses: dict) -> None:
    for kind, values in sorted(latencies.items()):
        print(f"  {name:9} {kind:8} n={len(values):5}  p50 {statistics.median(values) * 1000:7.1f} ms  "
              f"p99 {rb.percentile(values, 99) * 1000:7.1f} ms  max {max(values) * 1000:7.1f} ms  "
              f"answers {dict(sorted(statuses[kind].items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL; default: a SQLite file")
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1000, help="baseline requests (half room, half register)")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--burst-seconds", type=float, default=0,
                        help="stop the request load this long after the due instant (0: when all are sent); "
                             "the sender then goes on alone, and its rate alone is reported too")
    parser.add_argument("--limit-seconds", type=float, default=900, help="give up waiting for the sender")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    url = rb.prepare_database(args.database_url, workdir)
    sink_port, port = rb.free_port(), rb.free_port()
    sink = start_sink(sink_port, workdir / "sink.log")
    os.environ["PORTAL_SMTP_URL"] = f"smtp://127.0.0.1:{sink_port}"
    tokens: list[str] = []
    server = None
    try:
        # due far enough ahead for the server start, the warm-up and the baseline
        tokens, due = prepare(url, args.reminders, due_in=3600)
        server = rb.start_server(url, port, args.workers, workdir / "gunicorn.log")
        visitors = [rb.Visitor(port) for _ in range(max(args.clients, args.concurrency))]
        warm = Pool(args.concurrency)
        for v in visitors:
            warm.spawn(v.open)
        warm.join(raise_error=True)
        load = Load(port, tokens[:200], visitors, args.concurrency)

        baseline, base_statuses = load.phase(requests=args.requests)

        # Bring the due instant to now: every reminder falls due in the same moment.
        from sqlalchemy import create_engine, update

        from portal.config import normalise_database_url
        from portal.mail.models import QUEUED, MailMessage

        engine = create_engine(normalise_database_url(url))
        due = datetime.now().astimezone()
        with engine.begin() as conn:
            conn.execute(update(MailMessage).where(MailMessage.kind == "remind_1h", MailMessage.status == QUEUED)
                         .values(next_attempt_at=due))
        engine.dispose()
        started = time.perf_counter()
        finished: dict[str, float] = {}
        progress: list[tuple[float, int]] = []

        def watch() -> None:
            while time.perf_counter() - started < args.limit_seconds:
                statuses, *_ = ledger_state(url)
                progress.append((time.perf_counter() - started, statuses.get("sent", 0),
                                 statuses["all kinds sent"]))
                if statuses.get("queued", 0) == 0 and statuses.get("sending", 0) == 0:
                    finished["at"] = time.perf_counter()
                    return
                gevent.sleep(0.5)
            finished["at"] = time.perf_counter()

        def load_over() -> bool:
            return "at" in finished or (args.burst_seconds > 0 and time.perf_counter() - started >= args.burst_seconds)

        watcher = gevent.spawn(watch)
        burst, burst_statuses = load.phase(until=load_over)
        load_end = time.perf_counter() - started
        sent_at_load_end = progress[-1][1] if progress else 0
        all_at_load_end = (progress[-1][2] - progress[0][2]) if progress else 0
        watcher.join()
        elapsed = finished["at"] - started
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
        os.killpg(sink.pid, signal.SIGTERM)
        sink.wait(10)

    statuses, first, last, keys = ledger_state(url)
    backend = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    sent = statuses.get("sent", 0)
    span = (last - due).total_seconds() if last is not None else float("nan")
    print(f"backend {backend}, gunicorn -k gevent workers={args.workers}, cores={os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"reminders {args.reminders} due at once: sent {sent} in {span:.1f} s from the due instant "
          f"= {sent / span:.1f} messages/s overall (first sent {(first - due).total_seconds():.2f} s after due; "
          f"watched for {elapsed:.1f} s)")
    print(f"  while the request load ran ({load_end:.1f} s): {sent_at_load_end} sent = "
          f"{sent_at_load_end / load_end:.1f} messages/s; all mails sent meanwhile (the load's own "
          f"confirmations, due earlier, go first): {all_at_load_end} = {all_at_load_end / load_end:.1f} messages/s")
    if elapsed > load_end + 1:
        alone = sent - sent_at_load_end
        print(f"  sender alone afterwards ({elapsed - load_end:.1f} s): {alone} sent = "
              f"{alone / (elapsed - load_end):.1f} messages/s")
    print(f"ledger: {statuses}, distinct keys {keys}")
    print(f"requests (concurrency {args.concurrency}, half GET /room/<token>, half POST /w/<slug>/register):")
    report("baseline", baseline, base_statuses)
    report("burst", burst, burst_statuses)
    statuses.pop("all kinds sent")
    ok = keys == args.reminders and sum(statuses.values()) == args.reminders and \
        statuses.get("failed", 0) == statuses.get("skipped", 0) == 0
    done = sent == args.reminders
    print(("OK: every reminder sent once" if done else f"OK so far: {sent} sent once, the rest still queued "
           f"when the watch ended") if ok else "MISMATCH")
    if args.database_url and url.startswith("postgres"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(normalise_database_url(args.database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()
    if args.keep:
        print(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
