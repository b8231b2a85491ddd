"""axe-core in the browser tests: every page and state a role reaches is checked at WCAG 2.2 AA.

axe-core comes from the npm registry, pinned in tests/a11y/package-lock.json and installed by
`make test` (`npm ci`); it is injected into the page under test only, never served by the app.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

AXE = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA (axe's tags for exactly those success criteria).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: `make test` installs it (npm ci --prefix tests/a11y)")
    return AXE.read_text(encoding="utf-8")


def violations(page: Any) -> list[dict]:
    """axe's WCAG 2.2 AA violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol, so the page's CSP (script-src 'self') applies
        # to the app's own scripts only; a <script> tag would be refused.
        page.evaluate(axe_source() + "\n;true")
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})).violations",
        WCAG_AA,
    )
    return list(result)


def describe(found: list[dict]) -> str:
    """One readable line per failing element: rule, impact, selector and axe's summary."""
    lines = []
    for v in found:
        for node in v["nodes"]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"{v['id']} ({v.get('impact')}): {json.dumps(node['target'])} {summary[:300]}")
    return "\n".join(lines)


class Audit:
    """Collects the pages and states checked; fails once at the end with every violation."""

    def __init__(self) -> None:
        self.checked: list[str] = []
        self.failures: dict[str, str] = {}

    def check(self, page: Any, label: str) -> None:
        page.wait_for_load_state("load")
        # A region that is fading in (the CTA) would be measured mid-way: let finite animations end.
        page.evaluate("() => Promise.race([new Promise(r => setTimeout(r, 3000)), Promise.all("
                      "document.getAnimations().filter(a => isFinite(a.effect?.getComputedTiming().endTime))"
                      ".map(a => a.finished.catch(() => null)))])")
        found = violations(page)
        self.checked.append(label)
        if found:
            self.failures[label] = describe(found)

    def assert_clean(self) -> None:
        report = "\n\n".join(f"[{label}]\n{text}" for label, text in self.failures.items())
        assert not self.failures, f"{len(self.failures)} of {len(self.checked)} pages fail WCAG 2.2 AA:\n{report}"
