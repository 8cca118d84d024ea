"""Write annotation XML structurally with lxml.builder, in ModelArts' layout (PASCAL VOC).

Per file: folder, filename, source (as read; none when the file had none), size (and depth when known),
segmented, mask_source, then the elements we keep verbatim, then the objects. Per object:
ModelArts' elements (name, pose, truncated, occluded, difficult, mask_color, the shape, its
other shapes, its VOC parts, confidence, properties), the elements we keep verbatim, and then
our own attribution elements, which plain PASCAL-VOC readers ignore: <label_tool> (polygon |
extreme_points | import), <labeled_by>, <labeled_at>, <updated_by>, <updated_at> (ISO 8601 with
time zone).

Coordinates are written as whole pixels, because ModelArts' own SDK reads every coordinate with
`int()` and rejects a whole file at the first decimal. The rounding rule (`geometry.on_grid`):
each coordinate is rounded to the nearest pixel, halves up, so a point within the image stays
within it; a polygon then drops points that became equal to the one before (or to its first
point) and needs 3 distinct points left; a box whose edges met is widened by one pixel; a
circle's radius is rounded (at least 1) and kept within the image. A shape that does not survive
rounding (smaller than a pixel) is refused, naming the object.

The writer refuses what the reader would refuse or read back differently (text with surrounding
white space, naive times, characters XML cannot hold), so reading what we wrote gives back what
we gave, coordinates on the grid.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

from lxml import etree
from lxml.builder import E

from storage.annotations.geometry import box_of, part_on_grid, writable
from storage.annotations.model import (
    SHAPES,
    SOURCES,
    TOOL_BY_SOURCE,
    AnnotatedObject,
    Annotation,
    AnnotationError,
    Color,
    Malformed,
    Part,
    Point,
    Shape,
)
from storage.annotations.reader import xml_parser

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write_annotation(ann: Annotation) -> bytes:
    """Serialize an annotation to UTF-8 XML; raise AnnotationError if it cannot be written faithfully."""
    try:
        root = _annotation(ann)
    except Malformed as exc:
        raise AnnotationError(ann.filename or "annotation", str(exc)) from None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def text_problem(value: object, empty_ok: bool = False) -> str | None:
    """Say why a text cannot be written so that it reads back unchanged; None when it can."""
    if not isinstance(value, str):
        return f"must be text, got {type(value).__name__}"
    if not value and not empty_ok:
        return "is empty"
    if value != value.strip():
        return f"has leading or trailing white space: {value!r}"
    if _NOT_XML.search(value):
        return f"contains a character XML cannot hold: {value!r}"
    return None


def object_problem(obj: AnnotatedObject, width: int, height: int) -> str | None:
    """Say why an object cannot be written on a width x height image (its shape, a part, a text);
    None when it can. What a save checks before it stores anything."""
    try:
        _object_element(obj, width, height)
    except Malformed as exc:
        return str(exc)
    return None


def _annotation(ann: Annotation) -> etree._Element:
    """Build the <annotation> element."""
    for name in ("width", "height") if ann.depth is None else ("width", "height", "depth"):
        _positive_int(getattr(ann, name), f"size/{name}")
    objects = [_object(obj, i, ann) for i, obj in enumerate(ann.objects, 1)]
    root = E.annotation(
        E.folder(_text(ann.folder, "folder", empty_ok=True)),
        E.filename(_text(ann.filename, "filename", empty_ok=True)),
        *_source(ann.source),
        E.size(E.width(str(ann.width)), E.height(str(ann.height)), *([] if ann.depth is None else [E.depth(str(ann.depth))])),
        E.segmented(_flag(ann.segmented)),
        *_optional_text("mask_source", ann.mask_source),
        *_kept(ann.extensions),
        *objects,
    )
    for name, value in ann.attributes.items():
        try:
            root.set(name, _text(value, f"attribute {name}", empty_ok=True))
        except ValueError as exc:
            raise Malformed(f"attribute {name!r} cannot be written: {exc}") from None
    return root


def _source(source: dict[str, str]) -> list[etree._Element]:
    """Build <source> with one child per field; none when the file had no source."""
    if not source:
        return []
    return [E.source(*(_element(tag, _text(value, f"source/{tag}", empty_ok=True)) for tag, value in source.items()))]


def _object(obj: AnnotatedObject, index: int, ann: Annotation) -> etree._Element:
    """Build one <object> element; problems name the object by position and label."""
    try:
        return _object_element(obj, ann.width, ann.height)
    except Malformed as exc:
        raise Malformed(f"object {index} ({obj.label!r}): {exc}") from None


def _object_element(obj: AnnotatedObject, width: int, height: int) -> etree._Element:
    return E.object(
        E.name(_text(obj.label, "label")),
        E.pose(_text(obj.pose, "pose")),
        E.truncated(_flag(obj.truncated)),
        E.occluded(_flag(obj.occluded)),
        E.difficult(_flag(obj.difficult)),
        *_mask_color(obj.mask_color),
        _shape(Shape(obj.shape, obj.points, obj.radius), width, height),
        *(_shape(shape, width, height) for shape in obj.extra_shapes),
        *(_part(part, width, height) for part in obj.parts),
        *_confidence(obj.confidence),
        *_properties(obj.properties),
        *_kept(obj.extensions),
        *_attribution(obj),
    )


def _shape(shape: Shape, width: int, height: int) -> etree._Element:
    """Build a shape element on the whole-pixel grid."""
    if shape.shape not in SHAPES:
        raise Malformed(f"unknown shape {shape.shape!r} (expected {', '.join(SHAPES)})")
    grid = writable(shape, width, height)
    points = grid.points
    if grid.shape == "bndbox":
        xmin, ymin, xmax, ymax = box_of(points)
        return E.bndbox(*_numbers(xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax))
    if grid.shape == "point":
        return E.point(*_numbers(x=points[0][0], y=points[0][1]))
    if grid.shape == "circle":
        return E.circle(*_numbers(cx=points[0][0], cy=points[0][1], r=grid.radius or 0))
    return E(grid.shape, *_numbered(points))


def _part(part: Part, width: int, height: int) -> etree._Element:
    """Build a VOC <part>: its name and its box on the grid."""
    xmin, ymin, xmax, ymax = part_on_grid(part.box, width, height)
    return E.part(E.name(_text(part.name, "part name")), E.bndbox(*_numbers(xmin=xmin, ymin=ymin, xmax=xmax, ymax=ymax)))


def _numbered(points: list[Point]) -> list[etree._Element]:
    """Build x1, y1, x2, y2, ... elements."""
    pairs = [_numbers(**{f"x{i}": x, f"y{i}": y}) for i, (x, y) in enumerate(points, 1)]
    return [element for pair in pairs for element in pair]


def _numbers(**values: float) -> list[etree._Element]:
    """Build one element per whole-pixel coordinate, in the order given."""
    return [E(tag, str(int(value))) for tag, value in values.items()]


def _properties(properties: dict[str, str]) -> list[etree._Element]:
    """Build ModelArts' <properties> with one <property><key/><value/></property> per entry."""
    if not properties:
        return []
    return [E.properties(*(
        E.property(E.key(_text(key, "property key")), E.value(_text(value, f"property {key!r}", empty_ok=True)))
        for key, value in properties.items()
    ))]


def _kept(fragments: list[str]) -> list[etree._Element]:
    """Parse back the elements kept verbatim."""
    out = []
    for fragment in fragments:
        try:
            out.append(etree.fromstring(fragment, xml_parser()))
        except (etree.XMLSyntaxError, ValueError) as exc:
            raise Malformed(f"a kept element is not well-formed XML: {exc}") from None
    return out


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


def _element(tag: str, text: str) -> etree._Element:
    """Build <tag>text</tag>, refusing a tag XML cannot name."""
    try:
        return E(tag, text)
    except ValueError as exc:
        raise Malformed(f"<{tag}> cannot be written: {exc}") from None


def _text(value: str, what: str, empty_ok: bool = False) -> str:
    """Check that text is XML-safe and reads back unchanged (no surrounding white space)."""
    problem = text_problem(value, empty_ok)
    if problem is not None:
        raise Malformed(f"{what} {problem}")
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
