"""Liveness and readiness."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from storage.errors import StorageError

from ..db_session import db

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """Say the process is up."""
    return jsonify({"status": "ok"})


@blp.get("/readyz")
def readyz():
    """Say whether the database and the object store answer."""
    checks = {"database": "ok", "object_store": "ok"}
    try:
        db().execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means not ready
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        current_app.extensions["store_probe"]()
    except StorageError as exc:
        checks["object_store"] = f"error: {exc}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), 200 if ready else 503
