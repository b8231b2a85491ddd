"""The OpenAPI 3.1 document: generated from the code, valid, complete with bearer auth and the
problem schema; rendered at /api/v1/docs from vendored assets under the strict CSP; and
schemathesis run against the live app (real HTTP, a real token) finds nothing."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode

from portal import ROOT
from tests.api.conftest import issue

EXPECTED = {
    ("get", "/api/v1/webinars"), ("get", "/api/v1/webinars/{webinar_id}"),
    ("post", "/api/v1/webinars/{webinar_id}/status"), ("post", "/api/v1/webinars/{webinar_id}/cta"),
    ("get", "/api/v1/webinars/{webinar_id}/registrations"), ("get", "/api/v1/webinars/{webinar_id}/attendance"),
    ("get", "/api/v1/events"), ("get", "/api/v1/webhooks"), ("post", "/api/v1/webhooks"),
    ("delete", "/api/v1/webhooks/{endpoint_id}"),
}


def test_the_document_is_valid_openapi_3_1_and_complete(app, client):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    spec = answer.json
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    operations = {(m, p) for p, item in spec["paths"].items() for m in item if m in ("get", "post", "delete")}
    assert operations == EXPECTED
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An API token: wpt_…"}
    assert spec["security"] == [{"bearerAuth": []}]
    assert {"type", "title", "status", "detail", "code"} <= set(spec["components"]["schemas"]["Problem"]["required"])
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "delete"):
                continue
            assert "401" in op["responses"] and "default" in op["responses"], (method, path)
            assert list(op["responses"]["401"]["content"]) == ["application/problem+json"]


def test_every_api_view_declares_a_scope(app):
    from portal.api.auth import scope_of

    endpoints = [r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert endpoints and all(scope_of(e) in ("read", "control", "webhooks") for e in endpoints)


def test_docs_page_uses_vendored_assets_only(app, client):
    answer = client.get("/api/v1/docs")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in html and "<script>" not in html
    assert "http://" not in html.replace('http://localhost', '') and "https://" not in html
    vendor = Path(ROOT) / "static" / "vendor" / "swagger-ui-5.35.0"
    assert (vendor / "LICENSE").is_file() and (vendor / "swagger-ui.css").is_file()
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    script = client.get("/static/js/api_docs.js")
    assert script.status_code == 200
    script.close()


ACCEPTED = ["2xx", "401", "403", "404", "409", "429"]
#: Schema-valid input the API still refuses, and why the schema cannot say so: a cursor is an
#: opaque signed string (any other string is a 400); an endpoint URL must resolve to an address
#: the portal may deliver to (else 422).
SCHEMATHESIS = {
    "generation": {"max-examples": 6, "mode": "all"},
    "operations": [
        {"include-path-regex": "^/api/v1/webinars(/[^/]+/(registrations|attendance))?$", "include-method": "GET",
         "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}}},
        {"include-path": "/api/v1/webhooks", "include-method": "POST",
         "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}}},
    ],
}


@pytest.fixture
def live_api(app, make, live_server):
    """The live app, a real token of an organizer who owns a scheduled and a live webinar."""
    owner = make.user()
    make.webinar(owner=owner, status="scheduled")
    make.webinar(owner=owner, status="live")
    token = issue(owner)
    with urllib.request.urlopen(f"{live_server.url}/api/v1/openapi.json") as answer:
        spec = json.load(answer)
    schema = schemathesis.openapi.from_dict(spec, config=schemathesis.Config.from_dict(SCHEMATHESIS))
    return schema, live_server.url, token


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_nothing_against_the_live_app(live_api, mode):
    schema, base_url, token = live_api
    failures = []

    @settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              derandomize=True)
    def run(case) -> None:  # noqa: ANN001
        case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {token}"})

    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            given(case=operation.as_strategy(generation_mode=mode))(run)()
        except Exception as error:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)
