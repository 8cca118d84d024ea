"""CSRF protection: every caller that the session cookie authenticates must send the CSRF token.

Forms send it as the `csrf_token` field and page JavaScript as the `X-CSRFToken` header. API
clients that send `Authorization: Bearer ...` need no token: a cross-site page cannot set that
header, so nothing can be forged on their behalf.
"""
from __future__ import annotations

from flask import Flask, current_app, flash, jsonify, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..errors import to_response, wants_json

protect = CSRFProtect()


def init_app(app: Flask) -> None:
    """Install CSRFProtect, checking by our rule instead of on every request."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # A labeling page stays open for hours; the token is bound to the session instead of a clock.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    protect.init_app(app)
    app.before_request(check_csrf)
    app.register_error_handler(CSRFError, refused)


def needs_token() -> bool:
    """Tell whether this request is authenticated by the session cookie (or is a page form)."""
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return False
    if request.path.startswith("/api/"):
        return session.get("uid") is not None
    return True


def check_csrf() -> None:
    """Refuse an unsafe request that needs the CSRF token and lacks a valid one."""
    if current_app.config.get("WTF_CSRF_ENABLED", True) and needs_token():
        protect.protect()


def refused(exc: CSRFError):
    """Answer a refused request: JSON for the API; for a page, back to a form to fill in again."""
    if wants_json():
        status, body = to_response(exc)
        return jsonify(body), status
    flash("The form had expired, so nothing was done; please try again.")
    rule = request.url_rule
    return redirect(request.path if rule is not None and "GET" in rule.methods else url_for("datasets.index"))
