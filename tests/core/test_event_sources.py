"""Each event name is emitted from exactly one place in the code (SPEC §6, STYLE habit 5)."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from portal.core.events import EVENTS

PACKAGE = Path(__file__).resolve().parents[2] / "portal"


def _emit_sites() -> dict[str, list[str]]:
    sites: dict[str, list[str]] = defaultdict(list)
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name != "emit" or not node.args:
                continue
            first = node.args[0]
            assert isinstance(first, ast.Constant), f"{path}:{node.lineno}: emit() needs a literal event name"
            sites[first.value].append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return sites


def test_every_event_has_exactly_one_emitter():
    sites = _emit_sites()
    assert set(sites) == EVENTS, f"unknown or never emitted: {set(sites) ^ EVENTS}"
    several = {name: where for name, where in sites.items() if len(where) != 1}
    assert several == {}, f"events emitted from more than one place: {several}"
