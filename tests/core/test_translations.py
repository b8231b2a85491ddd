"""The Russian catalogue is complete and current, and refusals are built as msgids.

`make translations` extracts, updates and compiles; these tests fail when a msgid lacks a
Russian text, a translation is fuzzy or loses a placeholder, the compiled catalogue is stale,
or the source holds a string the catalogue has not seen (extraction not re-run).
"""
from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "portal/translations/ru/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")
REFUSALS = {"PortalError", "Forbidden", "NotFound", "Conflict", "Invalid", "RateLimited"}


def _msgid(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _texts(message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (tuple, list)) else (message.string,)


@lru_cache(maxsize=1)
def _catalogue():
    with PO.open("rb") as f:
        return read_po(f)


def _keywords() -> dict:
    """The extraction keywords of `make translations` (parsed from the Makefile recipe)."""
    recipe = next(line for line in (ROOT / "Makefile").read_text().splitlines() if "pybabel extract" in line)
    names = re.findall(r"-k\s+([\w:]+)", recipe)
    for group in re.findall(r"\$\(foreach e,([^,]+),-k \$\(e\)\)", recipe):
        names += group.split()
    keywords = dict(DEFAULT_KEYWORDS)
    for name in names:
        func, _, spec = name.partition(":")
        keywords[func] = tuple(int(i) for i in spec.split(",")) if spec else None
    return keywords


def test_every_msgid_has_a_russian_translation():
    missing = [_msgid(m) for m in _catalogue() if m.id and not all(t.strip() for t in _texts(m))]
    fuzzy = [_msgid(m) for m in _catalogue() if m.id and m.fuzzy]
    assert missing == [], f"{len(missing)} msgids without a Russian text: {missing}"
    assert fuzzy == [], f"{len(fuzzy)} fuzzy (unchecked) translations: {fuzzy}"


def test_translations_keep_their_placeholders():
    wrong = []
    for message in _catalogue():
        if not message.id:
            continue
        wanted = set(PLACEHOLDER.findall(_msgid(message)))
        if any(set(PLACEHOLDER.findall(text)) != wanted for text in _texts(message) if text):
            wrong.append(_msgid(message))
    assert wrong == []


def test_compiled_catalogue_matches_the_po_file():
    with MO.open("rb") as f:
        compiled = {_msgid(m): _texts(m) for m in read_mo(f) if m.id}
    source = {_msgid(m): _texts(m) for m in _catalogue() if m.id}
    assert compiled == source, "run `make translations` (the .mo is stale)"


def test_catalogue_holds_every_string_of_the_source():
    """A msgid in the code or templates that the catalogue lacks would show in English."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=_keywords(), strip_comment_tags=True)
    }
    known = {_msgid(m) for m in _catalogue() if m.id}
    assert sorted(extracted - known) == [], "run `make translations` and translate the new msgids"


def _eager_refusals() -> list[tuple[str, int, str]]:
    """Refusals whose message is translated or formatted when raised instead of when shown."""
    found = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in REFUSALS):
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.JoinedStr) or (
                    isinstance(first, ast.BinOp) and isinstance(first.op, ast.Mod)):
                found.append((str(path.relative_to(ROOT)), node.lineno, ast.unparse(first)))
            elif isinstance(first, ast.Call):
                inner = first
                if isinstance(inner.func, ast.Name) and inner.func.id == "str" and inner.args:
                    inner = inner.args[0]
                name = getattr(getattr(inner, "func", None), "id", "")
                if name != "N_":
                    text = inner.args[0].value if getattr(inner, "args", None) and isinstance(
                        inner.args[0], ast.Constant) else ast.unparse(first)
                    found.append((str(path.relative_to(ROOT)), node.lineno, text))
    return found


def test_refusals_are_msgids_translated_when_shown():
    """One refusal style: `Conflict("English msgid %(name)s", name=value)`, never `_()` at raise."""
    assert _eager_refusals() == []
