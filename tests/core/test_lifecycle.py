"""Core lifecycle: every operation from every status (allowed, no-op, refused), events, CTA."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal import signals
from portal.core import lifecycle
from portal.core.models import OutboxEvent, Status, Webinar
from portal.core.permissions import SYSTEM
from portal.errors import Conflict, Forbidden, Invalid
from portal.extensions import db

ALL = [s.value for s in Status]
OPS = ["publish", "unpublish", "start", "pause", "stop", "archive", "cancel"]

# The SPEC §3 table: (operation, from) -> to. Anything else is refused (or a no-op at target).
ALLOWED = {
    ("publish", "draft"): "scheduled",
    ("unpublish", "scheduled"): "draft",
    ("start", "scheduled"): "live",
    ("start", "paused"): "live",
    ("pause", "live"): "paused",
    ("stop", "live"): "finished",
    ("stop", "paused"): "finished",
    ("archive", "finished"): "archived",
    ("cancel", "scheduled"): "archived",
}


def run(webinar: Webinar, op: str, actor=SYSTEM):
    if op in ("start", "stop"):
        return lifecycle.core_webinar_set_status(webinar, op, actor=actor)
    return getattr(lifecycle, op)(webinar, actor=actor)


def events(webinar_id: int, name: str | None = None) -> list[OutboxEvent]:
    query = select(OutboxEvent).where(OutboxEvent.webinar_id == webinar_id).order_by(OutboxEvent.id)
    if name:
        query = query.where(OutboxEvent.event == name)
    return list(db.session.scalars(query))


@pytest.mark.parametrize("start_status", ALL)
@pytest.mark.parametrize("op", OPS)
def test_transition_table(make, op, start_status):
    webinar = make.webinar(status=start_status)
    before_events = len(events(webinar.webinar_id))
    target = lifecycle.TARGET[op]
    if (op, start_status) in ALLOWED:
        outcome = run(webinar, op)
        assert outcome.changed and (outcome.before, outcome.after) == (start_status, ALLOWED[(op, start_status)])
        db.session.expire_all()
        assert db.session.get(Webinar, webinar.webinar_id).status == ALLOWED[(op, start_status)]
        changed = events(webinar.webinar_id, "webinar_status_changed")[-1]
        assert changed.data["from"] == start_status and changed.data["to"] == target
        assert changed.data["actor"] == {"type": "system"}
    elif start_status == target:
        outcome = run(webinar, op)
        assert not outcome.changed
        assert len(events(webinar.webinar_id)) == before_events, "a repeated action emits nothing"
    else:
        with pytest.raises(Conflict) as refused:
            run(webinar, op)
        assert start_status in refused.value.message
        db.session.expire_all()
        assert db.session.get(Webinar, webinar.webinar_id).status == start_status
        assert len(events(webinar.webinar_id)) == before_events, "a refused action emits nothing"


def test_stop_emits_status_change_then_webinar_completed_once(make):
    webinar = make.webinar(status="live")
    lifecycle.core_webinar_set_status(webinar, "stop", actor=SYSTEM)
    lifecycle.core_webinar_set_status(webinar, "stop", actor=SYSTEM)
    names = [e.event for e in events(webinar.webinar_id)][-2:]
    assert names == ["webinar_status_changed", "webinar_completed"]
    assert len(events(webinar.webinar_id, "webinar_completed")) == 1


def test_unknown_hook_action_is_refused(make):
    webinar = make.webinar(status="scheduled")
    for action in ("pause", "archive", "publish", "", "START", "restart"):
        with pytest.raises(Invalid):
            lifecycle.core_webinar_set_status(webinar, action, actor=SYSTEM)
    assert webinar.status == "scheduled"


def test_publish_lists_what_is_missing(make):
    webinar = make.webinar(status="draft", stream_url="", scheduled_at=None, title="  ")
    with pytest.raises(Conflict) as refused:
        lifecycle.publish(webinar, actor=SYSTEM)
    assert refused.value.details["missing"] == ["a title", "a start time in the future", "a stream (type and URL)"]
    auto = make.webinar(status="draft", type="auto", recording_url="", auto_schedule=None)
    with pytest.raises(Conflict) as refused:
        lifecycle.publish(auto, actor=SYSTEM)
    assert refused.value.details["missing"] == ["a recording", "a schedule"]
    assert events(webinar.webinar_id) == [] and events(auto.webinar_id) == []


def test_unpublish_refused_once_someone_registered(make):
    from portal.registration.models import Registration

    webinar = make.webinar(status="scheduled")
    lead = make.lead()
    db.session.add(Registration(webinar_id=webinar.webinar_id, lead_id=lead.user_id, webinar_type="live",
                                join_token_hash="x" * 64))
    db.session.commit()
    with pytest.raises(Conflict):
        lifecycle.unpublish(webinar, actor=SYSTEM)
    assert webinar.status == "scheduled"


def test_cta_visibility_hook(make):
    webinar = make.webinar(status="live")
    assert lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=SYSTEM).changed
    assert not lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=SYSTEM).changed
    assert lifecycle.core_webinar_set_cta_visibility(webinar, "hidden", actor=SYSTEM).changed
    changes = events(webinar.webinar_id, "webinar_cta_visibility_changed")
    assert [(e.data["from"], e.data["to"]) for e in changes] == [("hidden", "visible"), ("visible", "hidden")]
    with pytest.raises(Invalid):
        lifecycle.core_webinar_set_cta_visibility(webinar, "shown", actor=SYSTEM)


def test_cta_needs_text_and_url_and_not_archived(make):
    bare = make.webinar(status="live", cta_text="", cta_url="")
    with pytest.raises(Conflict):
        lifecycle.core_webinar_set_cta_visibility(bare, "visible", actor=SYSTEM)
    archived = make.webinar(status="archived")
    with pytest.raises(Conflict):
        lifecycle.core_webinar_set_cta_visibility(archived, "visible", actor=SYSTEM)
    assert events(bare.webinar_id, "webinar_cta_visibility_changed") == []


@pytest.mark.parametrize("role", ["speaker", "organizer"])
def test_hooks_refuse_actors_without_rights(make, role):
    webinar = make.webinar(status="scheduled")
    stranger = make.user(role=role)
    count = len(events(webinar.webinar_id))
    with pytest.raises(Forbidden):
        lifecycle.core_webinar_set_status(webinar, "start", actor=stranger)
    with pytest.raises(Forbidden):
        lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=stranger)
    with pytest.raises(Forbidden):
        lifecycle.core_webinar_set_status(webinar, "start", actor=None)
    assert webinar.status == "scheduled" and len(events(webinar.webinar_id)) == count


def test_assigned_speaker_runs_the_show_but_cannot_publish_or_archive(make):
    speaker = make.user(role="speaker")
    webinar = make.webinar(status="draft", speakers=(speaker,))
    with pytest.raises(Forbidden):
        lifecycle.publish(webinar, actor=speaker)
    lifecycle.publish(webinar, actor=SYSTEM)
    lifecycle.core_webinar_set_status(webinar, "start", actor=speaker)
    lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=speaker)
    with pytest.raises(Forbidden):
        lifecycle.pause(webinar, actor=speaker)
    lifecycle.core_webinar_set_status(webinar, "stop", actor=speaker)
    with pytest.raises(Forbidden):
        lifecycle.archive(webinar, actor=speaker)
    actors = [e.data["actor"] for e in events(webinar.webinar_id, "webinar_status_changed")][1:]
    assert actors == [{"type": "user", "user_id": speaker.user_id, "role": "speaker"}] * 2


def test_status_changing_signal_runs_inside_the_transaction(make):
    """A receiver's writes commit with the change; a receiver that fails undoes it all."""
    webinar = make.webinar(status="live")

    def explode(sender, **kwargs):
        raise RuntimeError("receiver failed")

    signals.status_changing.connect(explode)
    try:
        with pytest.raises(RuntimeError):
            lifecycle.core_webinar_set_status(webinar, "stop", actor=SYSTEM)
    finally:
        signals.status_changing.disconnect(explode)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Webinar, webinar.webinar_id).status == "live"
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.webinar_id == webinar.webinar_id, OutboxEvent.event == "webinar_completed")) == 0
