"""What the OpenAPI document says each operation may answer besides its own responses: the errors
the app's mechanisms give any view (authentication, ids in the path, body parsing, contention, an
unreachable database), written once here rather than on every view."""
from __future__ import annotations

from collections.abc import Collection
from http import HTTPStatus
from typing import Any

from apispec import BasePlugin

WRITES = {"post", "put", "patch", "delete"}


def common_errors(path: str, method: str, operation: dict[str, Any], public: bool) -> list[HTTPStatus]:
    """Return the error statuses an operation may answer whatever its view does."""
    statuses = [HTTPStatus.SERVICE_UNAVAILABLE]  # the database or the object store cannot be reached
    if not public:
        statuses.append(HTTPStatus.UNAUTHORIZED)
    if "{" in path:
        statuses.append(HTTPStatus.NOT_FOUND)  # no such row, or an id beyond 64 bits
    if "requestBody" in operation:
        statuses += [HTTPStatus.BAD_REQUEST, HTTPStatus.REQUEST_ENTITY_TOO_LARGE]  # not JSON, or over the size limit
    if method in WRITES:
        statuses.append(HTTPStatus.CONFLICT)  # another change got in the way: try again
    return statuses


class ErrorResponses(BasePlugin):
    """Add the common error responses (as flask-smorest's components, of schema `Error`) to each operation."""

    def __init__(self, public_paths: Collection[str]):
        super().__init__()
        self.public_paths = public_paths

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        public = path in self.public_paths
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            for status in common_errors(path or "", method, operation, public):
                if status not in responses and str(int(status)) not in responses:
                    responses[str(int(status))] = status.name
            if public:
                operation["security"] = []  # no bearer token needed
