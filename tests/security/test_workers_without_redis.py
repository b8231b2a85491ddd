"""Issue 9, point 13: several workers without Redis are refused at start, by gunicorn itself
(really started here) and by create_app for any other launcher. Kind covered: restarts (a
misconfigured start that must not half-run)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal import create_app
from portal.config import ConfigError, check_workers

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def run_gunicorn(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    environ.update({"PORTAL_SECRET_KEY": "k" * 48, "PORTAL_ACCESS_LOG": "/dev/null", **env})
    return subprocess.run(
        [str(GUNICORN), "--config", "gunicorn.conf.py", "--no-control-socket", "--bind", "127.0.0.1:0",
         *args, "wsgi:app"],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env,args", [
    ({"PORTAL_WORKERS": "2"}, ()),
    ({}, ("--workers", "3")),  # the count gunicorn really uses, even from its command line
])
def test_gunicorn_refuses_several_workers_without_redis(env, args):
    result = run_gunicorn(env, *args)
    assert result.returncode != 0
    assert "need PORTAL_REDIS_URL" in result.stderr
    assert "Set PORTAL_REDIS_URL=redis://... or PORTAL_WORKERS=1." in result.stderr
    assert "Booting worker" not in result.stderr  # refused before any worker started


def test_create_app_refuses_several_workers_without_redis(app_config):
    with pytest.raises(ConfigError, match="PORTAL_WORKERS=2 needs PORTAL_REDIS_URL"):
        create_app({**app_config, "WORKERS": 2, "REDIS_URL": ""})
    check_workers(2, "redis://127.0.0.1:6379/0")  # with Redis: accepted
    check_workers(1, "")


def test_environment_names_the_workers(app_config, monkeypatch):
    monkeypatch.setenv("PORTAL_WORKERS", "4")
    monkeypatch.delenv("PORTAL_REDIS_URL", raising=False)
    with pytest.raises(ConfigError, match="PORTAL_WORKERS=4"):
        create_app(app_config)
