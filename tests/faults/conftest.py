"""Fault fixtures: servers a test starts itself and may kill, stop and start again.

- `own_redis`: a redis-server on a free port (no persistence), `kill()` (SIGKILL) / `start()`.
- `own_postgres`: a private PostgreSQL cluster (Debian's initdb/pg_ctl, run as the `postgres`
  user when we are root) in a tmp dir on a free port, `stop()` (immediate) / `start()`.
- `gunicorn_portal(env)`: the portal served by gunicorn + gevent (gunicorn.conf.py, like
  `make run`) in its own process; stopped at the end of the test.
The machine's shared PostgreSQL and Redis are never touched.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
def _pg_bin() -> Path:
    """Debian's server binaries of the newest installed PostgreSQL (initdb and pg_ctl are not on PATH)."""
    def major(initdb: Path) -> int:
        return int(initdb.parts[-3]) if initdb.parts[-3].isdigit() else 0
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=major)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


class OwnRedis:
    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed")
        self.binary, self.workdir = binary, workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _answers(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail("own redis-server did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


class OwnPostgres:
    """A private cluster: initdb once, then start / stop (immediate) as often as the test likes."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"PostgreSQL server binaries are missing in {PG_BIN}")
        self.dir = Path(tempfile.mkdtemp(prefix="portal-pg-"))
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            pytest.fail(f"{tool} failed: {result.stdout}\n{result.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-o", options, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return (self.dir / "data" / "postmaster.pid").exists()

    def remove(self) -> None:
        if self.running():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    cluster = OwnPostgres()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


class Gunicorn:
    def __init__(self, url: str, process: subprocess.Popen, log: Path) -> None:
        self.url, self.process, self.log = url, process, log


@pytest.fixture
def gunicorn_portal(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Gunicorn]]:
    """start(env) -> the portal under gunicorn + gevent with these PORTAL_* settings
    (`app`: another gunicorn app spec, e.g. a test's factory with config overrides)."""
    started: list[Gunicorn] = []

    def start(env: dict[str, str], *, app: str = "wsgi:app") -> Gunicorn:
        port = free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        full_env = {**os.environ, "PORTAL_ACCESS_LOG": "/dev/null", "PORTAL_WORKERS": "1",
                    "PORTAL_SECRET_KEY": "fault-tests-secret-key-of-at-least-32-bytes", **env}
        gunicorn = Path(sys.executable).with_name("gunicorn")
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [str(gunicorn), "--config", "gunicorn.conf.py", "--no-control-socket", "--bind", f"127.0.0.1:{port}",
                 app], cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)
        server = Gunicorn(f"http://127.0.0.1:{port}", process, log)
        started.append(server)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(server.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return server
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + log.read_text())
            time.sleep(0.2)

    yield start
    for server in started:
        server.process.terminate()
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(5)
