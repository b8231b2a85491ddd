"""Fixtures for the JSON API: tokens issued through Core, and a client that sends them."""
from __future__ import annotations

import pytest

from portal.core import tokens
from portal.core.permissions import SYSTEM
from portal.extensions import db


def issue(user, scopes: str = "read,control,webhooks", name: str = "test") -> str:
    """A real token for `user` (the secret), as the create-token command issues it."""
    _, secret = tokens.issue(user, name=name, scopes=scopes, actor=SYSTEM)
    db.session.commit()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def api(client):
    """api(method, path, token, **kw): a request with the bearer token, no cookies kept."""

    def call(method: str, path: str, token: str | None = None, **kwargs):
        headers = {**(bearer(token) if token else {}), **kwargs.pop("headers", {})}
        return client.open(path, method=method, headers=headers, **kwargs)

    return call
