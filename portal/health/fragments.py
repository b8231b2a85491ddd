"""The console's health panel (`console-health`): counts and percentages, server-rendered."""
from __future__ import annotations

from collections import Counter
from typing import Any

from flask import render_template


def context(counts: Counter[str]) -> dict[str, Any]:
    """Counts plus the CTA percentages (of the attendees counted)."""
    total = counts["total"]

    def percent(n: int) -> int:
        return round(100 * n / total) if total else 0

    # A plain dict: Counter has a total() method that Jinja would find before the "total" key.
    return {"counts": dict(counts), "seen_percent": percent(counts["cta_seen"]),
            "clicked_percent": percent(counts["cta_clicked"])}


def panel(counts: Counter[str], *, oob: bool = False, lang: str | None = None) -> str:
    return render_template("health/_panel.html", health=context(counts), oob=oob, lang=lang)
