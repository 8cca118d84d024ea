"""Writing annotation XML: exact round trips, and files plain PASCAL-VOC readers understand."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.annotations import SHAPES, SOURCES, AnnotatedObject, Annotation, AnnotationError, read_annotation, write_annotation
from storage.annotations.geometry import box_corners

# Text that XML can hold and that reads back unchanged (no surrounding white space).
_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn")), min_size=1, max_size=12
).map(str.strip).filter(bool)
_times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)


def _coordinate(limit: int) -> st.SearchStrategy[float]:
    """Coordinates in 0..limit with at most 2 decimals, the precision we write."""
    return st.integers(0, limit * 100).map(lambda n: n / 100)


@st.composite
def _points(draw, shape: str, width: int, height: int) -> list[tuple[float, float]]:
    point = st.tuples(_coordinate(width), _coordinate(height))
    if shape == "point":
        return [draw(point)]
    if shape == "bndbox":
        xs = sorted(draw(st.lists(_coordinate(width), min_size=2, max_size=2, unique=True)))
        ys = sorted(draw(st.lists(_coordinate(height), min_size=2, max_size=2, unique=True)))
        return box_corners(xs[0], ys[0], xs[1], ys[1])
    points = draw(st.lists(point, min_size=3 if shape == "polygon" else 2, max_size=12))
    if shape == "polygon" and points[0] == points[-1]:
        points = [*points, (points[0][0], 0.5 if points[0][1] != 0.5 else 0.25)]
    return points


@st.composite
def _objects(draw, width: int, height: int) -> AnnotatedObject:
    shape = draw(st.sampled_from(SHAPES))
    optional = lambda strategy: st.none() | strategy  # noqa: E731
    return AnnotatedObject(
        label=draw(_text),
        points=draw(_points(shape, width, height)),
        shape=shape,
        source=draw(st.sampled_from(SOURCES)),
        created_by=draw(optional(_text)),
        created_at=draw(optional(_times)),
        updated_by=draw(optional(_text)),
        updated_at=draw(optional(_times)),
        difficult=draw(st.booleans()),
        truncated=draw(st.booleans()),
        occluded=draw(st.booleans()),
        pose=draw(_text),
        mask_color=draw(optional(st.tuples(*[st.integers(0, 255)] * 3))),
        confidence=draw(optional(st.floats(0, 1))),
    )


@st.composite
def annotations(draw) -> Annotation:
    width, height = draw(st.integers(1, 5000)), draw(st.integers(1, 5000))
    return Annotation(
        filename=draw(st.just("") | _text),
        width=width,
        height=height,
        depth=draw(st.sampled_from([1, 3, 4])),
        objects=draw(st.lists(_objects(width, height), max_size=4)),
        folder=draw(_text),
        mask_source=draw(st.none() | _text),
    )


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(annotations())
def test_reading_what_we_wrote_gives_it_back(ann):
    assert read_annotation(write_annotation(ann), "prop.xml") == ann


def plain_voc_reader(data: bytes) -> dict:
    """Read a PASCAL-VOC file the way a tool that knows nothing of our elements does."""
    root = ET.fromstring(data)
    size = root.find("size")
    objects = []
    for obj in root.findall("object"):
        polygon = obj.find("polygon")
        coordinates = {child.tag: float(child.text) for child in polygon} if polygon is not None else {}
        count = len(coordinates) // 2
        objects.append((obj.find("name").text, [(coordinates[f"x{i}"], coordinates[f"y{i}"]) for i in range(1, count + 1)]))
    return {"width": int(size.find("width").text), "height": int(size.find("height").text), "objects": objects}


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(annotations())
def test_plain_voc_readers_understand_our_files(ann):
    plain = plain_voc_reader(write_annotation(ann))
    assert (plain["width"], plain["height"]) == (ann.width, ann.height)
    assert [name for name, _ in plain["objects"]] == [obj.label for obj in ann.objects]
    for (_, points), obj in zip(plain["objects"], ann.objects, strict=True):
        if obj.shape == "polygon":
            assert points == obj.points


def test_written_file_has_the_modelarts_layout():
    ann = Annotation("cat1.jpg", 230, 300, objects=[
        AnnotatedObject("cat", [(71, 48), (75.256, 73), (49.5, 78)], source="manual", mask_color=(193, 243, 53),
                        created_by="ann", created_at=datetime(2026, 1, 2, tzinfo=UTC)),
    ])
    root = ET.fromstring(write_annotation(ann))
    assert [child.tag for child in root] == ["folder", "filename", "source", "size", "segmented", "object"]
    assert root.findtext("source/database") == "Unknown" and root.findtext("segmented") == "1"
    obj = root.find("object")
    assert [child.tag for child in obj][:7] == [
        "name", "pose", "truncated", "occluded", "difficult", "mask_color", "polygon",
    ]
    assert obj.findtext("mask_color") == "193,243,53"
    assert [c.text for c in obj.find("polygon")] == ["71", "48", "75.26", "73", "49.5", "78"]
    assert (obj.findtext("label_tool"), obj.findtext("labeled_by")) == ("polygon", "ann")
    assert obj.findtext("labeled_at") == "2026-01-02T00:00:00+00:00"


def test_coordinates_are_rounded_to_two_decimals_on_write():
    ann = Annotation("a.jpg", 10, 10, objects=[AnnotatedObject("a", [(1.004, 1), (2.996, 1), (2, 2.5)])])
    assert read_annotation(write_annotation(ann), "a.xml").objects[0].points == [(1, 1), (3, 1), (2, 2.5)]


def _one(**changes) -> Annotation:
    obj = dict(label="cat", points=[(1, 1), (5, 1), (3, 4)])
    obj.update(changes)
    return Annotation("img.jpg", 10, 10, objects=[AnnotatedObject(**obj)])


@pytest.mark.parametrize(
    ("ann", "problem"),
    [
        (Annotation("img.jpg", 0, 10), "size/width must be a positive integer"),
        (_one(points=[(1, 1), (5, 1)]), r"object 1 \('cat'\): polygon has 2 points"),
        (_one(points=[(1, 1), (5, 1), (3, 4), (1, 1)]), "repeats its first point"),
        (_one(points=[(1, 1), (11, 1), (3, 4)]), "outside the 10x10 image"),
        (_one(points=[(1, 1), (-1, 1), (3, 4)]), "negative coordinate"),
        (_one(points=[(1, 1), (float("nan"), 1), (3, 4)]), "not finite"),
        (_one(label=""), "label is empty"),
        (_one(label=" cat"), "leading or trailing white space"),
        (_one(label="c\x00t"), "character XML cannot hold"),
        (_one(shape="circle"), "unknown shape 'circle'"),
        (_one(source="robot"), "unknown source 'robot'"),
        (_one(created_at=datetime(2026, 1, 1)), "labeled_at has no time zone"),
        (_one(mask_color=(0, 0, 256)), "mask_color must be three integers"),
        (_one(confidence=2.0), "confidence must be between 0 and 1"),
        (_one(shape="bndbox", points=[(1, 1), (5, 1), (5, 4), (2, 4)]), "bndbox points must be the corners"),
        (_one(shape="point"), "point has 3 points, exactly 1 needed"),
    ],
)
def test_writer_refuses_what_would_not_read_back(ann, problem):
    with pytest.raises(AnnotationError, match=problem) as caught:
        write_annotation(ann)
    assert str(caught.value).startswith(f"{ann.filename}: ")
