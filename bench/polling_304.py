"""The polling fallback's 304 path, in process: what one "nothing changed" answer costs, and
what the rate limiting (Flask-Limiter's per-request hooks; our limit is not counted on a 304)
adds to it.

    .venv/bin/python bench/polling_304.py [--requests 5000]

Builds the app on a scratch SQLite file, registers one attendee of a live webinar, takes the
ETag of one full answer, then times `--requests` GET /room/<token>/state with If-None-Match
(each must be 304), once as configured and once with Flask-Limiter's before/after-request
hooks taken out, and once more as configured (to see the noise). Reports µs per request.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal import create_app, shutdown  # noqa: E402
from portal.extensions import db  # noqa: E402


def run(client, url: str, etag: str, n: int) -> list[float]:
    """Timings of the 304s among `n` polls (a background publish moves the version now and
    then: that poll gets the snapshot and a new ETag, and is left out)."""
    times = []
    headers = {"If-None-Match": etag, "HX-Request": "true"}
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = time.perf_counter() - start
        if response.status_code == 304:
            times.append(elapsed)
        else:
            assert response.status_code == 200, response.status_code
            headers["If-None-Match"] = response.headers["ETag"]
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3", "SECRET_KEY": "x" * 40,
                          "REDIS_URL": "", "WTF_CSRF_ENABLED": False, "TESTING": False})
        with app.app_context():
            db.create_all()
            from portal.core.models import User
            from portal.registration import service
            from tests import factories

            owner = User(email="o@example.com", display_name="O", role="organizer", password_hash="x")
            db.session.add(owner)
            db.session.commit()
            webinar = factories.webinar(owner=owner, status="live")
            token = service.register(webinar, name="A", email="a@example.com").token
        client = app.test_client()
        url = f"/room/{token}/state"
        time.sleep(2)  # let the registration's debounced pushes pass: the channel version settles
        etag = client.get(url, headers={"HX-Request": "true"}).headers["ETag"]
        run(client, url, etag, 500)  # warm-up
        report = {}
        report["as configured"] = run(client, url, etag, args.requests)
        saved = {k: list(v) for k, v in app.before_request_funcs.items()}, \
            {k: list(v) for k, v in app.after_request_funcs.items()}
        for funcs in (app.before_request_funcs, app.after_request_funcs):
            for key in funcs:
                funcs[key] = [f for f in funcs[key] if "limiter" not in repr(f).lower()]
        report["without Flask-Limiter hooks"] = run(client, url, etag, args.requests)
        app.before_request_funcs.update(saved[0])
        app.after_request_funcs.update(saved[1])
        report["as configured, again"] = run(client, url, etag, args.requests)
        for name, times in report.items():
            print(f"{name:30s} p50 {statistics.median(times) * 1e6:7.0f} µs   "
                  f"mean {statistics.fmean(times) * 1e6:7.0f} µs   304s {len(times)}")
        shutdown(app)


if __name__ == "__main__":
    main()
