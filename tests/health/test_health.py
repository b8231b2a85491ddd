"""The health panel: reports over the socket and the polling request, counted per worker,
summed across workers, pushed to the console at most once a second; bad reports refused."""
from __future__ import annotations

import json
import re
import time

import pytest
from sqlalchemy import event

from portal import health
from portal.db_types import utcnow
from portal.errors import Invalid
from portal.extensions import db
from portal.health import board as health_board
from portal.health import push
from portal.realtime.pool import LocalPool
from portal.room.channels import console_channel, room_channel
from tests.room.conftest import register, room_socket

PAUSED = {"type": "player", "state": "paused", "autoplay_blocked": False, "cta_seen": True, "cta_clicked": False}


@pytest.fixture
def live(make):
    return make.webinar(status="live")


def counts_in(html: str, lang: str = "en") -> dict[str, int]:
    variant = html.split(f'data-lang="{lang}"', 1)[1].split("</section>", 1)[0]
    found = re.findall(r'data-health="(\w+)"[^>]*><span>[^<]*</span> <strong>(\d+)</strong>', variant)
    return {name: int(n) for name, n in found}


def report(reg, payload, connection_id="conn"):
    health.on_player(room_socket(reg, connection_id), payload)


def test_a_paused_player_reaches_the_console_once(app, live, pushes):
    a, b = register(live), register(live)
    report(a.reg, PAUSED)
    report(b.reg, {**PAUSED, "state": "playing", "cta_seen": False}, "conn-b")
    push.tick(app)
    [panel] = pushes.to(console_channel(live.webinar_id))
    counts = counts_in(panel)
    assert counts["paused"] == 1 and counts["playing"] == 1 and counts["socket"] == 2 and counts["polling"] == 0
    assert counts["cta_seen"] == 1 and "(50%)" in panel
    assert 'data-testid="console-health"' in panel and 'hx-swap-oob="true"' in panel
    assert not pushes.to(room_channel(live.webinar_id))  # nothing per attendee to attendees

    report(a.reg, PAUSED)  # the same state again: no new frame
    push.tick(app)
    assert len(pushes.to(console_channel(live.webinar_id))) == 1


def test_many_reports_make_one_console_frame_per_tick(app, live, pushes):
    attendees = [register(live) for _ in range(40)]
    states = health_board.STATES
    for i, a in enumerate(attendees):
        report(a.reg, {"state": states[i % 4]}, f"c{i}")
    push.tick(app)
    for i, a in enumerate(attendees):  # everyone changes state within the same second
        report(a.reg, {"state": "stalled"}, f"c{i}")
    push.tick(app)
    frames = pushes.to(console_channel(live.webinar_id))
    assert len(frames) == 1 and 'data-total="40"' in frames[0]
    time.sleep(1.05)
    push.tick(app)
    frames = pushes.to(console_channel(live.webinar_id))
    assert len(frames) == 2 and counts_in(frames[1])["stalled"] == 40


@pytest.mark.parametrize("payload", [
    {"state": "dancing"},
    {"state": "playing", "lead_id": 7},
    {"state": "playing", "cta_seen": "yes"},
    {"state": "playing", "autoplay_blocked": 1},
    {"cta_seen": True},
    ["playing"],
])
def test_bad_reports_are_refused_and_nothing_kept(app, live, pushes, payload):
    a = register(live)
    with pytest.raises(Invalid, match="not valid"):
        health.on_player(room_socket(a.reg), payload)
    push.tick(app)
    assert push.state(app).board.webinars() == [] and pushes.sent == []


def test_reports_of_banned_or_revoked_attendees_are_dropped(app, live, pushes):
    a, b = register(live), register(live)
    a.reg.banned_at = utcnow()
    b.reg.revoked_at = utcnow()
    db.session.commit()
    report(a.reg, PAUSED)
    report(b.reg, PAUSED, "conn-b")
    push.tick(app)
    assert push.state(app).board.webinars() == [] and pushes.sent == []


def test_a_polling_page_reports_in_its_poll(app, client, live):
    a = register(live)
    response = client.get(f"{a.url}/state", headers={"X-Player-Report": json.dumps(PAUSED), "HX-Request": "true"})
    assert response.status_code == 200
    assert push.state(app).board.webinars() == []  # noted by token; the ticker resolves it
    push.resolve_polled(app)
    counts = push.state(app).board.summary(live.webinar_id)
    assert counts["polling"] == 1 and counts["paused"] == 1 and counts["socket"] == 0


@pytest.mark.parametrize("header", [
    "not json", json.dumps({"state": "rewinding"}), json.dumps({**PAUSED, "x": "y" * 300}), "{" * 5000,
])
def test_bad_poll_reports_are_not_kept_and_the_poll_still_answers(app, client, live, header):
    a = register(live)
    response = client.get(f"{a.url}/state", headers={"X-Player-Report": header, "HX-Request": "true"})
    assert response.status_code == 200
    push.resolve_polled(app)
    assert push.state(app).board.webinars() == []


