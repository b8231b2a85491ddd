"""/api/v1/webhooks: list, create (the secret once), delete — through portal.webhooks."""
from __future__ import annotations

from standardwebhooks import Webhook

from tests.api.conftest import issue


def test_create_list_delete(app, make, api):
    owner = make.user()
    token = issue(owner, scopes="webhooks")
    created = api("POST", "/api/v1/webhooks", token, json={"url": "http://127.0.0.1:9/hook",
                                                           "events": ["client_webinar_registered"]})
    assert created.status_code == 201, created.json
    assert created.json["secret"].startswith("whsec_") and created.json["id"]
    Webhook(created.json["secret"])  # the reference implementation accepts the secret
    listed = api("GET", "/api/v1/webhooks", token).json["data"]
    assert [e["id"] for e in listed] == [created.json["id"]] and "secret" not in listed[0]
    assert api("GET", "/api/v1/webhooks", issue(make.user(), scopes="webhooks")).json["data"] == []
    other = api("DELETE", f"/api/v1/webhooks/{created.json['id']}", issue(make.user(), scopes="webhooks"))
    assert other.status_code == 404
    assert api("DELETE", f"/api/v1/webhooks/{created.json['id']}", token).status_code == 204
    assert api("GET", "/api/v1/webhooks", token).json["data"] == []


def test_bad_endpoints_are_422_and_a_speaker_403(app, make, api):
    owner = make.user()
    token = issue(owner, scopes="webhooks")
    for body in ({"url": "ftp://example.com/x"}, {"url": "http://127.0.0.1:9/x", "events": ["nope"]},
                 {"url": "http://127.0.0.1:9/x", "webinar_id": make.webinar().webinar_id}, {}):
        answer = api("POST", "/api/v1/webhooks", token, json=body)
        assert answer.status_code == 422 and answer.mimetype == "application/problem+json", body
    speaker = api("POST", "/api/v1/webhooks", issue(make.user(role="speaker"), scopes="webhooks"),
                  json={"url": "http://127.0.0.1:9/x"})
    assert speaker.status_code == 403
    assert api("GET", "/api/v1/webhooks", token).json["data"] == []
