"""The plain-text mail templates are not in babel.cfg's extraction (templates/**.html): every
msgid they use must be one the HTML templates already bring into the catalogue, translated."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_every_text_template_msgid_is_translated():
    with open(ROOT / "portal/translations/ru/LC_MESSAGES/messages.po", "rb") as f:
        catalogue = read_po(f)
    missing = []
    for template in sorted((ROOT / "templates/mail").glob("*.txt")):
        for _line, message, _comments, _context in extract_from_file(
                "jinja2", str(template), keywords={"_": None, "gettext": None, "ngettext": (1, 2)}):
            msgid = message if isinstance(message, str) else message[0]
            entry = catalogue.get(msgid)
            if entry is None or not entry.string or entry.fuzzy:
                missing.append(f"{template.name}: {msgid}")
    assert missing == []
