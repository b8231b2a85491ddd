"""Standard Webhooks signing: `whsec_` secrets and `v1,` HMAC-SHA256 signatures.

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the key is the base64 part of
the secret after `whsec_`. With several active secrets (a rotation), `webhook-signature`
carries one `v1,<base64>` per secret, separated by spaces, so a receiver holding either the
old or the new secret verifies (https://www.standardwebhooks.com/, tests check it with the
`standardwebhooks` reference package).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets

PREFIX = "whsec_"
SECRET_BYTES = 24


def new_secret() -> str:
    """A fresh secret: `whsec_` + base64 of 24 random bytes."""
    return PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `id.timestamp.body` under one secret."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(active_secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in active_secrets),
    }
