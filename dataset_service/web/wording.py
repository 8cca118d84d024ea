"""The pages' words for the API's field names: an error names a field as the page labels it
("Created from: must not be after Created to", not "created_from: must not be after created_to").

The same table reaches the pages' scripts (`base.html`), which word the API's errors with it."""
from __future__ import annotations

import re
from typing import Any

FIELD_NAMES = {
    "state": "Tab",
    "label": "Labels",
    "label_op": "Combine labels",
    "created": "Created",
    "created_from": "Created from",
    "created_to": "Created to",
    "path": "File name or path",
    "dir": "File name or path",
    "labeled_by": "Labeled by",
    "cursor": "Page",
    "limit": "Per page",
    "offset": "Page",
    "name": "Name",
    "description": "Description",
    "input_path": "Input path",
    "output_path": "Output path",
    "labels": "Labels",
    "color": "Colour",
    "files": "Files",
    "force": "Delete anyway",
    "revision": "Revision",
    "objects": "Objects",
    "points": "Points",
    "_schema": "Filter",
}
# A raw field name inside a message: the snake_case ones, which no sentence uses as a word.
RAW_NAME = re.compile(r"\b(" + "|".join(name for name in FIELD_NAMES if "_" in name.strip("_")) + r")\b")


def field_name(name: str) -> str:
    """Return the page's name for an input field."""
    return FIELD_NAMES.get(name, name.replace("_", " ").capitalize())


def human(message: str) -> str:
    """Replace the raw field names a message quotes with the page's names."""
    return RAW_NAME.sub(lambda match: FIELD_NAMES[match.group(1)], message)


def error_lines(errors: dict[str, Any]) -> list[str]:
    """Return one line per field: its page name, then its messages."""
    lines = []
    for name, messages in errors.items():
        text = messages if isinstance(messages, str) else "; ".join(map(str, messages))
        lines.append(f"{field_name(name)}: {human(text)}")
    return lines
