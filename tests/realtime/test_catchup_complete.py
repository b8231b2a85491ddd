"""Issue 9, point 10: a page that reconnects after any gap gets every message since its last
one, in order (not the last 100), and on PostgreSQL a message that commits after a later id
is not skipped."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.db_types import utcnow
from portal.extensions import db
from portal.room import chat
from portal.room.models import ChatMessage
from tests import factories
from tests.conftest import scratch_postgres_database
from tests.realtime.conftest import app_on, make_registration

GAP = 250  # more than chat.HISTORY, and more than one catch-up chunk
OLD = chat.COMMIT_WINDOW * 2  # what a page saw long ago: no longer re-read on PostgreSQL


def _post(webinar, author, n: int, *, ago: timedelta = timedelta(0)) -> list[int]:
    """n messages, written `ago` (older than chat.COMMIT_WINDOW: outside PostgreSQL's re-read)."""
    ids = []
    for i in range(n):
        message = ChatMessage(webinar_id=webinar.webinar_id, author_id=author.user_id, message_body=f"m{i}",
                              moderation_status="visible", created_at=utcnow() - ago)
        db.session.add(message)
        db.session.flush()
        ids.append(message.message_id)
    db.session.commit()
    return ids


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li id="msg-(\d+)" data-message-id', html)]


@pytest.mark.parametrize("audience", ["room", "console"])
def test_a_snapshot_after_a_long_gap_has_every_message_in_order(app, make, audience):
    from portal.console import fragments as console_fragments
    from portal.room import fragments as room_fragments

    speaker = make.user(role="speaker")
    webinar = make.webinar(status="live", speakers=(speaker,))
    reg, _ = make_registration(webinar)
    author = factories.lead()
    seen = _post(webinar, author, 5, ago=OLD)
    missed = _post(webinar, author, GAP)
    with app.test_request_context("/"):
        if audience == "room":
            html = room_fragments.snapshot(reg, webinar, since_message_id=seen[-1])
        else:
            html = console_fragments.snapshot(speaker, webinar, since_message_id=seen[-1])
    assert _ids(html) == missed


def test_catch_up_reads_in_bounded_chunks(app, make):
    webinar = make.webinar(status="live")
    author = factories.lead()
    ids = _post(webinar, author, 5, ago=OLD) + _post(webinar, author, 40)
    chunks = list(chat.messages_after(webinar.webinar_id, viewer_lead_id=None, after_id=ids[4], chunk=10))
    assert [len(c) for c in chunks] == [10, 10, 10, 10]
    assert [m.message_id for c in chunks for m in c] == ids[5:]


@pytest.fixture
def pg_app(postgres_url: str) -> Iterator[Flask]:
    """The portal on a scratch PostgreSQL database of its own."""
    with scratch_postgres_database(postgres_url, "portal_catchup") as url, app_on(url) as app:
        yield app


@pytest.mark.postgres
def test_on_postgresql_a_message_committed_after_a_later_id_is_not_skipped(pg_app):
    webinar = factories.webinar(status="live")
    author = factories.lead()
    viewer = factories.lead()
    _post(webinar, author, 2)

    def catch_up(after_id: int) -> list[int]:
        db.session.rollback()  # a new transaction: what is committed now
        return [m.message_id for chunk in chat.messages_after(webinar.webinar_id, viewer_lead_id=viewer.user_id,
                                                                after_id=after_id) for m in chunk]

    # Transaction A takes its id first and commits last; B takes a later id and commits first.
    with Session(db.engine) as slow:
        early = ChatMessage(webinar_id=webinar.webinar_id, author_id=author.user_id, message_body="slow",
                            moderation_status="visible", created_at=utcnow())
        slow.add(early)
        slow.flush()
        late_id = _post(webinar, author, 1)[0]
        assert early.message_id < late_id
        first = catch_up(0)
        assert early.message_id not in first and first[-1] == late_id  # the page now has late_id
        slow.commit()
        early_id = early.message_id
    second = catch_up(late_id)  # the page's next catch-up starts from the last id it has
    assert early_id in second
    assert second == sorted(second) and len(second) == len(set(second))
