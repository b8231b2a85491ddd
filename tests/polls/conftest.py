"""Poll fixtures: a live webinar with its speaker, attendees, pushes recorded, pushes inline."""
from __future__ import annotations

import pytest

from portal.polls import push
from tests.conftest import Auth, FreshGClient, csrf_token_from
from tests.room.conftest import app_config, pushes  # noqa: F401 - the room's fixtures


@pytest.fixture
def inline_results(app):
    """Results pushes at once (the coalescing interval is measured in bench/ and its own test)."""
    app.extensions[push.EXTENSION].interval = 0
    return app


def logged_in(app, user):
    app.test_client_class = FreshGClient
    client = app.test_client()
    assert Auth(client).login(user.email).status_code == 302
    return client


def hx_post(client, page: str, url: str, data=None):
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(url, data=data or {}, headers={"X-CSRFToken": token, "HX-Request": "true"})


@pytest.fixture
def cast(make):
    speaker = make.user(role="speaker")
    webinar = make.webinar(status="live", speakers=(speaker,))
    return {"speaker": speaker, "webinar": webinar}
