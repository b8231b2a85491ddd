"""examples/obs_control.py drives a webinar over real HTTP as an OBS / Stream Deck user would."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from portal import ROOT
from portal.extensions import db
from tests.api.conftest import issue

SCRIPT = Path(ROOT) / "examples" / "obs_control.py"


def test_start_cta_stop_and_a_refused_start(app, make, live_server):
    speaker = make.user(role="speaker")
    webinar = make.webinar(status="scheduled", speakers=(speaker,))
    token = issue(speaker, scopes="read,control")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(SCRIPT), str(webinar.webinar_id), *args, "--url", live_server.url],
                              env={"PORTAL_TOKEN": token}, capture_output=True, text=True, timeout=60)

    assert "scheduled -> live (changed)" in run("start").stdout
    assert "live -> live (unchanged)" in run("start").stdout
    assert "hidden -> visible (changed)" in run("cta-show").stdout
    assert "live, CTA visible" in run("status").stdout
    assert "-> finished (changed)" in run("stop").stdout
    refused = run("start")
    assert refused.returncode == 1 and refused.stderr.startswith("409: ")
    db.session.refresh(webinar)
    assert (webinar.status, webinar.cta_visibility) == ("finished", "visible")
    bad = subprocess.run([sys.executable, str(SCRIPT), str(webinar.webinar_id), "status", "--url", live_server.url],
                         env={"PORTAL_TOKEN": "wpt_wrong"}, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stderr.startswith("401: ")
