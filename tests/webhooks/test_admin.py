"""/admin/webhooks: organizers manage their own endpoints, admins all; bad input changes
nothing; the delivery log, redeliver, replay since… and the dead letters."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook

from portal.db_types import utcnow
from portal.errors import Invalid
from portal.extensions import db
from portal.webhooks import delivery as sending
from portal.webhooks import endpoints
from portal.webhooks.models import DEAD, DELIVERED, PENDING, WebhookEndpoint
from tests.webhooks.helpers import deliveries, emit, endpoint
from tests.webhooks.receiver import Answer


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(WebhookEndpoint))


def test_organizer_creates_an_endpoint_and_sees_the_secret_once(app, make, client, auth, receiver):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner)
    auth.login(owner.email)
    token = auth.csrf("/admin/webhooks/new")
    answer = client.post("/admin/webhooks/new", data={
        "url": receiver.url, "description": "CRM", "events": ["webinar_cta_visibility_changed"],
        "webinar_id": str(webinar.webinar_id), "csrf_token": token})
    assert answer.status_code == 201
    secret = re.search(r'data-testid="webhook-secret">(whsec_[^<]+)<', answer.get_data(as_text=True)).group(1)
    [made] = db.session.scalars(select(WebhookEndpoint)).all()
    assert (made.url, made.events, made.webinar_id, made.enabled) == (
        receiver.url, ["webinar_cta_visibility_changed"], webinar.webinar_id, True)
    page = client.get(f"/admin/webhooks/{made.endpoint_id}").get_data(as_text=True)
    assert secret not in page  # shown once only
    assert answer.headers["Cache-Control"] == "no-store"

    event = emit(webinar)
    emit(webinar, "webinar_completed")  # not chosen: not sent
    sending.deliver_due()
    assert receiver.ids() == [event.event_id]
    Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
    log = client.get(f"/admin/webhooks/{made.endpoint_id}").get_data(as_text=True)
    assert event.event_id in log and "200" in log


@pytest.mark.parametrize("form, message", [
    ({"url": "ftp://example.com/x"}, "http:// or https://"),
    ({"url": "http://user:pw@example.com/x"}, "user name or password"),
    ({"url": "http://127.0.0.1:9/x", "events": ["nope"]}, "Unknown event types: nope"),
    ({"url": "http://127.0.0.1:9/x", "webinar_id": "abc"}, "Choose a webinar"),
    ({"url": "http://no-such-host.invalid/x"}, "does not resolve"),
])
def test_bad_input_is_refused_with_a_message_and_changes_nothing(app, make, client, auth, form, message):
    owner = make.user(role="organizer")
    auth.login(owner.email)
    answer = client.post("/admin/webhooks/new", data={**form, "csrf_token": auth.csrf("/admin/webhooks/new")})
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert _count() == 0


def test_another_organizers_webinar_and_endpoint_are_out_of_reach(app, make, client, auth, receiver):
    mine, theirs = make.user(role="organizer"), make.user(role="organizer")
    their_webinar = make.webinar(owner=theirs)
    their_endpoint, _ = endpoint(theirs, receiver.url)
    with pytest.raises(Invalid):
        endpoints.create_endpoint(mine, receiver.url, webinar_id=their_webinar.webinar_id)
    db.session.rollback()
    auth.login(mine.email)
    assert client.get(f"/admin/webhooks/{their_endpoint.endpoint_id}").status_code == 404
    token = auth.csrf("/admin/webhooks/")
    assert client.post(f"/admin/webhooks/{their_endpoint.endpoint_id}/delete",
                       data={"csrf_token": token}).status_code == 404
    assert receiver.url not in client.get("/admin/webhooks/").get_data(as_text=True)
    assert _count() == 1


def test_an_organizers_endpoint_gets_only_their_webinars_and_an_admins_all(app, make, receiver):
    organizer, admin = make.user(role="organizer"), make.user(role="admin")
    own, other = make.webinar(owner=organizer), make.webinar()
    endpoint(organizer, receiver.url + "/organizer")
    endpoint(admin, receiver.url + "/admin")
    mine, foreign = emit(own), emit(other)
    sending.deliver_due()
    got = sorted((r.path, r.headers["webhook-id"]) for r in receiver.received)
    assert got == sorted([("/hook/organizer", mine.event_id), ("/hook/admin", mine.event_id),
                          ("/hook/admin", foreign.event_id)])


def test_redeliver_replay_and_dead_letters(app, make, client, auth, receiver):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner)
    before = emit(webinar)  # before the endpoint existed: not sent, but replayable
    made, _ = endpoint(owner, receiver.url)
    receiver.answer(Answer(status=410))
    event = emit(webinar)
    sending.deliver_due()
    [delivery] = deliveries()
    assert delivery.status == DEAD
    auth.login(owner.email)
    dead = client.get("/admin/webhooks/dead").get_data(as_text=True)
    assert event.event_id in dead
    token = auth.csrf("/admin/webhooks/dead")
    # Enable the endpoint again and redeliver the dead letter: same webhook-id.
    assert client.post(f"/admin/webhooks/{made.endpoint_id}/enabled",
                       data={"enabled": "1", "csrf_token": token}).status_code == 303
    assert client.post(f"/admin/webhooks/deliveries/{delivery.delivery_id}/redeliver",
                       data={"csrf_token": token, "back": "dead"}).status_code == 303
    assert deliveries()[0].status == PENDING
    sending.deliver_due()
    assert receiver.ids() == [event.event_id, event.event_id]
    assert deliveries()[0].status == DELIVERED
    # Replay since an hour ago: the older event is sent too, the delivered one again.
    bad = client.post(f"/admin/webhooks/{made.endpoint_id}/replay", data={"since": "yesterday", "csrf_token": token})
    assert bad.status_code == 422 and "date and time" in bad.get_data(as_text=True)
    since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    answer = client.post(f"/admin/webhooks/{made.endpoint_id}/replay", data={"since": since, "csrf_token": token})
    assert answer.status_code == 200 and "2 events queued again" in answer.get_data(as_text=True)
    sending.deliver_due()
    assert sorted(receiver.ids()[2:]) == sorted([before.event_id, event.event_id])
    assert {d.status for d in deliveries()} == {DELIVERED}


def test_rotate_button_shows_a_new_secret(app, make, client, auth, receiver):
    owner = make.user(role="organizer")
    made, old = endpoint(owner, receiver.url)
    auth.login(owner.email)
    answer = client.post(f"/admin/webhooks/{made.endpoint_id}/rotate",
                         data={"csrf_token": auth.csrf("/admin/webhooks/")})
    new = re.search(r'data-testid="webhook-secret">(whsec_[^<]+)<', answer.get_data(as_text=True)).group(1)
    assert new != old
    db.session.expire_all()
    assert sorted(endpoints.active_secrets(db.session.get(WebhookEndpoint, made.endpoint_id))) == sorted([old, new])


def test_private_addresses_are_refused_in_production_at_creation_and_at_delivery(app, make, receiver):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner)
    made, _ = endpoint(owner, receiver.url)  # development: a local receiver is fine
    app.config["ENV"] = "production"
    for url in (receiver.url, "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]:8080/x",
                "http://localhost/x"):
        with pytest.raises(Invalid, match="private, loopback or link-local"):
            endpoints.create_endpoint(owner, url)
        db.session.rollback()
    emit(webinar)
    sending.deliver_due()  # checked again at delivery (a DNS answer may have changed)
    assert receiver.received == []
    [delivery] = deliveries()
    assert delivery.status == PENDING and "private" in (delivery.last_error or "")
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    endpoints.create_endpoint(owner, receiver.url)
    db.session.commit()
    assert _count() == 2


def test_cli_dispatcher_once(app, make, runner, receiver):
    owner = make.user(role="organizer")
    webinar = make.webinar(owner=owner)
    endpoint(owner, receiver.url)
    event = emit(webinar)
    result = runner.invoke(args=["portal", "dispatcher", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 attempts" in result.output
    assert receiver.ids() == [event.event_id]
