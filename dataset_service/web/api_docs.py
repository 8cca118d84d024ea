"""The REST API's documentation page: Swagger UI over `/api/v1/openapi.json`, served from this
machine (the `swagger-ui-bundle` package), so it works where the internet cannot be reached."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

blp = Blueprint("api_docs", __name__)

# The files of Swagger UI the page loads; nothing else of the package is served.
FILES = frozenset({"swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"})


@blp.get("/api/docs")
def page():
    """Show the API documentation (public, like the OpenAPI document it reads)."""
    return render_template("api/docs.html")


@blp.get("/api/docs/ui/<name>")
def ui_file(name: str):
    """Send one of Swagger UI's own files."""
    if name not in FILES:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name, max_age=7 * 24 * 3600)
