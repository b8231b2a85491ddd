"""The browser that registered keeps its join token in a signed, HttpOnly cookie per webinar.

That cookie is what lets /w/<slug> offer "enter the room", the confirmation page show the
link after the redirect (the token never travels in a query string), and the .ics download
be authorised. Nobody else is ever shown a join link.

The browser also holds a random id of its own (cookie `wbrowser`, HttpOnly, /w/ only),
given by the registration page. `token_seed()` turns it into a secret (HMAC with the app's
key) from which the join token of a registration this browser makes is derived, so a second
submit from the same browser (a double click, an answer lost on the way) finds the same token
and is shown the link instead of "already registered". Another browser has another seed.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Response, current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_PREFIX = "wreg_"
BROWSER_COOKIE = "wbrowser"
COOKIE_PATH = "/w/"  # only the registration pages need it
MAX_AGE = 180 * 24 * 3600
_SALT = "portal.registration.remember"
_MADE = "portal.registration.browser_id"


def _serializer() -> URLSafeSerializer:
    """One serializer per app and key (building one derives a key: not per request)."""
    cached = current_app.extensions.get(_SALT)
    if cached is None or cached[0] != current_app.secret_key:
        cached = (current_app.secret_key, URLSafeSerializer(current_app.secret_key, salt=_SALT))
        current_app.extensions[_SALT] = cached
    return cached[1]


def cookie_name(webinar_id: int) -> str:
    return f"{COOKIE_PREFIX}{webinar_id}"


def remember(response: Response, *, webinar_id: int, token: str) -> None:
    """Attach the cookie holding `token` for this webinar to `response`."""
    value = _serializer().dumps({"w": webinar_id, "t": token})
    response.set_cookie(
        cookie_name(webinar_id),
        value,
        max_age=MAX_AGE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def recall(webinar_id: int) -> str | None:
    """The token this browser holds for the webinar, if its cookie is present and genuine."""
    raw = request.cookies.get(cookie_name(webinar_id))
    if not raw or len(raw) > 512:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("w") != webinar_id or not isinstance(data.get("t"), str):
        return None
    return data["t"]


def browser_id(response: Response | None = None) -> str:
    """This browser's random id (made now, and set on `response`, when it has none)."""
    current = request.cookies.get(BROWSER_COOKIE, "")
    if 16 <= len(current) <= 64 and current.replace("-", "").replace("_", "").isalnum():
        return current
    made = request.environ.get(_MADE)  # one per request, made at most once
    if made is None:
        made = request.environ[_MADE] = secrets.token_urlsafe(18)
    if response is not None:
        response.set_cookie(BROWSER_COOKIE, made, max_age=MAX_AGE, path=COOKIE_PATH, httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return made


def token_seed() -> bytes:
    """The secret this browser's join tokens are derived from (see the module docstring)."""
    key = current_app.secret_key
    key_bytes = key.encode("utf-8") if isinstance(key, str) else bytes(key or b"")
    return hmac.new(key_bytes, f"{_SALT}.browser:{browser_id()}".encode(), hashlib.sha256).digest()
