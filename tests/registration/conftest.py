"""Fixtures for registration tests: visitors (browsers with their own cookies) and row counts."""
from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.core.models import OutboxEvent, User
from portal.extensions import db
from portal.registration.models import Registration
from tests.conftest import csrf_token_from


def _fresh_g(sender: Flask, **extra: object) -> None:
    g.pop("csrf_token", None)
    g.pop("_login_user", None)


@pytest.fixture(autouse=True)
def _request_scoped_g() -> Iterator[None]:
    """The `app` fixture keeps one app context for a whole test, so every request shares
    flask.g, where Flask-WTF caches the CSRF token and Flask-Login the user; two browsers in
    one test would see each other's. In production each request has its own context."""
    request_started.connect(_fresh_g)
    yield
    request_started.disconnect(_fresh_g)


class Visitor:
    """One browser: its own cookie jar, and the CSRF token of the last page it opened."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = ""

    def open(self, path: str, **kwargs):
        response = self.client.get(path, **kwargs)
        if response.status_code == 200 and 'name="csrf_token"' in response.get_data(as_text=True):
            self.token = csrf_token_from(response.get_data(as_text=True))
        return response

    def register(self, slug: str, *, name: str = "Ann Lee", email: str = "ann@example.com", slot_id: str = "",
                 open_first: bool = True, **extra: str):
        if open_first or not self.token:
            self.open(f"/w/{slug}")
        data = {"name": name, "email": email, "slot_id": slot_id, "csrf_token": self.token, **extra}
        return self.client.post(f"/w/{slug}/register", data=data)


@pytest.fixture
def browser_factory(app: Flask) -> Callable[[], Visitor]:
    return lambda: Visitor(app.test_client())


@pytest.fixture
def visitor(browser_factory) -> Visitor:
    return browser_factory()


def row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {
        "registrations": db.session.scalar(select(func.count()).select_from(Registration)),
        "users": db.session.scalar(select(func.count()).select_from(User)),
        "events": db.session.scalar(select(func.count()).select_from(OutboxEvent)),
    }


def grew(before: dict[str, int]) -> dict[str, int]:
    """How many rows of each kind were added since `before`."""
    now = row_counts()
    return {key: now[key] - before[key] for key in now}


@pytest.fixture
def counts() -> Callable[[], dict[str, int]]:
    return row_counts


def registered_events() -> list[OutboxEvent]:
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.event == "client_webinar_registered")))
