"""Delivery against a real HTTP receiver: signed (verified by `standardwebhooks`), retried with
the same webhook-id, back-off, Retry-After, 410, timeouts, broken answers, redirects."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from portal.core.models import Status
from portal.db_types import utcnow
from portal.extensions import db
from portal.webhooks import delivery as sending
from portal.webhooks import endpoints
from portal.webhooks.models import DEAD, DELIVERED, DISABLED_FAILING, DISABLED_GONE, PENDING
from tests import factories
from tests.conftest import csrf_token_from
from tests.webhooks.helpers import attempts, deliveries, emit, endpoint, make_due
from tests.webhooks.receiver import Answer, Receiver, free_port


@pytest.fixture
def owner(make):
    return make.user(role="organizer")


@pytest.fixture
def webinar(make, owner):
    return make.webinar(owner=owner)


def test_delivery_is_signed_and_verified_by_standardwebhooks(app, owner, webinar, receiver):
    made, secret = endpoint(owner, receiver.url)
    assert secret.startswith("whsec_") and len(secret) >= len("whsec_") + 32
    event = emit(webinar)

    assert sending.deliver_due() == 1

    [got] = receiver.received
    payload = Webhook(secret).verify(got.body, got.headers)  # raises when the signature is wrong
    assert payload == {**event.envelope(), "sequence": event.sequence}
    assert payload["sequence"] == event.sequence and isinstance(event.sequence, int)
    assert got.headers["webhook-id"] == event.event_id
    assert got.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 32).verify(got.body, got.headers)
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts, delivery.event_id) == (DELIVERED, 1, event.event_id)
    [attempt] = attempts(delivery.delivery_id)
    assert attempt.status_code == 200 and attempt.response_excerpt == "ok"
    assert attempt.webhook_timestamp == int(got.headers["webhook-timestamp"])
    # Nothing more to do: no double delivery.
    assert sending.deliver_due() == 0 and len(receiver.received) == 1


def test_receiver_down_then_up_gets_the_same_webhook_id(app, owner, webinar, monkeypatch):
    # Full jitter may draw a wait near 0 s; take the top of the first window (30 s) so "not due
    # yet" below is deterministic.
    monkeypatch.setattr(sending, "backoff", lambda attempt, rng=None: sending.BASE_DELAY)
    port = free_port()
    made, secret = endpoint(owner, f"http://127.0.0.1:{port}/hook")
    event = emit(webinar)
    assert sending.deliver_due() == 1
    [delivery] = deliveries()
    assert delivery.status == PENDING and delivery.attempts == 1 and delivery.last_error
    assert delivery.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert sending.deliver_due() == 0  # not due before its back-off

    receiver = Receiver(port).start()
    try:
        make_due()
        assert sending.deliver_due() == 1
        assert receiver.ids() == [event.event_id]
        Webhook(secret).verify(receiver.received[0].body, receiver.received[0].headers)
    finally:
        receiver.stop()
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (DELIVERED, 2)


def test_500_is_retried_with_the_same_id_and_a_fresh_timestamp_and_signature(app, owner, webinar, receiver,
                                                                             monkeypatch):
    made, secret = endpoint(owner, receiver.url)
    receiver.answer(Answer(status=500, body=b"boom"))
    event = emit(webinar)
    real = time.time
    monkeypatch.setattr(sending.time, "time", lambda: real() - 7200)  # this process's clock is 2 h late
    sending.deliver_due()
    monkeypatch.setattr(sending.time, "time", real)
    make_due()
    sending.deliver_due()

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.event_id
    assert first.body == second.body
    assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) >= 7000
    assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
    with pytest.raises(WebhookVerificationError):  # the skewed attempt is refused by the receiver's tolerance
        Webhook(secret).verify(first.body, first.headers)
    Webhook(secret).verify(second.body, second.headers)  # the retry carries its own time
    [delivery] = deliveries()
    assert (delivery.status, delivery.attempts) == (DELIVERED, 2)
    assert [a.status_code for a in attempts(delivery.delivery_id)] == [500, 200]
    assert attempts(delivery.delivery_id)[0].response_excerpt == "boom"


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(app, owner, webinar, receiver, status):
    endpoint(owner, receiver.url)
    receiver.answer(Answer(status=status, headers={"Retry-After": "120"}))
    emit(webinar)
    sending.deliver_due()
    [delivery] = deliveries()
    [attempt] = attempts(delivery.delivery_id)
    assert delivery.status == PENDING
    waited = (delivery.next_attempt_at - attempt.attempted_at).total_seconds()
    assert 119 <= waited <= 122


def test_410_kills_the_delivery_and_disables_the_endpoint(app, owner, webinar, receiver, client, auth):
    made, _ = endpoint(owner, receiver.url)
    receiver.answer(Answer(status=410))
    emit(webinar)
    sending.deliver_due()
    [delivery] = deliveries()
    assert delivery.status == DEAD
    db.session.refresh(made)
    assert made.enabled is False and made.disabled_reason == DISABLED_GONE
    emit(webinar)
    assert sending.deliver_due() == 0  # a disabled endpoint gets nothing more
    assert len(receiver.received) == 1
    auth.login(owner.email)
    page = client.get("/admin/webhooks/").get_data(as_text=True)
    assert 'data-testid="webhook-disabled"' in page and "answered 410 Gone" in page
    # The banner speaks the reader's language; the API says it in English.
    russian = client.get("/admin/webhooks/", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "отключён" in russian and "Получатель ответил 410 Gone" in russian and "The receiver" not in russian
    shown = client.get(f"/admin/webhooks/{made.endpoint_id}", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert 'data-testid="webhook-disabled"' in shown and "The receiver" not in shown
    gone = "The receiver answered 410 Gone."
    assert endpoints.endpoint_json(made)["disabled_reason"] == gone


def test_slow_receiver_times_out_and_is_retried(app, owner, webinar, receiver):
    endpoint(owner, receiver.url)
    receiver.answer(Answer(sleep=2.0))
    event = emit(webinar)
    sending.deliver_due(timeout=0.5)
    [delivery] = deliveries()
    assert delivery.status == PENDING and "timed out" in (delivery.last_error or "")
    make_due()
    sending.deliver_due()
    assert receiver.ids() == [event.event_id, event.event_id]
    assert deliveries()[0].status == DELIVERED


def test_answer_broken_off_mid_body_is_not_a_success(app, owner, webinar, receiver):
    endpoint(owner, receiver.url)
    receiver.answer(Answer(broken=True))
    event = emit(webinar)
    sending.deliver_due()
    [delivery] = deliveries()
    assert delivery.status == PENDING and delivery.last_error
    make_due()
    sending.deliver_due()
    assert receiver.ids() == [event.event_id] * 2
    assert deliveries()[0].status == DELIVERED


def test_redirects_are_not_followed(app, owner, webinar, receiver):
    endpoint(owner, receiver.url)
    receiver.answer(Answer(status=307, headers={"Location": receiver.url + "/elsewhere"}))
    emit(webinar)
    sending.deliver_due()
    assert [r.path for r in receiver.received] == ["/hook"]
    [delivery] = deliveries()
    assert delivery.status == PENDING and delivery.last_status_code == 307


def test_backoff_is_full_jitter_within_the_documented_caps():
    import random
    rng = random.Random(7)
    for n, cap in [(1, 30), (2, 60), (5, 480), (11, 6 * 3600), (40, 6 * 3600)]:
        samples = [sending.backoff(n, rng) for _ in range(200)]
        assert all(0 <= s <= cap for s in samples) and max(samples) > cap * 0.8


def test_a_delivery_failing_for_three_days_is_dead_and_an_endpoint_failing_for_days_is_disabled(
        app, owner, webinar, receiver):
    made, _ = endpoint(owner, receiver.url)
    receiver.answer(Answer(status=500), Answer(status=500))
    emit(webinar)
    sending.deliver_due()
    [delivery] = deliveries()
    delivery.first_attempt_at = utcnow() - timedelta(days=3)
    made.failing_since = utcnow() - timedelta(days=6)
    db.session.commit()
    make_due()
    sending.deliver_due()
    [delivery] = deliveries()
    assert delivery.status == DEAD and delivery.attempts == 2
    db.session.refresh(made)
    assert made.enabled is False and made.disabled_reason == DISABLED_FAILING
    assert endpoints.endpoint_json(made)["disabled_reason"] == (
        f"Every delivery failed since {made.failing_since:%Y-%m-%d %H:%M} UTC.")


def test_rotation_signs_with_both_secrets(app, owner, webinar, receiver):
    made, old = endpoint(owner, receiver.url)
    new = endpoints.rotate_secret(owner, made.endpoint_id)
    db.session.commit()
    emit(webinar)
    sending.deliver_due()
    [got] = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(got.body, got.headers)
    Webhook(new).verify(got.body, got.headers)
    # Once the old secret expired, only the new one signs.
    for s in made.secrets:
        if s.secret == old:
            s.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    emit(webinar)
    sending.deliver_due()
    latest = receiver.received[-1]
    Webhook(new).verify(latest.body, latest.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(latest.body, latest.headers)
    assert json.loads(latest.body)["event_id"] != json.loads(got.body)["event_id"]


def test_a_registration_through_the_public_form_reaches_the_receiver(app, owner, client, receiver):
    live = factories.webinar(owner=owner, status=Status.scheduled.value)
    _, secret = endpoint(owner, receiver.url, events=["client_webinar_registered"])
    page = client.get(f"/w/{live.slug}").get_data(as_text=True)
    answer = client.post(f"/w/{live.slug}/register", data={
        "name": "Ann Lee", "email": "ann@example.com", "csrf_token": csrf_token_from(page)})
    assert answer.status_code in (200, 303)
    assert sending.deliver_due() == 1
    [got] = receiver.received
    payload = Webhook(secret).verify(got.body, got.headers)
    assert payload["event"] == "client_webinar_registered" and payload["webinar_id"] == live.webinar_id
    assert payload["data"]["email"] == "ann@example.com" and payload["lead_id"]
