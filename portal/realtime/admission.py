"""What a domain's admission returns for an accepted socket, and the same-origin check."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlsplit

from portal.errors import N_, Forbidden


@dataclass(frozen=True)
class Admission:
    """An accepted socket's identity, fixed at connect time (ids only: the socket outlives
    database sessions). The transport reads `channel` and `member`; `audience` and `ids` are
    the domain's, handed back to its handlers through the SocketContext."""

    channel: str
    audience: str
    member: int | None = None  # `disconnect(channel, member=...)` closes this socket
    ids: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


def origin_allowed(origin: str | None, *, host: str, base_url: str = "") -> bool:
    """Same-host check against cross-site socket hijacking: the page's origin must be this host."""
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    allowed = {host.lower()}
    if base_url:
        allowed.add(urlsplit(base_url).netloc.lower())
    return parts.netloc.lower() in allowed


def require_origin(origin: str | None, *, host: str, base_url: str = "") -> None:
    if not origin_allowed(origin, host=host, base_url=base_url):
        raise Forbidden(N_("This page may not open a live connection here."), details={"origin": origin or ""})
