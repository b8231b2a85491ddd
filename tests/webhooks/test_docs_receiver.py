"""The receiver in docs/INTEGRATIONS.md works as written: it verifies a delivery signed by the
portal and acknowledges a repeat of the same webhook-id without doing the work twice."""
from __future__ import annotations

import re
import time
from pathlib import Path

from portal.webhooks import signing

DOC = Path(__file__).resolve().parents[2] / "docs" / "INTEGRATIONS.md"


def _receiver_source() -> str:
    text = DOC.read_text()
    section = text[text.index("### A receiver that verifies and de-duplicates"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_documented_receiver_verifies_and_deduplicates(tmp_path, monkeypatch, capsys):
    source = _receiver_source()
    assert len(source.strip().splitlines()) <= 32
    secret = signing.new_secret()
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "receiver"}
    exec(compile(source, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    client = namespace["app"].test_client()
    body = b'{"event":"webinar_completed","event_id":"e-1","sequence":7,"data":{"type":"live"}}'
    headers = signing.headers([secret], "e-1", int(time.time()), body)

    assert client.post("/hook", data=body, headers=headers).status_code == 204
    assert client.post("/hook", data=body, headers=headers).status_code == 204  # a repeat
    assert capsys.readouterr().out.count("7 webinar_completed") == 1  # the work was done once
    forged = signing.headers([signing.new_secret()], "e-2", int(time.time()), body)
    assert client.post("/hook", data=body, headers=forged).status_code == 400
    namespace["db"].close()
