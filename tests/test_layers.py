"""Fitness test of the architecture (STYLE.md "Layers"): imports point down the layer order.

Every import of every module under portal/ is read from its syntax tree, function-level and
TYPE_CHECKING ones included, and checked against the order

    foundation → realtime
    core → registration → attendance → room → autowebinar → {console, admin, auth, public}

- foundation modules (portal/<name>.py: config, errors, extensions, signals, ...) import no
  domain; `realtime` is a transport that imports foundation only;
- a domain imports foundation, realtime and domains of a lower rank, never a higher or an
  equal one (so console and admin do not know each other). `autowebinar` sits just above
  `room` because it fills the room's per-type registry; the room never imports it;
- the wiring modules (portal/__init__.py, models.py, cli.py, security.py, templating.py) may
  import anything and no domain or foundation module imports them;
- no cycle between packages, whatever the ranks say.
The checker itself is tested on planted imports, so a broken checker cannot pass.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[1] / "portal"

FOUNDATION = frozenset({"background", "config", "csp", "db_types", "dbsession", "errors", "extensions", "htmx", "i18n",
                        "ratelimit", "signals", "timefmt"})
WIRING = frozenset({"__init__", "models", "cli", "security", "templating"})
TRANSPORT = "realtime"
RANK = {
    "core": 0,
    # The audit record (issue 9): beside core, imports foundation only; it hears the actions
    # through portal/signals.py, and registration and admin (above it) call it.
    "audit": 0,
    "registration": 1,
    "attendance": 2,
    # Mail (issue 10): hears core/registration through portal/signals.py (event_emitted) and
    # reads registrations; room, console and admin queue mail and show the log.
    "mail": 2.5,
    # Recordings and players (issue 12/13): the media a webinar plays (upload or link, duration
    # read from the file, HLS / YouTube / Vimeo); imports core only.
    "media": 2.7,
    "room": 3,
    # Interaction (issue 13): each hears the room's sockets through realtime handlers and pushes
    # on the room channel; none imports another.
    "qa": 3.3,
    "polls": 3.3,
    "reactions": 3.3,
    "health": 3.3,
    "autowebinar": 4,
    # Replay as it happened (issue 13): reads chat, Q&A, polls and CTA of a finished run.
    "replay": 4.5,
    "console": 5,
    "admin": 5,
    "auth": 5,
    "public": 5,
    # Outbound webhooks (issue 11): top level beside the organizer pages (its own /admin/webhooks
    # blueprint); imports core only. The JSON API above it manages endpoints through it.
    "webhooks": 5,
    # The JSON API (issue 11): the top layer; it calls core's hooks and tokens, reads
    # registrations and attendance, and manages endpoints through webhooks (never the reverse).
    "api": 6,
}


def unit_of(module: str) -> str:
    """The layer unit a dotted module belongs to: its domain package, or a top-level module."""
    parts = module.split(".")
    assert parts[0] == "portal", module
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def imports_of(source: str, module: str) -> Iterator[tuple[int, str]]:
    """(line, imported portal module) for every import in `source`, wherever it sits."""
    package = module if module.endswith(".__init__") else module.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "portal":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "portal":
                continue
            if target == "portal":  # `from portal import x`: each x is a unit of its own
                for alias in node.names:
                    yield node.lineno, f"portal.{alias.name}"
            else:
                yield node.lineno, target


def violation(importer: str, imported: str) -> str | None:
    """Why `importer` (a unit) may not import `imported` (a unit), or None when it may."""
    if importer == imported:
        return None
    if importer in WIRING:
        return None
    if imported in WIRING:
        return "wiring modules are imported by nobody"
    if importer in FOUNDATION:
        return None if imported in FOUNDATION else "foundation imports no domain"
    if importer == TRANSPORT:
        return None if imported in FOUNDATION else "realtime is a transport: it imports no domain"
    if imported in FOUNDATION or imported == TRANSPORT:
        return None
    if importer not in RANK or imported not in RANK:
        return f"unknown unit ({importer} -> {imported}): give it a place in tests/test_layers.py"
    if RANK[imported] >= RANK[importer]:
        return f"{importer} (rank {RANK[importer]}) may not import {imported} (rank {RANK[imported]})"
    return None


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PORTAL.rglob("*.py")):
        rel = path.relative_to(PORTAL.parent).with_suffix("")
        yield ".".join(rel.parts), path


def check(sources: dict[str, str]) -> tuple[list[str], dict[str, set[str]]]:
    """Violations ("module:line imports target: why") and the unit graph of `sources`."""
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for module, source in sources.items():
        importer = unit_of(module.removesuffix(".__init__") if module != "portal.__init__" else "portal")
        for line, target in imports_of(source, module):
            imported = unit_of(target)
            graph.setdefault(importer, set()).add(imported)
            why = violation(importer, imported)
            if why:
                problems.append(f"{module}:{line} imports {target}: {why}")
    return problems, graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one unit (Tarjan), i.e. package cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt == node:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _portal_sources() -> dict[str, str]:
    return {module: path.read_text(encoding="utf-8") for module, path in modules()}


def test_every_import_points_down_the_layers() -> None:
    problems, _ = check(_portal_sources())
    assert problems == []


def test_no_cycle_between_packages() -> None:
    _, graph = check(_portal_sources())
    # Wiring imports everything by design; leave it out of the cycle search.
    domain_graph = {k: {v for v in vs if v not in WIRING} for k, vs in graph.items() if k not in WIRING}
    assert cycles(domain_graph) == []


def test_every_package_has_a_rank() -> None:
    packages = {p.name for p in PORTAL.iterdir() if (p / "__init__.py").exists() and p.name != "translations"}
    assert packages - set(RANK) - {TRANSPORT} == set()


# --- the checker itself ---------------------------------------------------------------------

@pytest.mark.parametrize(("module", "source"), [
    ("portal.core.lifecycle", "def f():\n    from portal.room import fragments\n"),  # function-level, upward
    ("portal.realtime.hub", "from portal.registration.models import Registration\n"),  # transport knows a domain
    ("portal.registration.choices", "from portal.autowebinar import schedule\n"),
    ("portal.room.pages", "from portal import autowebinar\n"),
    ("portal.console.views", "import portal.admin.views\n"),  # siblings
    ("portal.signals", "from portal.core.models import Webinar\n"),
    ("portal.attendance.ledger", "from ..room import push\n"),  # relative
    ("portal.core.models", "if TYPE_CHECKING:\n    from portal.room.models import X\n"),  # typing only
    ("portal.admin.views", "from portal import cli\n"),
])
def test_the_checker_finds_a_planted_upward_import(module: str, source: str) -> None:
    problems, _ = check({module: source})
    assert len(problems) == 1, problems


@pytest.mark.parametrize(("module", "source"), [
    ("portal.room.views", "from portal.core import lifecycle\nfrom portal import realtime, signals\n"),
    ("portal.autowebinar.room", "from portal.room.kinds import RoomKind\nfrom portal.attendance import ledger\n"),
    ("portal.realtime.connection", "from portal.errors import PortalError\nfrom . import frames\n"),
    ("portal.__init__", "from portal import admin, room\n"),
])
def test_the_checker_lets_downward_imports_pass(module: str, source: str) -> None:
    assert check({module: source})[0] == []


def test_the_cycle_search_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
