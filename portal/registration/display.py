"""Absolute links for registration pages and calendar files (times: portal.timefmt)."""
from __future__ import annotations

from flask import current_app, request


def base_url() -> str:
    """The site's origin for absolute links: PORTAL_BASE_URL when set, else this request's."""
    return (current_app.config.get("BASE_URL") or request.host_url).rstrip("/")


def join_url(token: str) -> str:
    """The personal join link, /room/<token> (SPEC §8)."""
    return f"{base_url()}/room/{token}"


def site_host() -> str:
    """The host name used in calendar UIDs."""
    from urllib.parse import urlsplit

    return urlsplit(base_url()).hostname or "localhost"

