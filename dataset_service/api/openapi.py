"""What the OpenAPI document says beyond what flask-smorest derives: each operation's errors that
the app's mechanisms give any view (authentication, ids in the path, body parsing, contention, an
unreachable database), written once here rather than on every view; and the objects of every shape
as a discriminated union."""
from __future__ import annotations

from collections.abc import Collection
from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields

from ..schemas import ShapeUnion

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


class SchemasPlugin(MarshmallowPlugin):
    """apispec's marshmallow plugin, that also describes the objects of every shape (before any
    schema is converted: the error schema, converted first, holds an annotation)."""

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        self.converter.add_attribute_function(shape_union_properties)


def shape_union_properties(self, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    """Describe a ShapeUnion as oneOf its shapes' schemas, discriminated by `shape` (an apispec
    attribute function: `self` is its OpenAPI converter)."""
    if not isinstance(field, ShapeUnion):
        return {}
    refs = {shape: self.resolve_nested_schema(schema) for shape, schema in field.schemas.items()}
    return {"oneOf": list(refs.values()), "discriminator": {"propertyName": "shape", "mapping": {s: ref["$ref"] for s, ref in refs.items()}}}
