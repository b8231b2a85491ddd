"""The embedded default (no SMTP): mails kept and readable at /admin/mail; "Email me my link";
the organizer's "resend link"."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.mail import compose, jobs, sealed
from portal.mail.ledger import TOKEN_KEY
from portal.mail.models import KEPT, QUEUED, MailMessage
from portal.registration.models import Registration
from tests.conftest import csrf_token_from


def rows(kind: str | None = None) -> list[MailMessage]:
    db.session.expire_all()
    query = select(MailMessage).order_by(MailMessage.message_id)
    if kind:
        query = query.where(MailMessage.kind == kind)
    return list(db.session.scalars(query))


def test_without_smtp_every_mail_is_kept_and_readable_by_admins(app, make, visitor, deliver, as_user, staff):
    webinar = make.webinar(owner=staff.owner, status="scheduled", title="Kept <b>mail</b>")
    visitor.register(webinar.slug, name="Nina", email="nina@example.com")
    assert deliver() == 1
    [row] = rows()
    assert row.status == KEPT and row.sent_at is None and "no PORTAL_SMTP_URL" in row.last_answer
    admin = as_user(staff.admin)
    listing = admin.get("/admin/mail").get_data(as_text=True)
    assert "nina@example.com" in listing and 'data-status="kept"' in listing and "PORTAL_SMTP_URL" in listing
    by_webinar = admin.get(f"/admin/webinars/{webinar.webinar_id}/mail")
    assert by_webinar.status_code == 200 and "nina@example.com" in by_webinar.get_data(as_text=True)
    assert by_webinar.headers["Cache-Control"] == "no-store"
    other = make.webinar(owner=staff.owner, status="scheduled")
    assert "nina@example.com" not in admin.get(f"/admin/mail?webinar_id={other.webinar_id}").get_data(as_text=True)
    shown = admin.get(f"/admin/mail/{row.message_id}").get_data(as_text=True)
    assert "Kept &lt;b&gt;mail&lt;/b&gt;" in shown  # the subject, escaped
    assert "/room/" + compose.HIDDEN_TOKEN in shown  # the text part with the link, its token hidden
    assert not re.search(r"/room/(?!hidden)[A-Za-z0-9_\-]{20,}", shown)  # no working link in the log
    assert "METHOD" not in shown and ".ics" in shown  # the attachment is listed
    html = admin.get(f"/admin/mail/{row.message_id}/html")
    assert html.status_code == 200 and "sandbox" in html.headers["Content-Security-Policy"]
    assert "script-src" not in html.headers["Content-Security-Policy"]  # default-src 'none' covers it
    assert "Join the webinar" in html.get_data(as_text=True)
    # a lead or an anonymous visitor reads nothing
    assert app.test_client().get(f"/admin/mail/{row.message_id}").status_code in (302, 401, 403)


def test_an_organizer_sees_only_their_webinars_mail(app, make, visitor, deliver, as_user, staff):
    webinar = make.webinar(owner=staff.owner, status="scheduled")
    visitor.register(webinar.slug)
    deliver()
    other = make.webinar(owner=staff.other, status="scheduled", title="Someone else's webinar")
    visitor.register(other.slug, email="zed@example.com")
    deliver()
    row = next(r for r in rows() if r.webinar_id == webinar.webinar_id)
    owner = as_user(staff.owner)
    listing = owner.get(f"/admin/webinars/{webinar.webinar_id}/mail")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert page.count('data-testid="mail-row"') == 1 and "ann@example.com" in page and "zed@example.com" not in page
    assert owner.get(f"/admin/mail/{row.message_id}").status_code == 200
    stranger = as_user(staff.other)
    assert stranger.get(f"/admin/mail/{row.message_id}").status_code in (403, 404)
    assert stranger.get("/admin/mail").status_code == 403


def _recover(client, slug: str, email: str):  # noqa: ANN001
    token = csrf_token_from(client.get(f"/w/{slug}").get_data(as_text=True))
    answer = client.post(f"/w/{slug}/link-recovery", data={"email": email, "csrf_token": token})
    assert jobs.settle(client.application)  # the look-up and the mail happen in a background job
    return answer


def token_of(row: MailMessage) -> str:
    """The join token a ledger row keeps sealed (never in the clear)."""
    assert "join_token" not in row.context
    token = sealed.unseal(row.context[TOKEN_KEY])
    assert token and token not in str(row.context)
    return token


def test_link_recovery_answers_the_same_and_mails_a_fresh_link_only_when_registered(app, make, visitor, deliver):
    webinar = make.webinar(status="scheduled")
    visitor.register(webinar.slug, email="ann@example.com")
    page = visitor.client.get(f"/w/{webinar.slug}").get_data(as_text=True)
    assert 'data-testid="link-recovery-form"' in page and 'name="email"' in page
    old_hash = db.session.scalar(select(Registration.join_token_hash))
    stranger = app.test_client()
    unknown = _recover(stranger, webinar.slug, "nobody@example.com")
    known = _recover(stranger, webinar.slug, "ANN@example.com")
    assert unknown.status_code == known.status_code == 303
    assert unknown.headers["Location"] == known.headers["Location"]
    followed = stranger.get(known.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="link-recovery-sent"' in followed
    [mail] = rows("link_recovery")
    assert mail.recipient == "ann@example.com" and mail.status == QUEUED
    new_token = token_of(mail)
    db.session.expire_all()
    assert db.session.scalar(select(Registration.join_token_hash)) != old_hash
    assert stranger.get(f"/room/{new_token}").status_code == 200
    deliver()
    logged = rows("link_recovery")[0].raw
    assert "/room/" + compose.HIDDEN_TOKEN in logged and new_token not in logged  # no secret kept
    # bad input: a clear message, nothing written
    bad = _recover(stranger, webinar.slug, "not-an-address")
    assert "link=invalid" in bad.headers["Location"] and len(rows("link_recovery")) == 1


def test_link_recovery_is_rate_limited_per_address(app, make, visitor):
    webinar = make.webinar(status="scheduled")
    visitor.register(webinar.slug, email="ann@example.com")
    client = app.test_client()
    answers = [_recover(client, webinar.slug, "ann@example.com").status_code for _ in range(4)]
    assert answers == [303, 303, 303, 429]
    assert len(rows("link_recovery")) == 3


def test_the_duplicate_registration_page_offers_link_recovery(app, make, visitor):
    webinar = make.webinar(status="scheduled")
    visitor.register(webinar.slug, email="ann@example.com")
    other = app.test_client()
    token = csrf_token_from(other.get(f"/w/{webinar.slug}").get_data(as_text=True))
    page = other.post(f"/w/{webinar.slug}/register",
                      data={"name": "Ann", "email": "ann@example.com", "slot_id": "", "csrf_token": token})
    assert 'data-testid="link-recovery-form"' in page.get_data(as_text=True)


def test_resend_link_from_the_registrations_list(app, make, visitor, deliver, as_user, staff):
    webinar = make.webinar(owner=staff.owner, status="scheduled")
    visitor.register(webinar.slug, email="ann@example.com")
    reg_id = db.session.scalar(select(Registration.registration_id))
    owner = as_user(staff.owner)
    listing = owner.get(f"/admin/webinars/{webinar.webinar_id}/registrations").get_data(as_text=True)
    assert 'data-testid="registration-resend"' in listing
    for _ in range(2):
        answer = owner.post(f"/admin/webinars/{webinar.webinar_id}/registrations/{reg_id}/resend")
        assert answer.status_code in (200, 303)
    mails = rows("link_recovery")
    assert len(mails) == 2 and len({m.occurrence for m in mails}) == 2  # a new occurrence each time
    assert all(m.recipient == "ann@example.com" for m in mails)
    assert app.test_client().get(f"/room/{token_of(mails[-1])}").status_code == 200
    assert app.test_client().get(f"/room/{token_of(mails[0])}").status_code == 404



def test_seed_demo_says_where_the_mail_goes(app, runner):
    result = runner.invoke(args=["portal", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "no PORTAL_SMTP_URL: nothing is sent, every mail is kept at" in result.output
    assert "/admin/mail" in result.output


def test_the_admin_menu_leads_admins_to_the_mail_log(app, as_user, staff):
    assert 'href="/admin/mail"' in as_user(staff.admin).get("/admin/").get_data(as_text=True)
    assert 'href="/admin/mail"' not in as_user(staff.owner).get("/admin/").get_data(as_text=True)


def test_link_recovery_closes_the_old_links_room_sockets(app, make, live_server):
    from portal.room.sockets import LINK_REISSUED
    from tests.realtime.conftest import _open_clients, connect, recv_close, recv_until
    from tests.room.conftest import register

    webinar = make.webinar(status="live")
    attendee = register(webinar)
    ws = connect(live_server, f"/ws/room/{attendee.token}")
    try:
        ws.send('{"type": "hello", "last_message_id": 0}')
        recv_until(ws, lambda m: "room-status" in m)
        email = attendee.reg.lead.email
        assert _recover(app.test_client(), webinar.slug, email).status_code == 303
        assert recv_close(ws) == (1008, LINK_REISSUED)
    finally:
        while _open_clients:
            client = _open_clients.pop()
            try:
                client.close(timeout=1)
            except Exception:  # noqa: BLE001 - already closed by the server
                pass
            client.shutdown()
