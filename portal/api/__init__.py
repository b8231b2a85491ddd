"""JSON API v1 (`/api/v1`, SPEC §6/§8): bearer tokens, webinars and their hooks, registrations,
attendance, the event feed, webhook endpoints; its OpenAPI 3.1 document at
`/api/v1/openapi.json` and a page rendering it at `/api/v1/docs`.

Why flask-smorest (pinned in pyproject.toml): it is a Flask *extension* bound with
`init_app` on the portal's plain `Flask` app and blueprint-based like every other domain
(APIFlask and flask-openapi3 want their own app class; spectree bolts a second validation
layer beside Flask's routing); it is maintained (marshmallow-code), supports Flask 3.1, writes
OpenAPI 3.1 through apispec, and the same marshmallow schemas validate the requests and
generate the document, so the two cannot drift apart. Two of its defaults are replaced (see
`PortalApi`): errors are the portal's RFC 9457 problem details (`application/problem+json`),
and its own error handler is not installed (it would answer every HTTP error of the whole app
with JSON).

The top layer: it calls core (tokens, lifecycle, permissions), reads registration and
attendance, and manages endpoints through portal.webhooks; nothing imports it.
"""
from __future__ import annotations

import http
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, render_template
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.wrappers import Response

from portal.api import schemas, views
from portal.extensions import csrf

TITLE = "Webinar portal API"
VERSION = "1"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class PortalApi(Api):
    """flask-smorest's Api with the portal's errors (problem details, documented as such)."""

    ERROR_SCHEMA = schemas.ProblemSchema

    def _register_error_handlers(self) -> None:
        # Not Api's app-wide HTTPException handler: the portal's errors.py answers pages with
        # pages; the API blueprint has its own handler (problems.http_problem).
        return None

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457).", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


docs_bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")


@docs_bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document, generated from the routes and schemas."""
    return jsonify(current_app.extensions["portal.api"].spec.to_dict())


@docs_bp.get("/docs")
def docs() -> str:
    """Swagger UI (vendored in static/vendor/swagger-ui-*) rendering the document."""
    return render_template("api/docs.html")


def init_app(app: Flask) -> None:
    api = PortalApi(spec_kwargs={
        "title": TITLE,
        "version": VERSION,
        "openapi_version": "3.1.0",
        "info": {"description": "Bearer tokens from /admin/tokens or `flask --app wsgi portal create-token`; "
                                "errors are RFC 9457 problem details. See docs/INTEGRATIONS.md."},
        "security": [{"bearerAuth": []}],
    })
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API token: wpt_…"})
    api.register_blueprint(views.bp)
    csrf.exempt(views.bp)  # bearer only: no cookie is read, so there is nothing to forge
    app.register_blueprint(docs_bp)
    app.extensions["portal.api"] = api
