"""Write annotation XML structurally with lxml.builder, in ModelArts' segmentation layout.

Per object we write ModelArts' elements (name, pose, truncated, occluded, difficult,
mask_color, the shape, confidence) and then our own attribution elements, which plain
PASCAL-VOC readers ignore: <label_tool> (polygon | extreme_points | import), <labeled_by>,
<labeled_at>, <updated_by>, <updated_at> (ISO 8601 with time zone). Coordinates are written
as integers when whole, else rounded to 2 decimals. The writer refuses what the reader would
refuse or read back differently (e.g. a polygon that repeats its first point, text with
surrounding white space, naive times), so reading what we wrote gives back what we gave.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from lxml import etree
from lxml.builder import E

from storage.annotations.geometry import box_of, check_points, number_text
from storage.annotations.model import (
    SHAPES,
    SOURCES,
    TOOL_BY_SOURCE,
    AnnotatedObject,
    Annotation,
    AnnotationError,
    Color,
    Malformed,
    Point,
)

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write_annotation(ann: Annotation) -> bytes:
    """Serialize an annotation to UTF-8 XML; raise AnnotationError if it cannot be written faithfully."""
    try:
        root = _annotation(ann)
    except Malformed as exc:
        raise AnnotationError(ann.filename or "annotation", str(exc)) from None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _annotation(ann: Annotation) -> etree._Element:
    """Build the <annotation> element."""
    for name in ("width", "height", "depth"):
        _positive_int(getattr(ann, name), f"size/{name}")
    objects = [_object(obj, i, ann) for i, obj in enumerate(ann.objects, 1)]
    return E.annotation(
        E.folder(_text(ann.folder, "folder")),
        E.filename(_text(ann.filename, "filename", empty_ok=True)),
        E.source(E.database("Unknown")),
        E.size(E.width(str(ann.width)), E.height(str(ann.height)), E.depth(str(ann.depth))),
        E.segmented("1"),
        *_optional_text("mask_source", ann.mask_source),
        *objects,
    )


def _object(obj: AnnotatedObject, index: int, ann: Annotation) -> etree._Element:
    """Build one <object> element; problems name the object by position and label."""
    try:
        return E.object(
            E.name(_text(obj.label, "label")),
            E.pose(_text(obj.pose, "pose")),
            E.truncated(_flag(obj.truncated)),
            E.occluded(_flag(obj.occluded)),
            E.difficult(_flag(obj.difficult)),
            *_mask_color(obj.mask_color),
            _shape(obj, ann.width, ann.height),
            *_confidence(obj.confidence),
            *_attribution(obj),
        )
    except Malformed as exc:
        raise Malformed(f"object {index} ({obj.label!r}): {exc}") from None


def _shape(obj: AnnotatedObject, width: int, height: int) -> etree._Element:
    """Build the shape element: polygon, polyline, point or bndbox."""
    if obj.shape not in SHAPES:
        raise Malformed(f"unknown shape {obj.shape!r} (expected {', '.join(SHAPES)})")
    points = [(_rounded(x), _rounded(y)) for x, y in obj.points]
    check_points(obj.shape, points, width, height)
    if obj.shape == "bndbox":
        xmin, ymin, xmax, ymax = box_of(points)
        return E.bndbox(*_numbers(xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax))
    if obj.shape == "point":
        return E.point(*_numbers(x=points[0][0], y=points[0][1]))
    if obj.shape == "polygon" and points[0] == points[-1]:
        raise Malformed("polygon repeats its first point as its last; leave the last one out")
    return E(obj.shape, *_numbered(points))


def _rounded(value: float) -> float:
    """Return a coordinate as it will read back: whole, or rounded to 2 decimals."""
    if not math.isfinite(value):
        raise Malformed(f"coordinate {value} is not finite")
    return float(number_text(value))


def _numbered(points: list[Point]) -> list[etree._Element]:
    """Build x1, y1, x2, y2, ... elements."""
    pairs = [_numbers(**{f"x{i}": x, f"y{i}": y}) for i, (x, y) in enumerate(points, 1)]
    return [element for pair in pairs for element in pair]


def _numbers(**values: float) -> list[etree._Element]:
    """Build one element per coordinate, in the order given."""
    return [E(tag, number_text(value)) for tag, value in values.items()]


def _attribution(obj: AnnotatedObject) -> list[etree._Element]:
    """Build our own elements: the tool, and who labeled and updated the object when."""
    if obj.source not in SOURCES:
        raise Malformed(f"unknown source {obj.source!r} (expected {', '.join(SOURCES)})")
    return [
        E.label_tool(TOOL_BY_SOURCE[obj.source]),
        *_optional_text("labeled_by", obj.created_by),
        *_optional_time("labeled_at", obj.created_at),
        *_optional_text("updated_by", obj.updated_by),
        *_optional_time("updated_at", obj.updated_at),
    ]


def _text(value: str, what: str, empty_ok: bool = False) -> str:
    """Check that text is XML-safe and reads back unchanged (no surrounding white space)."""
    if not isinstance(value, str):
        raise Malformed(f"{what} must be text, got {type(value).__name__}")
    if not value and not empty_ok:
        raise Malformed(f"{what} is empty")
    if value != value.strip():
        raise Malformed(f"{what} has leading or trailing white space: {value!r}")
    if _NOT_XML.search(value):
        raise Malformed(f"{what} contains a character XML cannot hold: {value!r}")
    return value


def _optional_text(tag: str, value: str | None) -> list[etree._Element]:
    """Build <tag> when the value is present."""
    return [] if value is None else [E(tag, _text(value, tag))]


def _optional_time(tag: str, value: datetime | None) -> list[etree._Element]:
    """Build <tag> with an ISO 8601 time that carries its time zone."""
    if value is None:
        return []
    if value.tzinfo is None or value.utcoffset() is None:
        raise Malformed(f"{tag} has no time zone: {value.isoformat()}")
    return [E(tag, value.isoformat())]


def _flag(value: bool) -> str:
    """Write a flag as 0 or 1."""
    return "1" if value else "0"


def _mask_color(color: Color | None) -> list[etree._Element]:
    """Build <mask_color>r,g,b</mask_color> when a colour is set."""
    if color is None:
        return []
    if len(color) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in color):
        raise Malformed(f"mask_color must be three integers 0-255, got {color!r}")
    return [E.mask_color(",".join(str(c) for c in color))]


def _confidence(value: float | None) -> list[etree._Element]:
    """Build <confidence> with the exact value (repr round-trips floats)."""
    if value is None:
        return []
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise Malformed(f"confidence must be between 0 and 1, got {value!r}")
    return [E.confidence(repr(float(value)))]


def _positive_int(value: int, what: str) -> None:
    """Check a size value is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise Malformed(f"{what} must be a positive integer, got {value!r}")
