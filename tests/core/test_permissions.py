"""The whole permission matrix, allowed and refused, for every actor and action (SPEC §2)."""
from __future__ import annotations

import pytest

from portal.core.permissions import SYSTEM, Action, can, require
from portal.errors import Forbidden
from portal.extensions import db
from portal.registration.models import Registration

A = Action
ACTORS = ["admin", "owner", "other_organizer", "speaker", "other_speaker", "disabled_admin",
          "lead_user", "attendee", "other_attendee", "revoked_attendee", "anonymous", "system"]
STAFF_ON_WEBINAR = {A.OPEN_CONSOLE, A.CONTROL, A.SET_CTA, A.MODERATE}
OWNER_ONLY = {A.EDIT, A.PUBLISH, A.PAUSE, A.ARCHIVE, A.ASSIGN_SPEAKERS, A.VIEW_REPORTS, A.MANAGE_WEBHOOKS}
ROOM = {A.ENTER_ROOM, A.CHAT, A.CLICK_CTA}
PUBLIC = {A.VIEW_PUBLIC, A.REGISTER}


def expected(actor: str, action: Action) -> bool:
    if action in PUBLIC:
        return True  # the webinar in this matrix is published (scheduled)
    if actor == "admin":
        return action not in ROOM
    if actor == "system":
        return action not in ROOM
    if actor == "owner":
        return action in STAFF_ON_WEBINAR | OWNER_ONLY
    if actor == "speaker":
        return action in STAFF_ON_WEBINAR
    if actor == "attendee":
        return action in ROOM
    return False


@pytest.fixture
def world(make):
    owner = make.user(role="organizer")
    speaker = make.user(role="speaker")
    webinar = make.webinar(owner=owner, speakers=(speaker,), status="scheduled")
    other = make.webinar(status="scheduled")

    def registration(w, *, revoked=False):
        lead = make.lead()
        reg = Registration(webinar_id=w.webinar_id, lead_id=lead.user_id, webinar_type="live",
                           join_token_hash=f"{lead.user_id:064d}")
        if revoked:
            from portal.db_types import utcnow

            reg.revoked_at = utcnow()
        db.session.add(reg)
        db.session.commit()
        return reg

    actors = {
        "admin": make.user(role="admin"),
        "owner": owner,
        "other_organizer": make.user(role="organizer"),
        "speaker": speaker,
        "other_speaker": make.user(role="speaker"),
        "disabled_admin": make.user(role="admin", disabled=True),
        "lead_user": make.lead(),
        "attendee": registration(webinar),
        "other_attendee": registration(other),
        "revoked_attendee": registration(webinar, revoked=True),
        "anonymous": None,
        "system": SYSTEM,
    }
    return webinar, actors


@pytest.mark.parametrize("action", [a for a in Action if a not in (A.CREATE, A.MANAGE_USERS, A.MANAGE_TOKENS)])
@pytest.mark.parametrize("actor", ACTORS)
def test_per_webinar_matrix(world, actor, action):
    webinar, actors = world
    allowed = expected(actor, action)
    assert can(actors[actor], action, webinar) is allowed
    if allowed:
        require(actors[actor], action, webinar)
    else:
        with pytest.raises(Forbidden):
            require(actors[actor], action, webinar)


@pytest.mark.parametrize("actor,action,allowed", [
    ("admin", A.CREATE, True), ("admin", A.MANAGE_USERS, True), ("admin", A.MANAGE_TOKENS, True),
    ("owner", A.CREATE, True), ("owner", A.MANAGE_USERS, False), ("owner", A.MANAGE_TOKENS, True),
    ("speaker", A.CREATE, False), ("speaker", A.MANAGE_USERS, False), ("speaker", A.MANAGE_TOKENS, False),
    ("disabled_admin", A.MANAGE_USERS, False), ("anonymous", A.CREATE, False),
    ("attendee", A.CREATE, False), ("lead_user", A.CREATE, False),
])
def test_global_actions(world, actor, action, allowed):
    _, actors = world
    assert can(actors[actor], action) is allowed


def test_chat_needs_internal_chat(make):
    webinar = make.webinar(status="scheduled", stream_type="zoom", stream_url="https://zoom.us/j/1",
                           external_chat_ref="https://zoom.us/chat")
    lead = make.lead()
    reg = Registration(webinar_id=webinar.webinar_id, lead_id=lead.user_id, webinar_type="live",
                       join_token_hash="c" * 64)
    db.session.add(reg)
    db.session.commit()
    assert can(reg, A.ENTER_ROOM, webinar) and not can(reg, A.CHAT, webinar)


@pytest.mark.parametrize("status,public,register", [
    ("draft", False, False), ("scheduled", True, True), ("live", True, True), ("paused", True, True),
    ("finished", True, False), ("archived", True, False),
])
def test_public_visibility_by_status(make, status, public, register):
    webinar = make.webinar(status=status)
    assert can(None, A.VIEW_PUBLIC, webinar) is public
    assert can(None, A.REGISTER, webinar) is register


def test_owner_previews_own_draft_others_cannot(make):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner)
    assert can(owner, A.VIEW_PUBLIC, webinar)
    assert not can(make.user(role="organizer"), A.VIEW_PUBLIC, webinar)
