"""URL slugs for webinars: generated from the title (Cyrillic transliterated), unique."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_LENGTH = 120
GENERATED_LENGTH = 80  # leaves room for a "-2" suffix and keeps links readable

# Russian passport-style romanisation (ICAO 9303), plus the Ukrainian and Belarusian letters.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
    "є": "ie", "і": "i", "ї": "i", "ґ": "g", "ў": "u",
}


def transliterate(text: str) -> str:
    """Latin letters for Cyrillic ones; other accents stripped (é -> e)."""
    out = "".join(_CYRILLIC.get(ch, ch) for ch in text.lower())
    return unicodedata.normalize("NFKD", out).encode("ascii", "ignore").decode("ascii")


def slugify(title: str, *, max_length: int = GENERATED_LENGTH) -> str:
    """A slug for `title`: lowercase ASCII words joined by dashes ("" when nothing is left)."""
    words = re.findall(r"[a-z0-9]+", transliterate(title))
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_length:
            break
        slug = candidate
    return slug or (words[0][:max_length] if words else "")


def is_valid(slug: str) -> bool:
    return len(slug) <= MAX_LENGTH and bool(SLUG_RE.match(slug))


def unique_slug(base: str, *, taken: Callable[[str], bool]) -> str:
    """`base`, or `base-2`, `base-3`... — the first one `taken` says is free."""
    base = base or "webinar"
    if not taken(base):
        return base
    n = 2
    while taken(f"{base}-{n}"):
        n += 1
    return f"{base}-{n}"
