"""The app boots, serves its pages and answers the health check."""
from __future__ import annotations


def test_home_and_login_pages_render(client):
    home = client.get("/")
    assert home.status_code == 200
    assert b"htmx.min.js" in home.data
    assert b'hx-headers=\'{"X-CSRFToken"' in home.data
    assert client.get("/login").status_code == 200


def test_healthz_answers_when_database_is_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "up"}


def test_security_headers(client):
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
