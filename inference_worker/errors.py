"""The worker's domain errors; `app.py` maps each to one JSON response."""

from __future__ import annotations


class WorkerError(Exception):
    """An error answered as `{"error": code, "message": message}` with an HTTP status."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class BadRequest(WorkerError):
    """The request cannot be served as sent (400)."""

    status = 400
    code = "bad_request"


class Unauthorized(WorkerError):
    """The request lacks the worker's token, or carries another (401)."""

    status = 401
    code = "unauthorized"


class Forbidden(WorkerError):
    """The request names something this worker may not read (403)."""

    status = 403
    code = "forbidden"


class ImageNotFound(WorkerError):
    """The image URI names no object (404)."""

    status = 404
    code = "image_not_found"


class StoreFailed(WorkerError):
    """The object store refused us or is broken (502)."""

    status = 502
    code = "store_error"


class StoreUnavailable(WorkerError):
    """The object store cannot be reached now (503)."""

    status = 503
    code = "store_unavailable"


class Overloaded(WorkerError):
    """Too many requests are waiting; the client should retry later (503)."""

    status = 503
    code = "overloaded"


class NotReady(WorkerError):
    """The model is not loaded (503)."""

    status = 503
    code = "not_ready"
