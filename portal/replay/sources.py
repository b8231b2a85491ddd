"""Replay sources of the rooms that exist today: the chat and the CTA."""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from portal.core.models import CtaVisibility, OutboxEvent
from portal.extensions import db
from portal.replay.timeline import Run, TimedItem
from portal.room.models import ChatMessage


def chat(run: Run) -> Iterator[TimedItem]:
    """Visible messages of the run, at the second they were posted (lobby messages at 0)."""
    query = select(ChatMessage).where(ChatMessage.webinar_id == run.webinar_id,
                                      ChatMessage.moderation_status == "visible",
                                      ChatMessage.created_at <= (run.ended_at or ChatMessage.created_at))
    if run.session_id is not None:  # a message tied to another run is not this run's
        query = query.where((ChatMessage.session_id.is_(None)) | (ChatMessage.session_id == run.session_id))
    for message in db.session.scalars(query.order_by(ChatMessage.message_id)):
        # Plain values: the items are cached past this request's session (timeline.CACHE_SECONDS).
        yield TimedItem(at=max(0.0, run.offset(message.created_at)), kind="feed", key=f"msg-{message.message_id}",
                        template="replay/_chat_item.html",
                        context={"id": message.message_id, "body": message.message_body,
                                 "author": message.author.display_name if message.author else "?",
                                 "host": message.posted_as_host})


def cta(run: Run) -> Iterator[TimedItem]:
    """The CTA as it was: shown or hidden from the moment the host switched it."""
    changes = db.session.scalars(
        select(OutboxEvent).where(OutboxEvent.webinar_id == run.webinar_id,
                                  OutboxEvent.event == "webinar_cta_visibility_changed",
                                  OutboxEvent.occurred_at <= (run.ended_at or OutboxEvent.occurred_at))
        .order_by(OutboxEvent.id))
    for change in changes:
        visible = (change.data or {}).get("to") == CtaVisibility.visible.value
        yield TimedItem(at=max(0.0, run.offset(change.occurred_at)), kind="state", key="cta",
                        template="replay/_cta.html", context={"visible": visible})
