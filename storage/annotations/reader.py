"""Read annotation XML safely: hardened lxml parsing, then strict checks of every value.

Accepted: ModelArts files and the PASCAL-VOC files of other tools (LabelImg, CVAT, VOC 2012), in
UTF-8 with or without a byte order mark. Every shape is kept as itself: `polygon` (open: a last
point repeating the first, and a point repeating the one before it, are dropped), `bndbox` (its
4 corners clockwise from the top left), `point` (`x`/`y` or `x1`/`y1`), `line`, `polyline`,
`dashed`, `circle` (its centre and radius). An object with several shape elements keeps the
first of polygon, polyline, line, dashed, circle, point, bndbox as its shape (a bndbox next to a
polygon is usually derived from it) and the others, in file order, as its `extra_shapes`.

Kept too: per object `pose`, `truncated`, `occluded`, `difficult`, `confidence`, ModelArts'
`<properties>` (`<property><key/><value/></property>`, or `<key>value</key>`), VOC `<part>`s (a
name and a bndbox) and our attribution elements; per file `folder`, `source`, `size/depth`,
`segmented`, `mask_source` and the root's attributes. Any other element (LabelImg's `<path>`,
CVAT's `<attributes>`) is kept verbatim and written back as it came. Files without our
attribution elements read as source "imported".

An object whose shape breaks the shape rules or leaves the image (checked against the image's
real size when the caller knows it) is left out and reported in `Annotation.rejected`, one line
each; the rest of the file is read. Anything else malformed raises one AnnotationError naming
the file and the problem.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime

from lxml import etree

from storage.annotations.geometry import box_corners, check_shape, open_polygon, part_box
from storage.annotations.model import (
    SOURCE_BY_TOOL,
    AnnotatedObject,
    Annotation,
    AnnotationError,
    BadGeometry,
    Color,
    Malformed,
    Part,
    Point,
    Shape,
)

MAX_XML_BYTES = 5 * 1024 * 1024
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_COORDINATE_TAG = re.compile(r"([xy])([0-9]{1,6})")
_FLAGS = {"0": False, "1": True, "false": False, "true": True}
FILE_FIELDS = ("folder", "filename", "source", "size", "segmented", "mask_source")
OBJECT_FIELDS = ("name", "pose", "truncated", "occluded", "difficult", "mask_color", "confidence", "properties",
                 "label_tool", "labeled_by", "labeled_at", "updated_by", "updated_at")


def read_annotation(data: bytes, name: str, image_size: tuple[int, int] | None = None) -> Annotation:
    """Parse one annotation file; raise AnnotationError("<name>: <problem>") if it is malformed.

    Shapes are checked against `image_size` (the image's real width and height) when given, else
    against the file's own <size>."""
    try:
        return _annotation(_parse(data), image_size)
    except Malformed as exc:
        raise AnnotationError(name, str(exc)) from None


def xml_parser() -> etree.XMLParser:
    """The parser of every annotation XML we read: entities, DTDs and the network all off."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
        dtd_validation=False, remove_comments=True, remove_pis=True,
    )


def _parse(data: bytes) -> etree._Element:
    """Parse bytes into the root element with entities, DTDs and the network all off."""
    if len(data) > MAX_XML_BYTES:
        raise Malformed(f"file is {len(data)} bytes, larger than the {MAX_XML_BYTES} byte limit")
    if not data.strip():
        raise Malformed("file is empty")
    try:
        root = etree.fromstring(data, xml_parser())
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


def _annotation(root: etree._Element, image_size: tuple[int, int] | None) -> Annotation:
    """Build the Annotation from a parsed <annotation> element."""
    size = root.find("size")
    if size is None:
        raise Malformed("missing <size>")
    width, height = _dimension(size, "width"), _dimension(size, "height")
    depth = _dimension(size, "depth") if _text(size, "depth") is not None else None
    bounds = image_size or (width, height)
    source, source_kept = _source_fields(root.find("source"))
    ann = Annotation(
        filename=_text(root, "filename") or "", width=width, height=height, depth=depth,
        folder=_folder(root), mask_source=_text(root, "mask_source"),
        source=source, segmented=_flag(root, "segmented"), attributes=dict(root.attrib),
        extensions=_extensions(root, FILE_FIELDS, multi=("object",), keep=() if source_kept else ("source",)),
    )
    for index, el in enumerate((child for child in root if child.tag == "object"), 1):
        try:
            ann.objects.append(_object(el, index, *bounds))
        except BadGeometry as exc:
            ann.rejected.append(str(exc))
    return ann


def _folder(root: etree._Element) -> str:
    """Read <folder>: "NA" when the file has none, as ModelArts writes it; empty when it is empty."""
    folder = root.find("folder")
    return "NA" if folder is None else (folder.text or "").strip()


def _source_fields(el: etree._Element | None) -> tuple[dict[str, str], bool]:
    """Read <source> as its children's texts; (empty, False) when it holds more than flat fields
    (then it is kept verbatim instead)."""
    if el is None:
        return {}, True
    children = [child for child in el if isinstance(child.tag, str)]
    tags = [child.tag for child in children]
    if any(len(child) for child in children) or len(set(tags)) != len(tags) or el.attrib:
        return {}, False
    return {child.tag: (child.text or "").strip() for child in children}, True


def _extensions(parent: etree._Element, single: tuple[str, ...], multi: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> list[str]:
    """Return, as XML text, the children that no field holds: unknown tags, a second copy of a
    `single` field, and the known tags listed in `keep` (`multi` tags are all read elsewhere)."""
    seen: set[str] = set()
    out = []
    for child in parent:
        if not isinstance(child.tag, str) or child.tag in multi:
            continue
        if child.tag in single and child.tag not in seen and child.tag not in keep:
            seen.add(child.tag)
            continue
        out.append(etree.tostring(child, encoding="unicode", with_tail=False))
    return out


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
        main, *extra = _shapes(el, width, height)
        parts, odd_parts = _parts(el, width, height)
        properties, properties_kept = _properties(el.find("properties"))
        kept = _extensions(el, OBJECT_FIELDS, multi=(*_SHAPE_READERS, "part"), keep=() if properties_kept else ("properties",))
        return AnnotatedObject(
            label=label, points=main.points, shape=main.shape, radius=main.radius, extra_shapes=extra,
            properties=properties, parts=parts, extensions=[*kept, *odd_parts], **_attributes(el),
        )
    except Malformed as exc:
        raise type(exc)(f"object {index} ({label!r}): {exc}") from None


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


def _shapes(el: etree._Element, width: int, height: int) -> list[Shape]:
    """Return the object's shapes, checked: its main one (by priority), then the others in file order."""
    found = [child for child in el if isinstance(child.tag, str) and child.tag in _SHAPE_READERS]
    if not found:
        raise Malformed("no shape (expected polygon, bndbox, point, line, polyline, dashed or circle)")
    main = min(found, key=lambda child: list(_SHAPE_READERS).index(child.tag))
    shapes = [_shape(child) for child in [main, *(child for child in found if child is not main)]]
    for shape in shapes:
        check_shape(shape, width, height)
    return shapes


def _shape(el: etree._Element) -> Shape:
    """Read one shape element."""
    return _SHAPE_READERS[el.tag](el)


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


def _polygon(el: etree._Element) -> Shape:
    """Read a polygon, open: repeats of the point before and a last point repeating the first are dropped."""
    return Shape("polygon", open_polygon(_numbered(el)))


def _line(el: etree._Element) -> Shape:
    """Read a line, polyline or dashed line as the shape its tag names."""
    return Shape(el.tag, _numbered(el))


def _point(el: etree._Element) -> Shape:
    """Read a point written as <x>/<y> or as <x1>/<y1>."""
    if el.find("x") is not None or el.find("y") is not None:
        return Shape("point", [(_field(el, "x"), _field(el, "y"))])
    return Shape("point", _numbered(el))


def _bndbox(el: etree._Element) -> Shape:
    """Read a box as its four corners."""
    return Shape("bndbox", box_corners(*_box(el)))


def _box(el: etree._Element) -> tuple[float, float, float, float]:
    xmin, ymin, xmax, ymax = (_field(el, tag) for tag in ("xmin", "ymin", "xmax", "ymax"))
    return xmin, ymin, xmax, ymax


def _circle(el: etree._Element) -> Shape:
    """Read a circle: its centre and radius."""
    return Shape("circle", [(_field(el, "cx"), _field(el, "cy"))], _field(el, "r"))


# Shape element -> its reader, in order of priority for the object's main shape.
_SHAPE_READERS: dict[str, Callable[[etree._Element], Shape]] = {
    "polygon": _polygon,
    "polyline": _line,
    "line": _line,
    "dashed": _line,
    "circle": _circle,
    "point": _point,
    "bndbox": _bndbox,
}


def _parts(el: etree._Element, width: int, height: int) -> tuple[list[Part], list[str]]:
    """Read the object's VOC <part>s (a name and a bndbox); a part holding anything else is kept verbatim."""
    parts, odd = [], []
    for child in el.iterfind("part"):
        name, box = _text(child, "name"), child.find("bndbox")
        known = {"name", "bndbox"}
        if name is None or box is None or any(isinstance(c.tag, str) and c.tag not in known for c in child) or len(child) != 2:
            odd.append(etree.tostring(child, encoding="unicode", with_tail=False))
            continue
        try:
            parts.append(Part(name, part_box(_box(box), width, height)))
        except BadGeometry as exc:
            raise BadGeometry(f"part {name!r}: {exc}") from None
    return parts, odd


def _properties(el: etree._Element | None) -> tuple[dict[str, str], bool]:
    """Read ModelArts' <properties>: <property><key>k</key><value>v</value></property> or <k>v</k>
    children; (empty, False) when it holds anything else (then it is kept verbatim)."""
    if el is None:
        return {}, True
    out: dict[str, str] = {}
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "property" and len(child):
            pair = _pair(child)
        elif len(child) == 0:
            pair = (child.tag, (child.text or "").strip())
        else:
            pair = None
        if pair is None or pair[0] in out:
            return {}, False
        out[pair[0]] = pair[1]
    return out, True


def _pair(el: etree._Element) -> tuple[str, str] | None:
    """Read <property><key/><value/></property>; None when it holds anything else or no key."""
    tags = sorted(child.tag for child in el if isinstance(child.tag, str))
    key, value = _text(el, "key"), el.find("value")
    if tags != ["key", "value"] or key is None or value is None or len(value) or len(el.find("key")):
        return None
    return key, (value.text or "").strip()


def _field(el: etree._Element, tag: str) -> float:
    """Read the required coordinate <tag> of a shape element."""
    child = el.find(tag)
    if child is None:
        raise Malformed(f"{el.tag} has no <{tag}>")
    return _coordinate(child.text, f"{el.tag}/{tag}")


def _coordinate(text: str | None, what: str) -> float:
    """Read a finite coordinate (a negative one is a shape outside the image)."""
    stripped = (text or "").strip()
    value = _number(stripped, what)
    if value < 0:
        raise BadGeometry(f"{what} is negative: {stripped}")
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

