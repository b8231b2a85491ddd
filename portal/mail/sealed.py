"""Join tokens in the mail ledger are kept sealed, never in plaintext (issue 10 gap c).

A mail that carries the personal link (confirmation, link recovery, reminders, "we are live",
rescheduled) must put the registration's current token in the message, and the registration
table keeps only its hash. The ledger therefore keeps the token sealed with a key derived
from the app's secret key (which lives outside the database: PORTAL_SECRET_KEY or the
owner-only file in instance/): a copy of the database alone reveals no working link.

Sealing: a 16-byte random nonce, the token XORed with SHAKE-256(key ‖ nonce) as key stream,
and an HMAC-SHA256 tag over nonce ‖ ciphertext (encrypt-then-MAC; standard library only:
the portal has no cipher library). A sealed value that does not verify (another secret key:
the key was rotated) opens to None, and the mail links to "Email me my link" instead.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from flask import current_app

PREFIX = "s1."
_NONCE, _TAG = 16, 16


def _key() -> bytes:
    secret = current_app.secret_key
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret or b"")
    return hmac.new(raw, b"portal.mail.sealed.v1", hashlib.sha256).digest()


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    return hashlib.shake_256(key + nonce).digest(length)


def seal(token: str) -> str:
    """The token sealed for storage (text, ~1.8x its length)."""
    key, nonce, data = _key(), os.urandom(_NONCE), token.encode("utf-8")
    body = nonce + bytes(a ^ b for a, b in zip(data, _stream(key, nonce, len(data)), strict=True))
    tag = hmac.new(key, body, hashlib.sha256).digest()[:_TAG]
    return PREFIX + base64.urlsafe_b64encode(body + tag).decode("ascii")


def unseal(value: str | None) -> str | None:
    """The token, or None when `value` is missing, malformed or sealed under another key."""
    if not value or not value.startswith(PREFIX):
        return None
    try:
        blob = base64.urlsafe_b64decode(value[len(PREFIX):].encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    if len(blob) <= _NONCE + _TAG:
        return None
    key, body, tag = _key(), blob[:-_TAG], blob[-_TAG:]
    if not hmac.compare_digest(tag, hmac.new(key, body, hashlib.sha256).digest()[:_TAG]):
        return None
    nonce, data = body[:_NONCE], body[_NONCE:]
    plain = bytes(a ^ b for a, b in zip(data, _stream(key, nonce, len(data)), strict=True))
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        return None
