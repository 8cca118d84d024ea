"""Web pages: server-rendered templates with small JavaScript modules."""
from __future__ import annotations

from flask import Flask, render_template_string


def init_app(app: Flask) -> None:
    """Register the page blueprints."""


ERROR_PAGE = """<!doctype html><title>{{ status }} {{ body.error }}</title>
<h1>{{ status }}</h1><p>{{ body.message }}</p><p><a href="/">Back</a></p>"""


def render_error(status: int, body: dict):
    """Render an error for a browser."""
    return render_template_string(ERROR_PAGE, status=status, body=body), status
