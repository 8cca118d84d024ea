"""Web pages: server-rendered templates with small JavaScript modules, over the same services as the API."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Flask, redirect, render_template, request, url_for

from . import accounts, api_docs, csrf, dataset_tabs, datasets, images, labeling, wording
from .query import page_numbers

# Templates and static files shared by every page blueprint (the app's own /static stays unused).
assets = Blueprint("assets", __name__, template_folder="templates", static_folder="static", static_url_path="/assets")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    """Register CSRF protection, the page blueprints and the page security headers."""
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    csrf.init_app(app)
    app.jinja_env.globals.update(
        error_lines=wording.error_lines, human=wording.human, field_names=wording.FIELD_NAMES, page_numbers=page_numbers,
        dataset_sections=dataset_tabs.SECTIONS,
    )
    app.register_blueprint(assets)
    for module in (accounts, datasets, dataset_tabs, labeling, images, api_docs):
        app.register_blueprint(module.blp)
    app.after_request(_page_headers)


def _page_headers(response):
    """Keep pages out of frames and scripts to our own files."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def render_error(status: int, body: dict):
    """Render an error for a browser; a page that needs a login sends the visitor to log in."""
    if status == 401:
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("accounts.login") + "?" + urlencode({"next": target}))
    return render_template("error.html", status=status, body=body), status
