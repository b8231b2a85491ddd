"""Opaque, signed cursors for the API's lists: keyset pagination (the last key of a page), bound
to the list it came from, so a forged, altered or borrowed cursor is a clear 400, never a
different page."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from portal.errors import N_, PortalError

SALT = "portal.api.cursor"


class BadCursor(PortalError):
    status_code = 400
    code = "invalid_cursor"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make(scope: str, last_key: int) -> str:
    """The cursor after `last_key` in the list named `scope` (e.g. "registrations:12")."""
    return _serializer().dumps({"s": scope, "k": last_key})


def read(scope: str, cursor: str | None) -> int | None:
    """The last key the cursor stands for (None: the first page); BadCursor if it is not one
    this portal made for this list."""
    if cursor is None:
        return None
    try:
        payload = _serializer().loads(cursor)
    except BadSignature:
        payload = None
    if (not isinstance(payload, dict) or payload.get("s") != scope or type(payload.get("k")) is not int
            or payload["k"] < 0):
        raise BadCursor(N_("This cursor is not valid for this list. Start again without a cursor."))
    return payload["k"]
