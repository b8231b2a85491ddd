"""Templates build same-site URLs with url_for, never as literal paths (STYLE habit 9)."""
from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

# Attributes that hold a URL: links, sources, forms, htmx requests and sockets, and the
# data-*-url / data-*-src attributes that scripts read.
URL_ATTRIBUTE = re.compile(
    r"""\s(href|src|action|formaction|poster|hx-(?:get|post|put|patch|delete)|ws-connect|sse-connect"""
    r"""|data-[\w-]*-(?:url|src|href))\s*=\s*(["'])(.*?)\2""",
    re.DOTALL,
)
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def literal_paths(html: str) -> list[tuple[int, str, str]]:
    """(line, attribute, value) for each URL attribute with a hand-written same-site path:
    one starting with "/" (not "//"), or a path glued onto an expression (`{{ x }}/state`)."""
    found = []
    for match in URL_ATTRIBUTE.finditer(html):
        name, value = match.group(1), match.group(3)
        text = JINJA.sub("\0", value).strip()
        literal_start = text.startswith("/") and not text.startswith("//")
        glued = re.search(r"\0/", text) is not None
        if literal_start or glued:
            found.append((html.count("\n", 0, match.start()) + 1, name, value))
    return found


def test_the_scanner_catches_literal_paths():
    assert literal_paths('<a href="/w/{{ w.slug }}">') != []
    assert literal_paths("""<form hx-post="/console/{{ id }}/start">""") != []
    assert literal_paths('<div data-state-url="{{ base }}/state">') != []
    assert literal_paths("""<a href="{{ url_for('registration.page', slug=w.slug) }}">""") == []
    assert literal_paths('<a href="https://example.com/x"> <a href="{{ link }}"> <a href="#top">') == []


def test_templates_use_url_for_for_same_site_urls():
    offenders = [
        f"{path.relative_to(TEMPLATES)}:{line}: {name}={value!r}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for line, name, value in literal_paths(path.read_text())
    ]
    assert offenders == []
