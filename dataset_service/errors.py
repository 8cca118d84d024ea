"""Domain errors, and the one place that turns them (and every other failure) into responses."""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, request
from marshmallow import Schema, ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from storage.errors import AccessDenied, ObjectNotFound, StorageError, StoreUnavailable

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule of the service was broken; carries its HTTP status and error code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, Any] | None = None, body: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.body = body or {}


class Invalid(DomainError):
    status, code = 422, "invalid"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class TooLarge(DomainError):
    status, code = 413, "too_large"


class UnsupportedMedia(DomainError):
    status, code = 415, "unsupported_media_type"


class Unavailable(DomainError):
    status, code = 503, "unavailable"


class MalformedBody(DomainError):
    status, code = 400, "invalid_json"


def error_body(code: str, message: str, fields: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Shape every error the same way."""
    return {"error": code, "message": message, "fields": fields or {}, **extra}


def field_messages(messages: Any) -> dict[str, Any]:
    """Key validation messages by field; those about the input as a whole go under `_schema`."""
    return messages if isinstance(messages, dict) else {"_schema": messages}


def form_errors(exc: ValidationError | DomainError) -> dict[str, Any]:
    """Return the messages a page shows beside its fields for a rejected input."""
    if isinstance(exc, ValidationError):
        return field_messages(exc.messages)
    return exc.fields or {"_schema": [exc.message]}


def _invalid_body(fields: dict[str, Any]) -> dict[str, Any]:
    """Shape the 422 of an input with invalid fields."""
    return error_body("invalid", "The request has invalid fields: " + ", ".join(map(str, fields)), fields)


def _extras(exc: DomainError) -> dict[str, Any]:
    """Return what the error carries besides its message, dumped by the schema the app registered
    (a conflict's current annotation); extras it does not declare pass as they are (JSON already).

    The schema is handed in by `register` rather than imported: errors sit below the schemas."""
    schema: Schema | None = current_app.extensions.get("error_extras")
    return {**exc.body, **schema.dump(exc.body)} if schema is not None and exc.body else dict(exc.body)


def _storage_error(exc: StorageError) -> tuple[int, str]:
    if isinstance(exc, ObjectNotFound):
        return 404, "object_not_found"
    if isinstance(exc, AccessDenied):
        return 502, "object_store_access_denied"
    if isinstance(exc, StoreUnavailable):
        return 503, "object_store_unavailable"
    return 502, "object_store_error"


# Database errors that say "another transaction got in the way": PostgreSQL's SQLSTATE classes
# 40 (deadlock, serialization failure) and 55P03 (lock not available), SQLite's busy and locked.
RETRY_STATES = ("40", "55P03", "SQLITE_BUSY", "SQLITE_LOCKED")
# A row another request inserted or deleted at the same moment: unique and foreign-key violations.
RACE_STATES = ("23505", "23503", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_FOREIGNKEY")


def _database_state(exc: DBAPIError) -> str:
    """Return the driver's error state: PostgreSQL's SQLSTATE or SQLite's error name ('' if none)."""
    return getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "sqlite_errorname", None) or ""


def _database_error(exc: Exception) -> tuple[int, dict[str, Any]] | None:
    """Map a database failure that valid input can meet (contention, a race, an outage); None for the rest."""
    if isinstance(exc, PoolTimeout):
        return 503, error_body("database_unavailable", "The database is busy: no connection came free in time; try again shortly.")
    if not isinstance(exc, DBAPIError):
        return None
    state = _database_state(exc)
    if state.startswith(RETRY_STATES):
        return 409, error_body("try_again", "The change ran into another one at the same moment and was undone; try again.")
    if isinstance(exc, IntegrityError) and state.startswith(RACE_STATES):
        return 409, error_body("conflict", "Something this change depends on was changed at the same moment; reload and try again.")
    if isinstance(exc, (OperationalError, InterfaceError)):
        return 503, error_body("database_unavailable", "The database cannot be reached; try again shortly.")
    return None


def to_response(exc: Exception) -> tuple[int, dict[str, Any]]:
    """Map any exception to a status and a JSON body."""
    if isinstance(exc, DomainError):
        return exc.status, error_body(exc.code, exc.message, exc.fields, **_extras(exc))
    if isinstance(exc, ValidationError):
        return 422, _invalid_body(field_messages(exc.messages))
    if isinstance(exc, StorageError):
        status, code = _storage_error(exc)
        return status, error_body(code, str(exc))
    if (mapped := _database_error(exc)) is not None:
        log.warning("database error answered with %s: %s", mapped[0], str(exc).splitlines()[0])
        return mapped
    if isinstance(exc, HTTPException):
        return exc.code or 500, _http_body(exc)
    log.exception("unhandled error")
    return 500, error_body("internal_error", "An unexpected error happened; it has been logged.")


def _http_body(exc: HTTPException) -> dict[str, Any]:
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if messages:  # webargs/flask-smorest parsing errors: {"json": {...}} or {"query": {...}}
        fields: dict[str, Any] = {}
        for location in messages.values():
            fields.update(field_messages(location))
        return _invalid_body(fields)
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_body(code, exc.description or exc.name or "error")


def wants_json() -> bool:
    """Tell whether the caller is an API client rather than a browser page."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app: Flask, page_renderer=None, extras: Schema | None = None) -> None:
    """Install the one error handler on the app; `extras` dumps what errors carry besides their message."""
    app.extensions["error_extras"] = extras

    def handle(exc: Exception):
        status, body = to_response(exc)
        if page_renderer is not None and not wants_json():
            return page_renderer(status, body)
        return jsonify(body), status

    app.register_error_handler(Exception, handle)
    # HTTP errors too (404, 405, CSRF): flask-smorest registered a JSON-only handler for them.
    app.register_error_handler(HTTPException, handle)
