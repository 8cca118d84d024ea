"""The API's blueprints: flask-smorest's, reading bodies with `BodyParser` and documenting the admin rule."""
from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, NoReturn

import flask_smorest
from flask import Request
from webargs.flaskparser import FlaskParser

from ..auth import admin_required
from ..errors import MalformedBody


class BodyParser(FlaskParser):
    """webargs' parser; a body it cannot read as JSON is one 400 naming the body, whatever the reason."""

    def _raw_load_json(self, req: Request) -> Any:
        try:
            return super()._raw_load_json(req)
        except RecursionError:  # e.g. 50,000 nested '[': the decoder runs out of stack
            raise MalformedBody("The request body nests too deeply to be read as JSON.", {"body": ["nested too deeply"]}) from None

    def _handle_invalid_json_error(self, error: Exception, req: Request, *args: Any, **kwargs: Any) -> NoReturn:
        raise MalformedBody(f"The request body is not valid JSON: {error}.", {"body": ["not valid JSON"]})


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the API's body parser and its admin-only rule."""

    ARGUMENTS_PARSER = BodyParser()

    def admin_only(self, view: Callable) -> Callable:
        """Let only admins through (`auth.admin_required`), and document the 403 the others get."""
        forbidden = self.alt_response(HTTPStatus.FORBIDDEN, response=HTTPStatus.FORBIDDEN.name)
        return forbidden(admin_required(view))
