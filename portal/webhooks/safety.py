"""Where a webhook may go: no private, loopback or link-local targets in production.

In production (PORTAL_ENV=production) a URL whose host resolves to a private, loopback,
link-local, multicast, reserved or unspecified address is refused, unless
PORTAL_WEBHOOK_ALLOW_PRIVATE=1; development allows them (local receivers under `make run`).
The check runs when an endpoint is saved AND at every attempt; the attempt then connects to
the very address it checked (the Host header and TLS server name stay the URL's), so a DNS
answer that changes between the check and the connection (rebinding) cannot redirect it.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from portal.errors import Invalid

MAX_URL = 2000


@dataclass(frozen=True)
class Target:
    """A checked URL: the address to connect to and the URL rewritten to it."""

    url: str
    host: str
    address: str
    connect_url: str


def private_allowed() -> bool:
    config = current_app.config
    return bool(config.get("WEBHOOK_ALLOW_PRIVATE")) or config.get("ENV") != "production"


def check_syntax(url: str) -> None:
    """Refuse what is not an absolute http(s) URL with a host (no credentials in it)."""
    if not url or len(url) > MAX_URL:
        raise Invalid("The webhook URL must be an http:// or https:// address of at most %(n)s characters.",
                       n=MAX_URL)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("The webhook URL must be an http:// or https:// address of at most %(n)s characters.",
                       n=MAX_URL)
    if parts.username or parts.password:
        raise Invalid("The webhook URL must not carry a user name or password.")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as error:
        raise Invalid("The webhook URL has an invalid port.") from error


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified)


def resolve(url: str) -> Target:
    """Check `url` and pick the address to connect to (Invalid when refused)."""
    check_syntax(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise Invalid("The webhook host %(host)s does not resolve.", host=host) from error
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not private_allowed() and any(_forbidden(a) for a in addresses):
        raise Invalid("The webhook host %(host)s resolves to a private, loopback or link-local address; "
                          "these are refused in production (PORTAL_WEBHOOK_ALLOW_PRIVATE=1 allows them).",
                       host=host)
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{literal}:{port}"
    connect_url = parts._replace(netloc=netloc).geturl()
    return Target(url=url, host=parts.netloc.rsplit("@", 1)[-1], address=str(address), connect_url=connect_url)
