"""The frames the peers broadcast: the portal's own CTA frames, captured by the bench in the same run."""
from __future__ import annotations

import json
import os


def load() -> list[str]:
    """The CTA texts (show, hide) the bench wrote to BENCH_PEER_FRAMES; a same-sized stand-in if none."""
    path = os.environ.get("BENCH_PEER_FRAMES", "")
    if path and os.path.exists(path):
        texts = json.loads(open(path, encoding="utf-8").read())
        if texts:
            return texts
    return ['<div id="room-cta" hx-swap-oob="true">' + "x" * 1000 + "</div>"]


def log_line(path: str, mode: str, n: int, loop_us: float) -> None:
    """One line per broadcast, the format bench/fanout.py parses for the portal's hub."""
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"fanout peer mode={mode} n={n} loop_us={loop_us:.1f}\n")
