"""Writing annotation XML: exact round trips of every shape and attribute, whole-pixel coordinates,
and files that plain PASCAL-VOC readers and integer-only readers (ModelArts' SDK) understand."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from lxml.builder import E

from storage.annotations import (
    SHAPES,
    SOURCES,
    AnnotatedObject,
    Annotation,
    AnnotationError,
    Part,
    Shape,
    read_annotation,
    write_annotation,
)
from storage.annotations.geometry import box_corners, open_polygon

# Text that XML can hold and that reads back unchanged (no surrounding white space), any script.
_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn")), min_size=1, max_size=12
).map(str.strip).filter(bool)
_maybe_empty = st.just("") | _text
_times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)


def optional(strategy):
    return st.none() | strategy


@st.composite
def _box(draw, width: int, height: int) -> tuple[int, int, int, int]:
    xs = sorted(draw(st.lists(st.integers(0, width), min_size=2, max_size=2, unique=True)))
    ys = sorted(draw(st.lists(st.integers(0, height), min_size=2, max_size=2, unique=True)))
    return xs[0], ys[0], xs[1], ys[1]


@st.composite
def _shape(draw, kind: str, width: int, height: int) -> Shape:
    """A valid shape of `kind` in whole pixels, as the reader gives it back."""
    point = st.tuples(st.integers(0, width), st.integers(0, height))
    if kind == "point":
        return Shape("point", [draw(point)])
    if kind == "bndbox":
        return Shape("bndbox", box_corners(*draw(_box(width, height))))
    if kind == "circle":
        cx, cy = draw(st.integers(1, width - 1)), draw(st.integers(1, height - 1))
        return Shape("circle", [(cx, cy)], draw(st.integers(1, min(cx, cy, width - cx, height - cy))))
    if kind == "line":
        return Shape("line", draw(st.lists(point, min_size=2, max_size=2, unique=True)))
    if kind == "polygon":
        points = open_polygon(draw(st.lists(point, min_size=3, max_size=12)))
        if len(set(points)) < 3:
            points = [(0, 0), (width, 0), (0, height)]
        return Shape("polygon", points)
    return Shape(kind, draw(st.lists(point, min_size=2, max_size=12)))


def _kept_element(tags: list[str]):
    """An element another tool wrote that we know nothing of, as XML text."""
    return st.builds(lambda tag, text: etree.tostring(E(tag, text), encoding="unicode"), st.sampled_from(tags), _text)


@st.composite
def _objects(draw, width: int, height: int) -> AnnotatedObject:
    main = draw(_shape(draw(st.sampled_from(SHAPES)), width, height))
    return AnnotatedObject(
        label=draw(_text), points=main.points, shape=main.shape, radius=main.radius,
        source=draw(st.sampled_from(SOURCES)),
        created_by=draw(optional(_text)), created_at=draw(optional(_times)),
        updated_by=draw(optional(_text)), updated_at=draw(optional(_times)),
        difficult=draw(st.booleans()), truncated=draw(st.booleans()), occluded=draw(st.booleans()),
        pose=draw(_text), mask_color=draw(optional(st.tuples(*[st.integers(0, 255)] * 3))),
        confidence=draw(optional(st.floats(0, 1))),
        properties=draw(st.dictionaries(_text, _maybe_empty, max_size=3)),
        parts=draw(st.lists(st.builds(Part, _text, _box(width, height)), max_size=2)),
        extra_shapes=[draw(_shape("bndbox", width, height))] if draw(st.booleans()) else [],
        extensions=draw(st.lists(_kept_element(["attributes", "actions", "note"]), max_size=2)),
    )


@st.composite
def annotations(draw) -> Annotation:
    width, height = draw(st.integers(2, 5000)), draw(st.integers(2, 5000))
    return Annotation(
        filename=draw(_maybe_empty), width=width, height=height, depth=draw(st.sampled_from([1, 3, 4])),
        objects=draw(st.lists(_objects(width, height), max_size=4)),
        folder=draw(_text), mask_source=draw(optional(_text)),
        source=draw(st.dictionaries(st.sampled_from(["database", "annotation", "image", "flickrid"]), _maybe_empty, max_size=3)),
        segmented=draw(st.booleans()),
        attributes=draw(st.dictionaries(st.sampled_from(["verified", "version"]), _maybe_empty, max_size=2)),
        extensions=draw(st.lists(_kept_element(["path", "owner", "note"]), max_size=2)),
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(annotations())
def test_reading_what_we_wrote_gives_it_back(ann):
    assert read_annotation(write_annotation(ann), "prop.xml") == ann


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(annotations())
def test_import_write_import_is_the_identity(ann):
    """A file (any tool's, here ours) imported, written back unedited and imported again reads the same."""
    imported = read_annotation(write_annotation(ann), "file.xml")
    again = read_annotation(write_annotation(imported), "file.xml")
    assert again == imported
    assert write_annotation(again) == write_annotation(imported)


@st.composite
def _off_the_grid(draw, ann: Annotation) -> Annotation:
    """The annotation with every coordinate (but a circle's) moved by less than half a pixel, inside the image."""
    nudge = lambda v, limit: min(max(v + draw(st.floats(-0.49, 0.49)), 0), limit)  # noqa: E731
    points = lambda pts: [(nudge(x, ann.width), nudge(y, ann.height)) for x, y in pts]  # noqa: E731
    objects = []
    for obj in ann.objects:
        moved = obj.points if obj.shape == "circle" else points(obj.points)
        if obj.shape == "bndbox":
            (x0, y0), (x1, y1) = moved[0], moved[2]
            moved = box_corners(x0, y0, x1, y1)
        parts = [Part(p.name, (*moved_box[0], *moved_box[2])) for p in obj.parts
                 for moved_box in [box_corners(*(c for pt in points([p.box[:2], p.box[2:]]) for c in pt))]]
        objects.append(replace(obj, points=moved, parts=parts))
    return replace(ann, objects=objects)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_coordinates_off_the_grid_are_written_on_the_nearest_pixel(data):
    """Import -> write -> import of a file with decimals gives the file on the grid, once and for all."""
    ann = data.draw(annotations())
    moved = data.draw(_off_the_grid(ann))
    assert read_annotation(write_annotation(moved), "moved.xml") == ann


def integer_reader(data: bytes) -> list[tuple[str, str, list[int]]]:
    """Read a file as ModelArts' SDK does: every coordinate with int(), one shape per element."""
    root = ET.fromstring(data)
    for tag in ("width", "height", "depth"):
        if root.find(f"size/{tag}") is not None:
            int(root.findtext(f"size/{tag}"))
    out = []
    for obj in root.iter("object"):
        for shape in obj:
            if shape.tag in SHAPES or shape.tag == "part":
                box = shape.find("bndbox") if shape.tag == "part" else shape
                out.append((obj.findtext("name"), shape.tag, [int(child.text) for child in box if child.tag != "name"]))
    return out


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(annotations())
def test_integer_only_readers_read_every_file_we_write(ann):
    integer_reader(write_annotation(ann))


def plain_voc_reader(data: bytes) -> dict:
    """Read a PASCAL-VOC file the way a tool that knows nothing of our elements does."""
    root = ET.fromstring(data)
    size = root.find("size")
    objects = []
    for obj in root.findall("object"):
        polygon, box = obj.find("polygon"), obj.find("bndbox")
        coordinates = {child.tag: float(child.text) for child in polygon} if polygon is not None else {}
        count = len(coordinates) // 2
        corners = tuple(int(box.findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax")) if box is not None else None
        objects.append((obj.find("name").text, [(coordinates[f"x{i}"], coordinates[f"y{i}"]) for i in range(1, count + 1)], corners))
    return {"width": int(size.find("width").text), "height": int(size.find("height").text), "objects": objects}


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(annotations())
def test_plain_voc_readers_understand_our_files(ann):
    plain = plain_voc_reader(write_annotation(ann))
    assert (plain["width"], plain["height"]) == (ann.width, ann.height)
    assert [name for name, _, _ in plain["objects"]] == [obj.label for obj in ann.objects]
    for (_, points, box), obj in zip(plain["objects"], ann.objects, strict=True):
        if obj.shape == "polygon":
            assert points == obj.points
        if obj.shape == "bndbox":
            assert box == (*obj.points[0], *obj.points[2])


def test_written_file_has_the_modelarts_layout():
    ann = Annotation("cat1.jpg", 230, 300, objects=[
        AnnotatedObject("cat", [(71, 48), (75.256, 73), (49.5, 78)], source="manual", mask_color=(193, 243, 53),
                        created_by="ann", created_at=datetime(2026, 1, 2, tzinfo=UTC), properties={"颜色": "红色"}),
    ])
    root = ET.fromstring(write_annotation(ann))
    assert [child.tag for child in root] == ["folder", "filename", "source", "size", "segmented", "object"]
    assert root.findtext("source/database") == "Unknown" and root.findtext("segmented") == "1"
    obj = root.find("object")
    assert [child.tag for child in obj][:8] == [
        "name", "pose", "truncated", "occluded", "difficult", "mask_color", "polygon", "properties",
    ]
    assert obj.findtext("mask_color") == "193,243,53"
    assert [c.text for c in obj.find("polygon")] == ["71", "48", "75", "73", "50", "78"]
    assert (obj.findtext("properties/property/key"), obj.findtext("properties/property/value")) == ("颜色", "红色")
    assert (obj.findtext("label_tool"), obj.findtext("labeled_by")) == ("polygon", "ann")
    assert obj.findtext("labeled_at") == "2026-01-02T00:00:00+00:00"


def _written(obj: AnnotatedObject, width: int = 10, height: int = 10) -> AnnotatedObject:
    return read_annotation(write_annotation(Annotation("a.jpg", width, height, objects=[obj])), "a.xml").objects[0]


@pytest.mark.parametrize(("shape", "points", "radius", "expected", "expected_radius"), [
    ("polygon", [(1.004, 1), (2.996, 1), (2, 2.5)], None, [(1, 1), (3, 1), (2, 3)], None),  # halves up
    ("polygon", [(1, 1), (1.2, 1.1), (5, 1), (3, 4), (1.4, 0.6)], None, [(1, 1), (5, 1), (3, 4)], None),  # repeats dropped
    ("bndbox", box_corners(1.2, 1.0, 1.4, 9.6), None, box_corners(1, 1, 2, 10), None),  # edges that met: one pixel apart
    ("bndbox", box_corners(9.6, 0, 9.8, 9.7), None, box_corners(9, 0, 10, 10), None),  # ... to the left at the edge
    ("point", [(9.5, 9.49)], None, [(10, 9)], None),
    ("line", [(0.2, 0.2), (9.7, 3.3)], None, [(0, 0), (10, 3)], None),
    ("dashed", [(0.2, 0.2), (9.7, 3.3), (4, 4)], None, [(0, 0), (10, 3), (4, 4)], None),
    ("circle", [(5.5, 5.4)], 4.5, [(6, 5)], 4),  # rounding moved it over the edge: the radius shrinks to stay inside
    ("circle", [(5, 5)], 0.2, [(5, 5)], 1),  # a radius is at least one pixel
])
def test_coordinates_are_written_as_whole_pixels_by_the_documented_rule(shape, points, radius, expected, expected_radius):
    back = _written(AnnotatedObject("a", points, shape=shape, radius=radius))
    assert (back.shape, back.points, back.radius) == (shape, expected, expected_radius)


def _one(**changes) -> Annotation:
    obj = dict(label="cat", points=[(1, 1), (5, 1), (3, 4)])
    obj.update(changes)
    return Annotation("img.jpg", 10, 10, objects=[AnnotatedObject(**obj)])


@pytest.mark.parametrize(
    ("ann", "problem"),
    [
        (Annotation("img.jpg", 0, 10), "size/width must be a positive integer"),
        (_one(points=[(1, 1), (5, 1)]), r"object 1 \('cat'\): polygon has 2 distinct points"),
        (_one(points=[(1, 1), (1.2, 1.1), (1.4, 1.3)]), "polygon is smaller than a pixel"),
        (_one(points=[(1, 1), (11, 1), (3, 4)]), r"outside the 10x10 image \(x > 10\)"),
        (_one(points=[(1, 1), (-1, 1), (3, 4)]), "negative coordinate"),
        (_one(points=[(1, 1), (float("nan"), 1), (3, 4)]), "not finite"),
        (_one(label=""), "label is empty"),
        (_one(label=" cat"), "leading or trailing white space"),
        (_one(label="c\x00t"), "character XML cannot hold"),
        (_one(pose="a\x01"), "pose contains a character XML cannot hold"),
        (_one(properties={"": "x"}), "property key is empty"),
        (_one(properties={"k": " x"}), "property 'k' has leading or trailing white space"),
        (_one(parts=[Part("hand", (4, 4, 2, 6))]), "bndbox is empty or inverted"),
        (_one(shape="hexagon"), "unknown shape 'hexagon'"),
        (_one(shape="circle", points=[(5, 5)], radius=None), "circle radius must be a positive number"),
        (_one(shape="circle", points=[(0.3, 5)], radius=0.3), "circle is smaller than a pixel"),
        (_one(shape="circle", points=[(2, 2)], radius=3), "extends outside the 10x10 image"),
        (_one(shape="line", points=[(1, 1), (1.2, 1.2)]), "line has its two points at one place"),
        (_one(radius=3), "only a circle has a radius"),
        (_one(source="robot"), "unknown source 'robot'"),
        (_one(created_at=datetime(2026, 1, 1)), "labeled_at has no time zone"),
        (_one(mask_color=(0, 0, 256)), "mask_color must be three integers"),
        (_one(confidence=2.0), "confidence must be between 0 and 1"),
        (_one(shape="bndbox", points=[(1, 1), (5, 1), (5, 4), (2, 4)]), "bndbox points must be the corners"),
        (_one(shape="point"), "point has 3 points, exactly 1 needed"),
        (_one(extensions=["<broken"]), "a kept element is not well-formed XML"),
    ],
)
def test_writer_refuses_what_would_not_read_back(ann, problem):
    with pytest.raises(AnnotationError, match=problem) as caught:
        write_annotation(ann)
    assert str(caught.value).startswith(f"{ann.filename}: ")
