"""An object's shape and PASCAL-VOC attributes, and a file's own fields, between the XML codec
(`storage.annotations`) and the rows that hold them: the one place that maps one onto the other,
for the sync's import, the save and every file written from the rows (sibling XML, versions).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from storage.annotations import AnnotatedObject, Annotation, Part, Shape

# The object columns that say what the object is (not who made it): a save compares them to tell
# whether an object changed, and a version's snapshot copies them.
OBJECT_FIELDS = ("shape", "points", "radius", "pose", "truncated", "occluded", "difficult", "confidence",
                 "properties", "parts", "extra_shapes", "extensions")
DEFAULTS: dict[str, Any] = {"radius": None, "pose": "Unspecified", "truncated": False, "occluded": False, "difficult": False,
                            "confidence": None, "properties": None, "parts": None, "extra_shapes": None, "extensions": None}


class ObjectRow(Protocol):
    """What a row of objects gives (a working object or a version's): its OBJECT_FIELDS and times."""

    shape: str
    points: list[Any]
    radius: float | None
    pose: str
    truncated: bool
    occluded: bool
    difficult: bool
    confidence: float | None
    properties: dict[str, str] | None
    parts: list[Any] | None
    extra_shapes: list[Any] | None
    extensions: list[str] | None
    source: str
    created_at: datetime
    updated_at: datetime


def row_values(obj: AnnotatedObject) -> dict[str, Any]:
    """Return the OBJECT_FIELDS of a row holding a parsed object (empty lists and maps as None)."""
    return {
        "shape": obj.shape, "points": [[float(x), float(y)] for x, y in obj.points],
        "radius": None if obj.radius is None else float(obj.radius),
        "pose": obj.pose, "truncated": obj.truncated, "occluded": obj.occluded, "difficult": obj.difficult,
        "confidence": obj.confidence, "properties": dict(obj.properties) or None,
        "parts": [{"name": p.name, **dict(zip(("xmin", "ymin", "xmax", "ymax"), map(float, p.box)))} for p in obj.parts] or None,
        "extra_shapes": [shape_value(s) for s in obj.extra_shapes] or None,
        "extensions": list(obj.extensions) or None,
    }


def shape_value(shape: Shape) -> dict[str, Any]:
    """Return a shape as a row's JSON holds it."""
    value: dict[str, Any] = {"shape": shape.shape, "points": [[float(x), float(y)] for x, y in shape.points]}
    if shape.radius is not None:
        value["radius"] = float(shape.radius)
    return value


def codec_object(row: ObjectRow, label: str, color: tuple[int, int, int] | None, created_by: str | None,
                 updated_by: str | None) -> AnnotatedObject:
    """Build the XML model of a row's object; the label, its colour and the authors' names come from the caller."""
    return AnnotatedObject(
        label=label, points=[(x, y) for x, y in row.points], shape=row.shape, radius=row.radius,
        source=row.source, created_by=created_by, created_at=row.created_at, updated_by=updated_by, updated_at=row.updated_at,
        difficult=row.difficult, truncated=row.truncated, occluded=row.occluded, pose=row.pose, mask_color=color,
        confidence=row.confidence, properties=dict(row.properties or {}),
        parts=[Part(p["name"], (p["xmin"], p["ymin"], p["xmax"], p["ymax"])) for p in row.parts or []],
        extra_shapes=[Shape(s["shape"], [(x, y) for x, y in s["points"]], s.get("radius")) for s in row.extra_shapes or []],
        extensions=list(row.extensions or []),
    )


def header_values(ann: Annotation, image_depth: int | None = None) -> dict[str, Any]:
    """Return what a sample keeps of an imported file's own fields: `depth` (the file's, else the
    image's) and `xml_header`."""
    return {"depth": ann.depth if ann.depth is not None else image_depth, "xml_header": {
        "folder": ann.folder, "source": ann.source, "segmented": ann.segmented,
        "attributes": ann.attributes, "extensions": ann.extensions,
    }}


def file_fields(header: dict[str, Any] | None) -> dict[str, Any]:
    """Return the Annotation fields a sample's `xml_header` gives (none for a file of ours: the defaults)."""
    if not header:
        return {}
    return {name: header[name] for name in ("folder", "source", "segmented", "attributes", "extensions") if name in header}


DEFAULT_DEPTH = 3  # what a file of ours says when neither an XML nor the image's header told the depth


def file_depth(depth: int | None, header: dict[str, Any] | None) -> int | None:
    """Return the <depth> a sample's file says: its own, else none for an imported file that gave
    none, else DEFAULT_DEPTH."""
    return depth if depth is not None or header else DEFAULT_DEPTH


def file_view(depth: int | None, header: dict[str, Any] | None) -> dict[str, Any]:
    """Return what the API shows of a sample's file: folder, source, segmented and depth."""
    written = Annotation("", 1, 1, **file_fields(header))
    return {"folder": written.folder, "source": written.source, "segmented": written.segmented, "depth": file_depth(depth, header)}
