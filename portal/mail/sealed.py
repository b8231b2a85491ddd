"""Join tokens in the mail ledger are kept sealed, never in plaintext (issue 10 gap c).

A mail that carries the personal link (confirmation, link recovery, reminders, "we are live",
rescheduled) must put the registration's current token in the message, and the registration
table keeps only its hash. The ledger therefore keeps the token sealed with a key derived
from the app's secret key (which lives outside the database: PORTAL_SECRET_KEY or the
owner-only file in instance/): a copy of the database alone reveals no working link.

Sealing is AES-256-GCM from `cryptography` (a well-kept library rather than a construction
of our own): a random 96-bit nonce per value, the purpose bound as associated data. A value
that does not open (another secret key: the key was rotated) opens to None, and the mail
links to "Email me my link" instead.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

PREFIX = "s2."
_NONCE = 12
_PURPOSE = b"portal.mail.sealed.join-token"


def _cipher() -> AESGCM:
    secret = current_app.secret_key
    return _cipher_of(secret.encode("utf-8") if isinstance(secret, str) else bytes(secret or b""))


@functools.lru_cache(maxsize=4)
def _cipher_of(raw: bytes) -> AESGCM:
    """Per secret key, derived once (every registration seals its token)."""
    # A key of its own for this purpose, derived from the secret key (HMAC-SHA256 as the KDF).
    return AESGCM(hmac.new(raw, b"portal.mail.sealed.v2", hashlib.sha256).digest())


def seal(token: str) -> str:
    """The token sealed for storage (text)."""
    nonce = os.urandom(_NONCE)
    sealed = _cipher().encrypt(nonce, token.encode("utf-8"), _PURPOSE)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(value: str | None) -> str | None:
    """The token, or None when `value` is missing, malformed or sealed under another key."""
    if not value or not value.startswith(PREFIX):
        return None
    try:
        blob = base64.urlsafe_b64decode(value[len(PREFIX):].encode("ascii"))
        return _cipher().decrypt(blob[:_NONCE], blob[_NONCE:], _PURPOSE).decode("utf-8")
    except (ValueError, UnicodeError, InvalidTag):
        return None
