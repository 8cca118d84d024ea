"""Read annotation XML safely: hardened lxml parsing, then strict checks of every value.

Accepted: ModelArts segmentation files (polygons, open or repeating the first point) and
detection files of other tools. Shapes are kept when they map onto our model: `polygon`;
`bndbox` (4 corners, clockwise from the top left); `point`; `line`, `dashed` and `polyline`
as `polyline`; `circle` as a 32-vertex `polygon`. An object with several shapes keeps the
first of: polygon, polyline, line, dashed, circle, point, bndbox (a bndbox next to a polygon
is usually derived from it). Files without our attribution elements read as source
"imported". Anything malformed raises one AnnotationError naming the file and the problem.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime

from lxml import etree

from storage.annotations.geometry import box_corners, check_points, circle_outline, open_polygon
from storage.annotations.model import (
    SOURCE_BY_TOOL,
    AnnotatedObject,
    Annotation,
    AnnotationError,
    Color,
    Malformed,
    Point,
)

MAX_XML_BYTES = 5 * 1024 * 1024
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_COORDINATE_TAG = re.compile(r"([xy])([0-9]{1,6})")
_FLAGS = {"0": False, "1": True, "false": False, "true": True}


def read_annotation(data: bytes, name: str) -> Annotation:
    """Parse one annotation file; raise AnnotationError("<name>: <problem>") if it is malformed."""
    try:
        return _annotation(_parse(data))
    except Malformed as exc:
        raise AnnotationError(name, str(exc)) from None


def _parse(data: bytes) -> etree._Element:
    """Parse bytes into the root element with entities, DTDs and the network all off."""
    if len(data) > MAX_XML_BYTES:
        raise Malformed(f"file is {len(data)} bytes, larger than the {MAX_XML_BYTES} byte limit")
    if not data.strip():
        raise Malformed("file is empty")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
        dtd_validation=False, remove_comments=True, remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise Malformed(_syntax_problem(exc)) from None
    _refuse_doctype(root.getroottree().docinfo)
    if root.tag != "annotation":
        raise Malformed(f"root element is <{root.tag}>, expected <annotation>")
    return root


def _syntax_problem(exc: Exception) -> str:
    """Describe a parse failure; libxml2 itself stops some entity bombs while parsing the DTD."""
    message = (str(exc).splitlines() or ["unknown error"])[0]
    if "amplification" in message or "entity reference loop" in message.lower():
        return f"entity declarations are not allowed (entity-expansion bomb: {message})"
    return f"not well-formed XML: {message}"


def _refuse_doctype(docinfo: etree.DocInfo) -> None:
    """Refuse any DOCTYPE: annotation files need none, and entities are how XML attacks work."""
    dtd = docinfo.internalDTD
    entities = list(dtd.iterentities()) if dtd is not None else []
    external = [e for e in entities if e.system_url]
    if external:
        raise Malformed(
            f"external entity {external[0].name!r} ({external[0].system_url}) is not allowed"
        )
    if entities:
        raise Malformed(
            f"entity declarations are not allowed ({len(entities)} declared; "
            "possible entity-expansion bomb)"
        )
    if docinfo.doctype or dtd is not None or docinfo.externalDTD is not None:
        raise Malformed("a document type declaration (DOCTYPE) is not allowed")


def _annotation(root: etree._Element) -> Annotation:
    """Build the Annotation from a parsed <annotation> element."""
    size = root.find("size")
    if size is None:
        raise Malformed("missing <size>")
    width, height = _dimension(size, "width"), _dimension(size, "height")
    depth = _dimension(size, "depth") if size.find("depth") is not None else 3
    objects = [_object(el, i, width, height) for i, el in enumerate(root.iterfind("object"), 1)]
    return Annotation(
        filename=_text(root, "filename") or "", width=width, height=height, depth=depth,
        objects=objects, folder=_text(root, "folder") or "NA", mask_source=_text(root, "mask_source"),
    )


def _dimension(size: etree._Element, tag: str) -> int:
    """Read a positive whole number from <size>/<tag>."""
    text = _text(size, tag)
    if text is None:
        raise Malformed(f"missing <size>/<{tag}>")
    value = _number(text, f"size/{tag}")
    if not value.is_integer() or value <= 0:
        raise Malformed(f"size/{tag} must be a positive whole number, got {text!r}")
    return int(value)


def _object(el: etree._Element, index: int, width: int, height: int) -> AnnotatedObject:
    """Build one AnnotatedObject; problems name the object by position and label."""
    label = _text(el, "name")
    if label is None:
        raise Malformed(f"object {index}: missing <name>")
    try:
        shape, points = _geometry(el, width, height)
        check_points(shape, points, width, height)
        return AnnotatedObject(label=label, points=points, shape=shape, **_attributes(el))
    except Malformed as exc:
        raise Malformed(f"object {index} ({label!r}): {exc}") from None


def _attributes(el: etree._Element) -> dict[str, object]:
    """Read an object's flags, pose, colour, confidence and our attribution elements."""
    return {
        "source": _source(el),
        "created_by": _text(el, "labeled_by"),
        "created_at": _time(el, "labeled_at"),
        "updated_by": _text(el, "updated_by"),
        "updated_at": _time(el, "updated_at"),
        "difficult": _flag(el, "difficult"),
        "truncated": _flag(el, "truncated"),
        "occluded": _flag(el, "occluded"),
        "pose": _text(el, "pose") or "Unspecified",
        "mask_color": _color(el),
        "confidence": _confidence(el),
    }


