"""The API's blueprints: flask-smorest's, reading bodies with `BodyParser`, with the authorization
rules of `dataset_service.access` applied per route and documented."""
from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, NoReturn

import flask_smorest
from flask import Request
from webargs.flaskparser import FlaskParser

from .. import access
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
    """flask-smorest's Blueprint with the API's body parser and its authorization rules. Put
    `allow(...)` or `admin_only` right under the route, so that the rule is checked before the
    request's body is read."""

    ARGUMENTS_PARSER = BodyParser()

    def admin_only(self, view: Callable) -> Callable:
        """Let only site admins through (`access.admin_required`), and document the 403 the others get."""
        return self.alt_response(HTTPStatus.FORBIDDEN, response=HTTPStatus.FORBIDDEN.name)(access.admin_required(view))

    def allow(self, action: access.Action) -> Callable[[Callable], Callable]:
        """Let through the roles that may do `action` in the route's dataset (`access.requires`),
        and document the 403 of the others and the 404 of non-members."""

        def decorate(view: Callable) -> Callable:
            forbidden = self.alt_response(HTTPStatus.FORBIDDEN, response=HTTPStatus.FORBIDDEN.name)
            return self.alt_response(HTTPStatus.NOT_FOUND, response=HTTPStatus.NOT_FOUND.name)(forbidden(access.requires(action)(view)))

        return decorate
