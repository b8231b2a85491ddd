"""Join tokens: 192-bit random, shown once, stored only as SHA-256, one webinar each."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.registration.models import Registration

TOKEN_BYTES = 24  # 192 bits
LOOKUP_CHUNK = 500  # tokens per query of find_registrations


def new_token() -> tuple[str, str]:
    """A fresh (token, hash) pair; only the hash is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token)


def derived_token(seed: bytes, webinar_id: int, slot_id: int | None, email: str) -> str:
    """The join token of `email`'s registration for (webinar, slot) made from a browser's
    secret seed (192 bits of HMAC-SHA256): the same browser submitting again derives it again,
    so it can be shown its link; without the seed it cannot be guessed."""
    digest = hmac.new(seed, f"join:{webinar_id}:{slot_id or 0}:{email}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode("ascii")


def rotate(reg: Registration) -> str:
    """Give `reg` a fresh join token (in the caller's transaction; not committed) and return
    it: the old one stops opening the room once this commits. Used by the organizer's
    re-issue and resend and by "Email me my link"."""
    token, token_hash = new_token()
    reg.join_token_hash = token_hash
    return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_registrations(tokens: Iterable[str]) -> dict[str, Registration]:
    """`find_registration` for many tokens, one query per LOOKUP_CHUNK of them (a database
    caps the parameters of one statement): token -> the registration it opens (tokens that
    open nothing are left out)."""
    by_hash = {hash_token(t): t for t in tokens if t and len(t) <= 64}
    hashes = list(by_hash)
    found: dict[str, Registration] = {}
    for start in range(0, len(hashes), LOOKUP_CHUNK):
        chunk = hashes[start:start + LOOKUP_CHUNK]
        for reg in db.session.scalars(select(Registration).where(Registration.join_token_hash.in_(chunk))
                                      .options(joinedload(Registration.webinar))):
            if reg.has_access:
                found[by_hash[reg.join_token_hash]] = reg
    return found


def find_registration(token: str) -> Registration | None:
    """The registration a join token opens, or None (unknown, malformed, revoked or banned).

    Callers answer None with the same 404 whatever the reason, so a token's existence leaks
    nothing.
    """
    return find_registrations((token,)).get(token)