def test_a_revoked_link_polling_reports_nothing(app, client, live):
    a = register(live)
    a.reg.revoked_at = utcnow()
    db.session.commit()
    response = client.get(f"{a.url}/state", headers={"X-Player-Report": json.dumps(PAUSED), "HX-Request": "true"})
    assert response.status_code == 404
    push.resolve_polled(app)
    assert push.state(app).board.webinars() == []


def test_polled_reports_of_many_pages_are_resolved_in_one_query_and_only_open_links_count(app, client, live):
    """The ticker resolves a second's polled reports with one query; a link revoked after its
    poll, and a token that opens nothing, are not counted."""
    pages = [register(live) for _ in range(3)]
    for page in pages:
        client.get(f"{page.url}/state", headers={"X-Player-Report": json.dumps(PAUSED), "HX-Request": "true"})
    client.get("/room/not-a-token/state", headers={"X-Player-Report": json.dumps(PAUSED), "HX-Request": "true"})
    pages[0].reg.revoked_at = utcnow()
    db.session.commit()
    seen = _statements_of(lambda: push.resolve_polled(app))
    assert len(seen) == 1
    counts = push.state(app).board.summary(live.webinar_id)
    assert counts["polling"] == 2 and counts["paused"] == 2


def test_silent_pages_stop_counting(app, live):
    board = health_board.Board()
    board.note(live.webinar_id, 1, health_board.Report("playing"), via="socket", at=time.time() - 20)
    board.note(live.webinar_id, 2, health_board.Report("paused"), via="polling")
    counts = board.summary(live.webinar_id)
    assert counts["total"] == 1 and counts["paused"] == 1 and counts["playing"] == 0


def test_workers_counts_are_summed_and_stale_workers_ignored(app, live, monkeypatch):
    pool = LocalPool()
    monkeypatch.setitem(app.extensions, "portal.realtime.pool", pool)
    fields = health_board.FIELDS
    now = time.time()

    def worker(name, at, **counts):
        snapshot = {"counts": [counts.get(f, 0) for f in fields], "at": at}
        pool.put(f"health:{live.webinar_id}", name, json.dumps(snapshot))

    worker("a", now, total=3, socket=3, playing=2, paused=1)
    worker("b", now - 1, total=2, polling=2, buffering=2, cta_seen=1)
    worker("dead", now - 60, total=9, socket=9, playing=9)
    worker("garbled", now, total="x")
    total = push.summed(live.webinar_id, now=now)
    assert (total["total"], total["socket"], total["polling"], total["playing"], total["paused"]) == (5, 3, 2, 2, 1)


def test_the_console_page_and_its_catch_up_show_the_panel(app, client, auth, live):
    a = register(live)
    report(a.reg, PAUSED)
    push.tick(app)
    auth.login(live.owner.email)
    page = client.get(f"/console/{live.webinar_id}").get_data(as_text=True)
    assert counts_in('data-lang="en"' + page.split('data-testid="console-health"', 1)[1])["paused"] == 1
    state = client.get(f"/console/{live.webinar_id}/state", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="console-health"' in state and 'id="console-reactions"' in state


def test_a_report_text_is_parsed_once_and_a_bad_one_is_refused_every_time():
    """Pages send the same few reports in every poll: the parse is cached by the text. A
    refusal is not cached, so a bad text is refused again, and never turns into a report."""
    text = json.dumps(PAUSED)
    assert health_board.parse_text(text) is health_board.parse_text(text)
    for _ in range(2):
        with pytest.raises(Invalid):
            health_board.parse_text(json.dumps({"state": "rewinding"}))


def test_polled_tokens_are_looked_up_in_chunks_and_a_flood_of_tokens_is_capped(app, client, live, monkeypatch):
    from portal.registration import tokens

    monkeypatch.setattr(tokens, "LOOKUP_CHUNK", 2)
    monkeypatch.setattr(health_board, "MAX_POLLED", 3)
    pages = [register(live) for _ in range(3)]
    for page in pages:
        client.get(f"{page.url}/state", headers={"X-Player-Report": json.dumps(PAUSED), "HX-Request": "true"})
    client.get("/room/made-up-token/state", headers={"X-Player-Report": json.dumps(PAUSED), "HX-Request": "true"})
    seen = _statements_of(lambda: push.resolve_polled(app))
    assert len(seen) == 2  # three tokens kept (the fourth was past the cap), two per query
    assert push.state(app).board.summary(live.webinar_id)["polling"] == 3


def _statements_of(run) -> list[str]:  # noqa: ANN001 - a callable
    """The SQL statements run() ran."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001, ARG001 - SQLAlchemy's event signature
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen
