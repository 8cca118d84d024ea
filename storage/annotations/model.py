"""What an annotation file holds: the image's size, the file's own fields and its labeled objects
with their shapes, attributes and attribution."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

Point = tuple[float, float]
Color = tuple[int, int, int]
Box = tuple[float, float, float, float]  # xmin, ymin, xmax, ymax

# How an object came to be: drawn by hand, outlined by the model from four extreme points or from
# a box (with any correction clicks), or imported.
SOURCES = ("manual", "extreme_points", "box_prompt", "imported")
# The shapes an object keeps, each as itself (nothing is converted). Points per shape:
# polygon 3+ (open: the first point is not repeated), polyline and dashed 2+, line 2, point 1,
# bndbox its 4 corners clockwise from the top left, circle 1 (the centre) with a radius.
SHAPES = ("polygon", "bndbox", "point", "line", "polyline", "dashed", "circle")
# Our <label_tool> element names the tool; each tool means one source.
TOOL_BY_SOURCE = {"manual": "polygon", "extreme_points": "extreme_points", "box_prompt": "box_prompt", "imported": "import"}
SOURCE_BY_TOOL = {tool: source for source, tool in TOOL_BY_SOURCE.items()}


class AnnotationError(ValueError):
    """Report one problem with an annotation file, naming the file."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


class Malformed(Exception):
    """Signal one problem inside the codec; the public functions add the file name."""


class BadGeometry(Malformed):
    """A shape that does not fit its rules or the image (a point outside it, a box inside out):
    the reader leaves that object out and reports it; the rest of the file is read."""


@dataclass
class Shape:
    """A shape on its own: an object's second shape, kept beside its main one."""

    shape: str
    points: list[Point]
    radius: float | None = None


@dataclass
class Part:
    """A VOC part of an object (VOC 2012 person layout: head, hand, foot): a name and a box."""

    name: str
    box: Box


@dataclass
class AnnotatedObject:
    """One labeled object: its label, its shape in pixels, its VOC attributes, and who made it how and when."""

    label: str
    points: list[Point]
    shape: str = "polygon"
    radius: float | None = None  # circles only
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
    properties: dict[str, str] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)
    # Further shape elements of the same object (e.g. a bndbox written beside a polygon), in file order.
    extra_shapes: list[Shape] = field(default_factory=list)
    # Child elements no field above holds (CVAT's <attributes>, VOC's <actions>), as XML text, kept verbatim.
    extensions: list[str] = field(default_factory=list)


@dataclass
class Annotation:
    """One image's annotation: file name, size in pixels, the file's own fields and the objects."""

    filename: str
    width: int
    height: int
    depth: int | None = 3  # None: the file gives none
    objects: list[AnnotatedObject] = field(default_factory=list)
    folder: str = "NA"
    mask_source: str | None = None
    source: dict[str, str] = field(default_factory=lambda: {"database": "Unknown"})
    segmented: bool = True
    # The root element's attributes (LabelImg's verified="yes") and the child elements no field
    # above holds (LabelImg's <path>, VOC's <owner>), as XML text, kept verbatim.
    attributes: dict[str, str] = field(default_factory=dict)
    extensions: list[str] = field(default_factory=list)
    # What reading left out, one line per object: "object 3 ('cat'): point (120, 5) is outside ...".
    rejected: list[str] = field(default_factory=list)