def _geometry(el: etree._Element, width: int, height: int) -> tuple[str, list[Point]]:
    """Return (shape, points) from the object's first shape element by priority."""
    for tag, (shape, read) in _SHAPE_READERS.items():
        found = el.find(tag)
        if found is not None:
            return shape, read(found, width, height)
    raise Malformed("no shape (expected polygon, bndbox, point, circle, line or polyline)")


def _numbered(el: etree._Element) -> list[Point]:
    """Read points from x1, y1, x2, y2, ... children, numbered from 1 without gaps."""
    values: dict[tuple[str, int], float] = {}
    for child in el:
        match = _COORDINATE_TAG.fullmatch(child.tag) if isinstance(child.tag, str) else None
        if match is None:
            continue
        axis, number = match.group(1), int(match.group(2))
        if (axis, number) in values:
            raise Malformed(f"{el.tag}/{child.tag} appears twice")
        values[(axis, number)] = _coordinate(child.text, f"{el.tag}/{child.tag}")
    count = max((number for _, number in values), default=0)
    for number in range(1, count + 1):
        for axis in "xy":
            if (axis, number) not in values:
                raise Malformed(f"{el.tag} has no {axis}{number}")
    return [(values[("x", n)], values[("y", n)]) for n in range(1, count + 1)]


def _polygon(el: etree._Element, width: int, height: int) -> list[Point]:
    """Read a polygon, dropping a last point that repeats the first."""
    return open_polygon(_numbered(el))


def _polyline(el: etree._Element, width: int, height: int) -> list[Point]:
    """Read a polyline, line or dashed line."""
    return _numbered(el)


def _point(el: etree._Element, width: int, height: int) -> list[Point]:
    """Read a point written as <x>/<y> or as <x1>/<y1>."""
    if el.find("x") is not None or el.find("y") is not None:
        return [(_field(el, "x"), _field(el, "y"))]
    return _numbered(el)


def _bndbox(el: etree._Element, width: int, height: int) -> list[Point]:
    """Read a box as its four corners."""
    return box_corners(*(_field(el, tag) for tag in ("xmin", "ymin", "xmax", "ymax")))


def _circle(el: etree._Element, width: int, height: int) -> list[Point]:
    """Read a circle as a polygon outline."""
    return circle_outline(_field(el, "cx"), _field(el, "cy"), _field(el, "r"), width, height)


_ShapeReader = Callable[[etree._Element, int, int], list[Point]]
# Shape element -> (the shape we keep, its reader), in order of priority.
_SHAPE_READERS: dict[str, tuple[str, _ShapeReader]] = {
    "polygon": ("polygon", _polygon),
    "polyline": ("polyline", _polyline),
    "line": ("polyline", _polyline),
    "dashed": ("polyline", _polyline),
    "circle": ("polygon", _circle),
    "point": ("point", _point),
    "bndbox": ("bndbox", _bndbox),
}


def _field(el: etree._Element, tag: str) -> float:
    """Read the required coordinate <tag> of a shape element."""
    child = el.find(tag)
    if child is None:
        raise Malformed(f"{el.tag} has no <{tag}>")
    return _coordinate(child.text, f"{el.tag}/{tag}")


def _coordinate(text: str | None, what: str) -> float:
    """Read a non-negative finite coordinate."""
    stripped = (text or "").strip()
    value = _number(stripped, what)
    if value < 0:
        raise Malformed(f"{what} is negative: {stripped}")
    return value


def _number(text: str, what: str) -> float:
    """Read a finite decimal number written with ASCII digits."""
    if not _NUMBER.fullmatch(text):
        raise Malformed(f"{what} is not a number: {text!r}")
    value = float(text)
    if not math.isfinite(value):
        raise Malformed(f"{what} is not a finite number: {text!r}")
    return value


def _text(parent: etree._Element, tag: str) -> str | None:
    """Return the stripped text of the child <tag>, or None when absent or empty."""
    child = parent.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _flag(el: etree._Element, tag: str) -> bool:
    """Read a 0/1 (or false/true) flag; absent means false."""
    text = _text(el, tag)
    if text is None:
        return False
    if text.lower() not in _FLAGS:
        raise Malformed(f"<{tag}> must be 0 or 1, got {text!r}")
    return _FLAGS[text.lower()]


def _color(el: etree._Element) -> Color | None:
    """Read <mask_color> as three 0-255 integers "r,g,b"."""
    text = _text(el, "mask_color")
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and int(p) <= 255 for p in parts):
        raise Malformed(f"<mask_color> must be three numbers 0-255 like '193,243,53', got {text!r}")
    red, green, blue = (int(part) for part in parts)
    return red, green, blue


def _confidence(el: etree._Element) -> float | None:
    """Read the optional <confidence>, a number from 0 to 1."""
    text = _text(el, "confidence")
    if text is None:
        return None
    value = _number(text, "confidence")
    if not 0 <= value <= 1:
        raise Malformed(f"<confidence> must be between 0 and 1, got {text!r}")
    return value


def _source(el: etree._Element) -> str:
    """Map our <label_tool> to the object's source; without one, the object was imported."""
    tool = _text(el, "label_tool")
    if tool is None:
        return "imported"
    if tool not in SOURCE_BY_TOOL:
        raise Malformed(
            f"unknown <label_tool> {tool!r} (expected {', '.join(sorted(SOURCE_BY_TOOL))})"
        )
    return SOURCE_BY_TOOL[tool]


def _time(el: etree._Element, tag: str) -> datetime | None:
    """Read an ISO 8601 time that carries its time zone."""
    text = _text(el, tag)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Malformed(f"<{tag}> is not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Malformed(f"<{tag}> has no time zone: {text!r}")
    return moment
