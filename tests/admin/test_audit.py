"""The audit record: moderator, status, CTA and link actions in the action's own transaction,
refusals in a short one of their own, shown to the webinar's organizer (escaped, no-store)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import audit, signals
from portal.audit import AuditEntry
from portal.core import lifecycle
from portal.extensions import db
from portal.room import chat, moderation
from portal.room.models import ChatMessage
from tests.admin import dataset
from tests.room.conftest import register


def rows(**where) -> list[AuditEntry]:
    db.session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.audit_id)
    for name, value in where.items():
        query = query.where(getattr(AuditEntry, name) == value)
    return list(db.session.scalars(query))


def test_status_and_cta_actions_are_recorded_with_their_actor(staff, make):
    webinar = make.webinar(owner=staff.owner, status="draft")
    lifecycle.publish(webinar, actor=staff.owner)
    lifecycle.core_webinar_set_status(webinar, "start", actor=staff.owner)
    lifecycle.core_webinar_set_cta_visibility(webinar, "visible", actor=staff.owner)
    lifecycle.core_webinar_set_cta_visibility(webinar, "hidden", actor=staff.owner)
    lifecycle.pause(webinar, actor=staff.owner)
    lifecycle.core_webinar_set_status(webinar, "start", actor=staff.owner)
    lifecycle.core_webinar_set_status(webinar, "stop", actor=staff.owner)
    lifecycle.core_webinar_set_status(webinar, "stop", actor=staff.owner)  # a no-op: nothing recorded
    got = [(r.kind, r.action, r.actor_user_id, r.webinar_id) for r in rows()]
    w, o = webinar.webinar_id, staff.owner.user_id
    assert got == [("status", "publish", o, w), ("status", "start", o, w), ("cta", "show", o, w),
                   ("cta", "hide", o, w), ("status", "pause", o, w), ("status", "start", o, w),
                   ("status", "stop", o, w)]
    assert rows()[-1].detail == {"from": "live", "to": "finished", "actor": "user"}


def test_moderation_is_recorded_with_the_moderator_and_the_lead(app, staff, make):
    webinar = make.webinar(owner=staff.owner, status="live")
    a = register(webinar, name="Loud")
    with app.test_request_context():
        message = chat.post(a.reg, "hello")
    moderation.hide_message(webinar, message.message_id, actor=staff.owner)
    moderation.hide_message(webinar, message.message_id, actor=staff.owner)  # idempotent: once
    moderation.set_muted(webinar, a.reg.lead_id, muted=True, actor=staff.owner)
    moderation.set_muted(webinar, a.reg.lead_id, muted=False, actor=staff.owner)
    moderation.ban(webinar, a.reg.lead_id, actor=staff.owner)
    got = [(r.kind, r.action, r.actor_user_id, r.lead_id, r.webinar_id) for r in rows(kind="moderation")]
    o, lead, w = staff.owner.user_id, a.reg.lead_id, webinar.webinar_id
    assert got == [("moderation", "hide", o, None, w), ("moderation", "mute", o, lead, w),
                   ("moderation", "unmute", o, lead, w), ("moderation", "ban", o, lead, w)]
    assert rows(kind="moderation")[0].detail == {"message_id": message.message_id}


def test_an_action_and_its_record_commit_together_or_not_at_all(staff, make):
    webinar = make.webinar(owner=staff.owner, status="live")
    message = ChatMessage(webinar_id=webinar.webinar_id, author_id=staff.owner.user_id, message_body="x",
                          moderation_status="visible")
    db.session.add(message)
    db.session.commit()
    message.moderation_status = "hidden"
    signals.after_commit(signals.message_hidden, message.message_id, webinar_id=webinar.webinar_id,
                         actor_id=staff.owner.user_id)
    db.session.rollback()  # the action is undone: so is its record
    assert rows(kind="moderation") == []
    assert db.session.get(ChatMessage, message.message_id).moderation_status == "visible"
    message.moderation_status = "hidden"
    signals.after_commit(signals.message_hidden, message.message_id, webinar_id=webinar.webinar_id,
                         actor_id=staff.owner.user_id)
    db.session.commit()
    db.session.commit()  # a second commit of the same session records nothing again
    assert [(r.action, r.actor_user_id) for r in rows(kind="moderation")] == [("hide", staff.owner.user_id)]


def test_link_actions_are_recorded(as_user, staff, make):
    data = dataset.live(make, staff.owner)
    reg = data.regs["boris"]
    session = as_user(staff.owner)
    base = f"/admin/webinars/{data.webinar.webinar_id}/registrations/{reg.registration_id}"
    for action in ("revoke", "restore", "reissue"):
        assert session.post(base + "/" + action, htmx=True).status_code == 200
    got = [(r.kind, r.action, r.actor_user_id, r.registration_id, r.lead_id) for r in rows(kind="link")]
    assert got == [("link", a, staff.owner.user_id, reg.registration_id, reg.lead_id)
                   for a in ("revoke", "restore", "reissue")]


def test_refusals_are_recorded_with_who_and_which_webinar(as_user, staff, make, client):
    webinar = make.webinar(owner=staff.owner, status="live")
    a = register(webinar)
    moderation.ban(webinar, a.reg.lead_id, actor=staff.owner)
    before = len(rows())
    assert before == len(rows(kind="status")) + 1  # the factory's publish and start, and the ban
    # A banned attendee's link: 404 (the same as an unknown one), recorded with the registration.
    assert client.get(a.url + "/state", headers={"HX-Request": "true"}).status_code == 404
    [refusal] = rows()[before:]
    assert (refusal.kind, refusal.action, refusal.status_code) == ("refusal", "not_found", 404)
    assert (refusal.registration_id, refusal.lead_id, refusal.webinar_id) == (
        a.reg.registration_id, a.reg.lead_id, webinar.webinar_id)
    assert refusal.client == "127.0.0.1" and refusal.message.startswith("This join link is not valid.")
    assert refusal.detail["path"] == f"/room/{a.token}/state"
    # A staff member's refused action: who they are and the webinar from the URL.
    session = as_user(staff.owner)
    archived = make.webinar(owner=staff.owner, status="archived")
    answer = session.post(f"/console/{archived.webinar_id}/start", htmx=True)
    assert answer.status_code in (403, 404, 409)
    last = rows()[-1]
    assert (last.kind, last.actor_user_id, last.webinar_id, last.status_code) == (
        "refusal", staff.owner.user_id, archived.webinar_id, answer.status_code)


def test_a_flood_of_rate_limit_refusals_is_recorded_once_per_minute(app, client, make, monkeypatch):
    import portal.ratelimit as ratelimit

    monkeypatch.setattr(ratelimit, "POLLS_PER_MINUTE", 1)
    webinar = make.webinar(status="live")
    a = register(webinar)
    answers = [client.get(a.url + "/state", headers={"HX-Request": "true"}).status_code for _ in range(6)]
    assert answers == [200, 429, 429, 429, 429, 429]
    assert [(r.action, r.status_code) for r in rows(kind="refusal")] == [("rate_limited", 429)]


# --- the organizer's page ----------------------------------------------------------------------

def test_the_organizer_reads_the_record_escaped_filtered_paginated_and_never_cached(as_user, staff, make):
    webinar = make.webinar(owner=staff.owner, status="live")
    lead = make.lead(name="<script>alert(1)</script>")
    for n in range(55):
        audit.record(db.session, kind="refusal", action="conflict", webinar_id=webinar.webinar_id,
                     lead_id=lead.user_id, status_code=409, message=f"<b>refused</b> {n}")
    audit.record(db.session, kind="status", action="start", webinar_id=webinar.webinar_id,
                 actor_user_id=staff.owner.user_id)
    db.session.commit()
    session = as_user(staff.owner)
    overview = session.get(f"/admin/webinars/{webinar.webinar_id}").get_data(as_text=True)
    assert f'href="/admin/webinars/{webinar.webinar_id}/audit"' in overview  # a tab of the webinar
    page = session.get(f"/admin/webinars/{webinar.webinar_id}/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert html.count('data-testid="audit-row"') == 50  # newest first, 50 a page
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>refused</b>" not in html and "&lt;b&gt;refused&lt;/b&gt; 54" in html
    assert "Olga Owner" in html  # the newest row: the status action and who did it
    second = session.get(f"/admin/webinars/{webinar.webinar_id}/audit?page=2").get_data(as_text=True)
    total = len(rows(webinar_id=webinar.webinar_id))  # ours and the factory's publish and start
    assert total == 58 and second.count('data-testid="audit-row"') == total - 50
    assert "&lt;b&gt;refused&lt;/b&gt; 0<" in second and "&lt;b&gt;refused&lt;/b&gt; 0<" not in html
    only = session.get(f"/admin/webinars/{webinar.webinar_id}/audit?kind=status",
                       headers={"HX-Request": "true", "HX-Target": "audit"})
    fragment = only.get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="audit"')
    assert fragment.count('data-kind="status"') == len(rows(kind="status")) == 3
    assert 'data-kind="refusal"' not in fragment and only.headers["Cache-Control"] == "no-store"
    # Garbage in the filter means "everything", not an error.
    assert session.get(f"/admin/webinars/{webinar.webinar_id}/audit?kind=%3Cx%3E").status_code == 200


@pytest.mark.parametrize("who", ["other", "speaker"])
def test_only_the_webinars_organizer_and_admins_read_it(as_user, staff, make, who):
    webinar = make.webinar(owner=staff.owner, status="live")
    assert as_user(staff.admin).get(f"/admin/webinars/{webinar.webinar_id}/audit").status_code == 200
    refused = as_user(getattr(staff, who)).get(f"/admin/webinars/{webinar.webinar_id}/audit")
    assert refused.status_code in (403, 404)


def test_refusals_shown_inline_are_recorded_too(app, client, make, monkeypatch):
    """The chat's feedback line (HTTP and socket) and the registration form's 429 show their
    refusal in place, not through the error handlers: recorded all the same."""
    import portal.ratelimit as ratelimit
    from portal.room import sockets
    from tests.conftest import csrf_token_from
    from tests.room.conftest import room_socket

    webinar = make.webinar(status="live")
    a = register(webinar)
    page = client.get(a.url).get_data(as_text=True)
    answer = client.post(a.url + "/chat", data={"body": "   ", "csrf_token": csrf_token_from(page)},
                         headers={"HX-Request": "true"})
    assert answer.status_code == 422
    with app.test_request_context():
        sockets.on_chat(room_socket(a.reg), {"type": "chat", "body": ""})

    def refuse(*_, **__):
        raise ratelimit.RateLimited("Too many registrations from your network. Please wait a minute and try again.")

    monkeypatch.setattr(ratelimit.limiter(), "hit", refuse)
    form = client.get(f"/w/{webinar.slug}").get_data(as_text=True)
    refused = client.post(f"/w/{webinar.slug}/register", data={"name": "Z", "email": "z@example.com",
                                                              "csrf_token": csrf_token_from(form)})
    assert refused.status_code == 429
    got = [(r.action, r.status_code, r.registration_id, r.webinar_id) for r in rows(kind="refusal")]
    assert got == [("invalid", 422, a.reg.registration_id, webinar.webinar_id),
                   ("invalid", 422, a.reg.registration_id, webinar.webinar_id),
                   ("rate_limited", 429, None, webinar.webinar_id)]
