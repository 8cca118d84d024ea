"""What an annotation file holds: the image's size and its labeled objects with attribution."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

Point = tuple[float, float]
Color = tuple[int, int, int]

# How an object came to be: drawn as a polygon, inferred from extreme points, or imported.
SOURCES = ("manual", "extreme_points", "imported")
# The shapes an object keeps; circles, lines and dashed lines are read as polygons/polylines.
SHAPES = ("polygon", "bndbox", "point", "polyline")
# Our <label_tool> element names the tool; each tool means one source.
TOOL_BY_SOURCE = {"manual": "polygon", "extreme_points": "extreme_points", "imported": "import"}
SOURCE_BY_TOOL = {tool: source for source, tool in TOOL_BY_SOURCE.items()}


class AnnotationError(ValueError):
    """Report one problem with an annotation file, naming the file."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


class Malformed(Exception):
    """Signal one problem inside the codec; the public functions add the file name."""


@dataclass
class AnnotatedObject:
    """One labeled object: its label, outline points in pixels, and who made it how and when."""

    label: str
    points: list[Point]
    shape: str = "polygon"
    source: str = "imported"
    created_by: str | None = None
    created_at: datetime | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None
    difficult: bool = False
    truncated: bool = False
    occluded: bool = False
    pose: str = "Unspecified"
    mask_color: Color | None = None
    confidence: float | None = None


@dataclass
class Annotation:
    """One image's annotation: file name, size in pixels and objects."""

    filename: str
    width: int
    height: int
    depth: int = 3
    objects: list[AnnotatedObject] = field(default_factory=list)
    folder: str = "NA"
    mask_source: str | None = None
