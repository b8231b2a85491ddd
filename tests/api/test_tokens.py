"""API tokens: issued by the CLI (token alone on the last line) and /admin/tokens (shown once),
stored hashed, scoped, revocable, last-used time noted, rate limited per token."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from portal.api import auth
from portal.core import tokens
from portal.core.models import ApiToken
from portal.extensions import db
from tests.api.conftest import bearer, issue
from tests.conftest import csrf_token_from


def test_cli_prints_the_token_alone_on_its_last_line_and_stores_only_its_hash(app, make, runner, api):
    user = make.user(role="speaker", email="obs@example.com")
    result = runner.invoke(args=["portal", "create-token", "--email", "OBS@example.com", "--scopes", "read,control",
                                 "--name", "Stream Deck"])
    assert result.exit_code == 0, result.output
    secret = result.output.rstrip("\n").splitlines()[-1]
    assert secret.startswith("wpt_") and " " not in secret and len(secret) >= 40
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.user_id))
    assert row.name == "Stream Deck" and row.scopes == "read control"
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in str(vars(row))
    assert api("GET", "/api/v1/webinars", secret).status_code == 200


@pytest.mark.parametrize(("args", "message"), [
    (["--email", "nobody@example.com", "--scopes", "read"], "No account with the email"),
    (["--email", "org@example.com", "--scopes", "read,admin"], "Unknown scope admin"),
    (["--email", "org@example.com", "--scopes", ","], "Choose at least one scope"),
])
def test_cli_refuses_bad_input_and_issues_nothing(app, make, runner, args, message):
    make.user(email="org@example.com")
    result = runner.invoke(args=["portal", "create-token", *args])
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalars(select(ApiToken)).all() == []


def test_cli_refuses_a_lead(app, make, runner):
    make.lead(email="lead-x@example.com")
    result = runner.invoke(args=["portal", "create-token", "--email", "lead-x@example.com", "--scopes", "read"])
    assert result.exit_code != 0 and "active staff accounts" in result.output


def test_admin_page_shows_the_token_once_lists_it_and_revokes_it(app, make, client, auth, api):
    me = make.user(role="organizer", email="me@example.com")
    other = issue(make.user(role="organizer"), name="someone else's")
    auth.login("me@example.com")
    page = client.get("/admin/tokens")
    assert page.status_code == 200 and "someone else" not in page.get_data(as_text=True)
    answer = client.post("/admin/tokens", data={"name": "OBS", "scopes": ["read", "control"],
                                                 "csrf_token": csrf_token_from(page.get_data(as_text=True))})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 201 and 'data-testid="token-secret"' in html
    secret = html.split('data-testid="token-secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("wpt_")
    again = client.get("/admin/tokens").get_data(as_text=True)
    assert secret not in again and secret[:12] in again and "never" in again
    assert api("GET", "/api/v1/webinars", secret).status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == me.user_id))
    db.session.refresh(token)
    assert token.last_used_at is not None
    assert "never" not in client.get("/admin/tokens").get_data(as_text=True).split(secret[:12], 1)[1].split("</tr>")[0]
    revoke = client.post(f"/admin/tokens/{token.token_id}/revoke", data={"csrf_token": auth.csrf("/admin/tokens")})
    assert revoke.status_code == 303
    refused = api("GET", "/api/v1/webinars", secret)
    assert refused.status_code == 401 and refused.json["code"] == "unauthorized"
    assert api("GET", "/api/v1/webinars", other).status_code == 200, "only that token was revoked"


def test_admin_page_refuses_no_scope_and_another_users_token(app, make, client, auth):
    make.user(role="organizer", email="me2@example.com")
    theirs = make.user(role="organizer")
    issue(theirs)
    their_token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == theirs.user_id))
    auth.login("me2@example.com")
    token = auth.csrf("/admin/tokens")
    answer = client.post("/admin/tokens", data={"name": "x", "csrf_token": token})
    assert answer.status_code == 422 and "Choose at least one scope" in answer.get_data(as_text=True)
    assert client.post(f"/admin/tokens/{their_token.token_id}/revoke", data={"csrf_token": token}).status_code == 404
    db.session.refresh(their_token)
    assert their_token.revoked_at is None
    assert db.session.scalars(select(ApiToken)).all() == [their_token]


def test_a_speaker_cannot_open_the_token_page(app, make, client, auth):
    make.user(role="speaker", email="sp@example.com")
    auth.login("sp@example.com")
    assert client.get("/admin/tokens").status_code == 403


@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer wpt_not-a-real-token", "Bearer not-even-prefixed",
    "Bearer " + "wpt_" + "x" * 300,
])
def test_bad_tokens_get_401_problems_with_a_bearer_challenge(app, make, api, header):
    issue(make.user())
    answer = api("GET", "/api/v1/webinars", headers={"Authorization": header} if header else {})
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"
    assert answer.json["status"] == 401 and answer.json["detail"]
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="api"')


def test_a_disabled_account_s_token_stops_working(app, make, api):
    user = make.user()
    secret = issue(user)
    assert api("GET", "/api/v1/webinars", secret).status_code == 200
    user.is_disabled = True
    db.session.commit()
    assert api("GET", "/api/v1/webinars", secret).status_code == 401


@pytest.mark.parametrize(("scopes", "method", "path", "body"), [
    ("control", "GET", "/api/v1/webinars", None),
    ("read", "POST", "/api/v1/webinars/{id}/status", {"action": "start"}),
    ("read,webhooks", "POST", "/api/v1/webinars/{id}/cta", {"visibility": "visible"}),
    ("read,control", "GET", "/api/v1/webhooks", None),
    ("webhooks", "GET", "/api/v1/events", None),
])
def test_wrong_scope_is_403_and_changes_nothing(app, make, api, scopes, method, path, body):
    owner = make.user()
    webinar = make.webinar(owner=owner, status="scheduled")
    secret = issue(owner, scopes=scopes)
    answer = api(method, path.format(id=webinar.webinar_id), secret, json=body)
    assert answer.status_code == 403 and answer.json["code"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
    db.session.refresh(webinar)
    assert (webinar.status, webinar.cta_visibility) == ("scheduled", "hidden")


def test_rate_limited_per_token(app, make, api, monkeypatch):
    monkeypatch.setattr(auth, "REQUESTS_PER_MINUTE", 3)
    user = make.user()
    first, second = issue(user), issue(user)
    assert [api("GET", "/api/v1/webinars", first).status_code for _ in range(3)] == [200, 200, 200]
    limited = api("GET", "/api/v1/webinars", first)
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) >= 1 and limited.json["retry_after"] >= 1
    assert api("GET", "/api/v1/webinars", second).status_code == 200, "another token has its own count"


def test_last_used_is_written_at_most_once_a_minute(app, make, api):
    user = make.user()
    secret = issue(user)
    api("GET", "/api/v1/webinars", secret)
    token = db.session.scalar(select(ApiToken))
    first = token.last_used_at
    api("GET", "/api/v1/webinars", secret)
    db.session.refresh(token)
    assert first is not None and token.last_used_at == first


def test_tokens_are_issued_only_to_yourself_in_the_pages(app, make):
    me, other = make.user(), make.user()
    with pytest.raises(tokens.Invalid):
        tokens.issue(other, name="x", scopes="read", actor=me)


def test_no_cookie_is_set_or_needed(app, make, api):
    secret = issue(make.user())
    answer = api("GET", "/api/v1/webinars", secret)
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
    assert answer.headers["Cache-Control"] == "no-store"
    assert bearer(secret)
