"""SQLite `PRAGMA synchronous`: FULL (the portal's choice) against NORMAL, on the registration
burst (bench/registration_burst.py, unchanged: same requests, checks and report).

    .venv/bin/python bench/sqlite_synchronous.py                 # FULL, then NORMAL
    .venv/bin/python bench/sqlite_synchronous.py --requests 1500 # any registration_burst option

Each run serves `bench.sqlite_synchronous:app` instead of `wsgi:app`: the portal's app with
portal.SQLITE_SYNCHRONOUS set from BENCH_SQLITE_SYNCHRONOUS (a bench-only variable) before
the app is built, so nothing but the pragma differs.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from unittest import mock

if os.environ.get("BENCH_SQLITE_SYNCHRONOUS"):  # imported by gunicorn: the app of one run
    import portal

    portal.SQLITE_SYNCHRONOUS = os.environ["BENCH_SQLITE_SYNCHRONOUS"]
    app = portal.create_app()


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench import registration_burst as burst

    real_popen = burst.subprocess.Popen

    def popen(args, **kwargs):  # noqa: ANN001, ANN202 - subprocess.Popen's own signature
        args = ["bench.sqlite_synchronous:app" if a == "wsgi:app" else a for a in args]
        return real_popen(args, **kwargs)

    for mode in ("FULL", "NORMAL"):
        print(f"== PRAGMA synchronous={mode}", flush=True)
        os.environ["BENCH_SQLITE_SYNCHRONOUS"] = mode
        with mock.patch.object(burst.subprocess, "Popen", popen):
            burst.main()
    os.environ.pop("BENCH_SQLITE_SYNCHRONOUS", None)


if __name__ == "__main__":
    main()
