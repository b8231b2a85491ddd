"""Fixtures for the organizer pages: the five kinds of visitor and a logged-in client."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import csrf_token_from


@dataclass
class Staff:
    owner: object
    other: object
    admin: object
    speaker: object


@pytest.fixture
def staff(make) -> Staff:
    return Staff(
        owner=make.user(role="organizer", display_name="Olga Owner"),
        other=make.user(role="organizer", display_name="Oscar Other"),
        admin=make.user(role="admin", display_name="Ada Admin"),
        speaker=make.user(role="speaker", display_name="Sam Speaker"),
    )


class Session:
    """A test client logged in as someone, with the CSRF token of its session."""

    def __init__(self, client, auth) -> None:
        self.client = client
        self.auth = auth
        self.token = ""

    def login(self, user) -> Session:
        if user is not None:
            response = self.auth.login(user.email)
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
        self.token = csrf_token_from(self.client.get("/login" if user is None else "/").get_data(as_text=True))
        return self

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict | None = None, *, htmx: bool = False, target: str | None = None, **kw):
        headers = kw.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
            if target:
                headers["HX-Target"] = target
        payload = {"csrf_token": self.token, **(data or {})}
        return self.client.post(url, data=payload, headers=headers, **kw)


@pytest.fixture
def as_user(app):
    """as_user(user) -> a Session (its own client) logged in as `user` (None: anonymous)."""
    from tests.conftest import Auth, FreshGClient

    app.test_client_class = FreshGClient

    def login(user) -> Session:
        client = app.test_client()
        return Session(client, Auth(client)).login(user)

    return login
