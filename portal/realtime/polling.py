"""Polling fallback: the catch-up snapshot with an ETag, and a 304 decided without the database.

The ETag names the scope (the domain's id: a webinar), the channel version the snapshot was
read at, and a MAC that binds both to the caller (join token or staff user). A 304 therefore
needs only the MAC and one version lookup (a dict, or one Redis MGET); while Redis does not
answer, every poll is served from the database. A banned or revoked token can still be told
"nothing changed", never given fresh state: every publish (a ban's disconnect included)
moves the version, and a moved version goes through the database, which refuses it.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from functools import lru_cache

from flask import Response, current_app, make_response

from portal.realtime.runtime import current_hub

_ETAG = re.compile(r'^(?:W/)?"([rc])(\d{1,12})-([0-9a-f]{1,32}\.\d{1,19})-([0-9a-f]{16})"$')
CACHE_CONTROL = "no-cache, private"


@lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    """The ETag MAC's own key, derived from the app's secret (BLAKE2 keys are at most 64 bytes)."""
    return hashlib.blake2b(secret.encode("utf-8"), digest_size=32, person=b"portal-etag-key").digest()


def _mac(kind: str, subject: str, scope_id: int) -> str:
    # Keyed BLAKE2b is a MAC by design and is computed in-process: an OpenSSL HMAC-SHA256 spent
    # more on fetching its algorithm than on hashing, on every poll (issue 14, the 304 path).
    message = f"realtime-state|{kind}|{subject}|{scope_id}".encode()
    return hashlib.blake2b(message, key=_key(str(current_app.config["SECRET_KEY"])), digest_size=8).hexdigest()


def etag(kind: str, subject: str, scope_id: int, version: str) -> str:
    return f'"{kind}{scope_id}-{version}-{_mac(kind, subject, scope_id)}"'


def not_modified(kind: str, subject: str, if_none_match: str | None,
                 channel_of: Callable[[int], str]) -> Response | None:
    """A 304 when the caller's ETag is theirs and its channel has not published since; else None."""
    if not if_none_match:
        return None
    match = _ETAG.match(if_none_match.strip())
    if match is None or match.group(1) != kind:
        return None
    scope_id, version, mac = int(match.group(2)), match.group(3), match.group(4)
    if not hmac.compare_digest(mac, _mac(kind, subject, scope_id)):
        return None
    if current_hub().version(channel_of(scope_id)) != version:  # None (broker down): ask the database
        return None
    return Response(status=304, headers=(("ETag", if_none_match.strip()), ("Cache-Control", CACHE_CONTROL)))


def state(kind: str, subject: str, scope_id: int, *, channel: str, render: Callable[[], str]) -> Response:
    """The domain's snapshot with the ETag of the channel version read before it (never newer).

    Without a version (the broker does not answer) the snapshot goes out without an ETag: the
    next poll reads the database again, until the broker is back."""
    version = current_hub().version(channel)
    response = make_response(render())
    if version is not None:
        response.headers["ETag"] = etag(kind, subject, scope_id, version)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
