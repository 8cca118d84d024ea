"""The REST API under /api/v1: thin views over the services, OpenAPI from the schemas."""
from __future__ import annotations

from flask import Flask, jsonify, request
from flask_smorest import Api
from werkzeug.routing import IntegerConverter

from ..auth import current_user
from ..errors import to_response
from ..schemas import INT64_MAX, Error
from . import auth, dashboard, datasets, health, imports, jobs, samples, team, versions
from .openapi import ErrorResponses, SchemasPlugin


class ServiceApi(Api):
    """flask-smorest's Api, with our one error shape for HTTP errors too, and documented as such."""

    ERROR_SCHEMA = Error

    def handle_http_exception(self, error):
        status, body = to_response(error)
        return jsonify(body), status


class IdConverter(IntegerConverter):
    """`<int:...>`: an id of the database, so at most a 64-bit integer; a larger one matches no route (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", INT64_MAX)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> Api:
    """Register the API blueprints and the OpenAPI document."""
    # Before any route is added, so that the pages' `<int:...>` are ids too.
    app.url_map.converters["int"] = IdConverter
    app.config.update(
        API_TITLE="Dataset labeling service",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    bearer = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    api = ServiceApi(app, spec_kwargs={
        "components": {"securitySchemes": bearer}, "security": [{"bearerAuth": []}], "extra_plugins": [ErrorResponses(PUBLIC_PATHS)],
        "marshmallow_plugin": SchemasPlugin(),
    })
    for module in (auth, datasets, samples, jobs, versions, imports, dashboard, team):
        api.register_blueprint(module.blp, url_prefix="/api/v1", name=f"api_{module.blp.name}")
    app.register_blueprint(health.blp)

    @app.before_request
    def require_authentication():
        if request.path.startswith("/api/v1/") and request.path not in PUBLIC_PATHS:
            current_user()

    return api


PUBLIC_PATHS = {"/api/v1/auth/token", "/api/v1/openapi.json"}
