"""Page numbers for long tables."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
PER_PAGE = 50
MAX_PAGE = 100_000


def page_number(raw: str | None) -> int:
    """A 1-based page number from the query string (garbage means page 1)."""
    try:
        return min(max(int(raw or 1), 1), MAX_PAGE)
    except ValueError:
        return 1


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return self.offset + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return self.offset + len(self.items)

    def window(self, *, size: int = 2) -> list[int | None]:
        """Page numbers to show around the current one; None marks a gap."""
        shown = sorted({1, self.pages, *range(max(1, self.number - size), min(self.pages, self.number + size) + 1)})
        out: list[int | None] = []
        for n in shown:
            if out and n - (out[-1] or 0) > 1:
                out.append(None)
            out.append(n)
        return out


def clamp(number: int, *, total: int, per_page: int) -> int:
    """`number` limited to the last existing page."""
    return min(number, max(1, -(-total // per_page)))
