"""Liveness and readiness."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..db_session import db

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """Say the process is up."""
    return jsonify({"status": "ok"})


@blp.get("/readyz")
def readyz():
    """Say whether the database answers, and what the object store last answered (it is checked
    in the background: a hanging store never holds this request)."""
    checks = {"database": "ok", "object_store": current_app.extensions["store_readiness"].status()}
    try:
        db().execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means not ready
        checks["database"] = f"error: {exc.__class__.__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), 200 if ready else 503
