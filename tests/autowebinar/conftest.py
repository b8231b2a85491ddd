"""AutoWebinar fixtures: an auto webinar, attendees registered through the real service, a
fake clock for the runtime, raw user_meta and outbox readers, and a commit counter."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from sqlalchemy import event, select

from portal.attendance.models import Attendance
from portal.autowebinar import schedule
from portal.core.models import OutboxEvent, UserMeta, Webinar
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration import service
from portal.registration.models import Registration
from tests.conftest import csrf_token_from


@pytest.fixture(autouse=True)
def _no_background_flusher(app_config: dict) -> Iterator[None]:
    """Tests flush explicitly (heartbeats.flush()); one test starts the thread itself (the app
    fixture's `shutdown(app)` stops it)."""
    app_config["AUTOWEBINAR_FLUSH_INTERVAL"] = 0
    app_config["ROOM_ATTENDANCE_PUSH_INTERVAL"] = 0  # count pushes inline: no timer outlives a test
    yield


def _fresh_g(sender: Flask, **extra: object) -> None:
    g.pop("csrf_token", None)
    g.pop("_login_user", None)


@pytest.fixture(autouse=True)
def _request_scoped_g() -> Iterator[None]:
    """The app fixture keeps one app context per test, so requests would share flask.g (and
    Flask-WTF's cached CSRF token); give each request its own, as in production."""
    request_started.connect(_fresh_g)
    yield
    request_started.disconnect(_fresh_g)


class Clock:
    """A settable UTC clock for every `utcnow` the runtime reads."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(utcnow().replace(microsecond=250_000))
    from portal.autowebinar import heartbeats as hb
    from portal.autowebinar import room, runtime, views

    for module in (hb, room, runtime, views):
        monkeypatch.setattr(module, "utcnow", fake)
    return fake


@pytest.fixture
def auto_webinar(make):
    def build(**fields) -> Webinar:
        fields.setdefault("status", "live")
        fields.setdefault("recording_duration_sec", 90)
        fields.setdefault("cta_at_sec", 30)
        return make.webinar(type="auto", **fields)

    return build


@dataclass
class Attendee:
    reg: Registration
    token: str
    client: FlaskClient
    csrf: str = ""

    @property
    def url(self) -> str:
        return f"/room/{self.token}/heartbeat"

    def beat(self, position, *, page_id: str = "page-0001", **extra):
        body = {"position": position, "page_id": page_id, "webinar_id": self.reg.webinar_id, **extra}
        return self.client.post(self.url, json=body, headers={"X-CSRFToken": self.csrf, "Accept": "application/json"})

    def beacon(self, position, *, page_id: str = "page-0001", **extra):
        """What navigator.sendBeacon sends on pagehide: a urlencoded form with the CSRF field."""
        form = {"position": str(position), "page_id": page_id, "leave": "1", "csrf_token": self.csrf, **extra}
        return self.client.post(self.url, data=form)


@pytest.fixture
def attendee(app, make):
    """attendee(webinar, start="now" | aware datetime): registered via the real service."""
    counter = iter(range(1, 10_000))

    def build(webinar: Webinar, *, start: str | datetime = "now", email: str | None = None) -> Attendee:
        if start == "now":
            starts_at = schedule.resolve_start(webinar, "now", now=utcnow())
        else:
            starts_at = start
        n = next(counter)
        email = email or f"viewer{n}-{webinar.webinar_id}@example.com"
        done = service.register(webinar, name=f"Viewer {n}", email=email, starts_at=starts_at)
        client = app.test_client()
        csrf = csrf_token_from(client.get("/").get_data(as_text=True))
        return Attendee(done.registration, done.token, client, csrf)

    return build


def raw_meta(lead_id: int) -> dict[str, str]:
    """Every user_meta row of a lead, exactly as stored."""
    db.session.expire_all()
    rows = db.session.execute(select(UserMeta.meta_key, UserMeta.meta_value).where(UserMeta.user_id == lead_id))
    return dict(rows.all())


def outbox(name: str | None = None, *, lead_id: int | None = None) -> list[OutboxEvent]:
    stmt = select(OutboxEvent).order_by(OutboxEvent.id)
    if name:
        stmt = stmt.where(OutboxEvent.event == name)
    if lead_id is not None:
        stmt = stmt.where(OutboxEvent.lead_id == lead_id)
    return list(db.session.scalars(stmt))


def attendance_rows(lead_id: int) -> list[Attendance]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(Attendance).where(Attendance.lead_id == lead_id).order_by(Attendance.attendance_id)))


@pytest.fixture
def commits(app) -> Iterator[list[str]]:
    """Database transactions that commit, counted by a SQLAlchemy engine listener."""
    seen: list[str] = []

    def on_commit(conn) -> None:  # noqa: ANN001
        seen.append("commit")

    event.listen(db.engine, "commit", on_commit)
    yield seen
    event.remove(db.engine, "commit", on_commit)
