"""Files in the styles other tools write (tests/storage/fixtures/): LabelImg, PASCAL VOC 2012 with
parts and actions, CVAT's VOC export, ModelArts (every shape, a closed polygon, a UTF-8 BOM, Chinese
names). Each is imported, written back unedited and read by a plain PASCAL-VOC reader: it sees the
same objects and attributes, coordinates on the whole-pixel grid, and an integer-only reader reads it."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from storage.annotations import read_annotation, write_annotation
from tests.storage.test_annotations_roundtrip import integer_reader

FIXTURES = Path(__file__).parent / "fixtures"
STYLES = sorted(path.name for path in FIXTURES.glob("*.xml"))
FILE_FIELDS = {"folder", "filename", "source", "size", "segmented", "object"}
OBJECT_FIELDS = {"name", "pose", "truncated", "occluded", "difficult", "confidence", "mask_color", "properties", "part"}
SHAPE_TAGS = {"polygon", "bndbox", "point", "line", "polyline", "dashed", "circle"}
OURS = {"label_tool", "labeled_by", "labeled_at", "updated_by", "updated_at"}  # our attribution, which others ignore


def whole(text: str) -> int:
    """A coordinate as the writer's rule puts it on the grid: the nearest pixel, halves up."""
    return math.floor(float(text) + 0.5)


def tree(el: ET.Element) -> tuple:
    """An element's meaning, white space and child order aside."""
    return el.tag, sorted(el.attrib.items()), (el.text or "").strip(), sorted(tree(child) for child in el)


def shape_view(el: ET.Element) -> tuple:
    """A shape's coordinates by name, on the grid; a polygon's closing point left out."""
    values = {child.tag: whole(child.text) for child in el}
    if el.tag == "polygon" and len(values) > 2 and (values["x1"], values["y1"]) == (values[f"x{len(values) // 2}"], values[f"y{len(values) // 2}"]):
        values = {k: v for k, v in values.items() if k[1:] != str(len(values) // 2)}
    return el.tag, sorted(values.items())


def object_view(obj: ET.Element) -> dict:
    """What a PASCAL-VOC reader that knows every element gets from an object."""
    flag = lambda tag: int(obj.findtext(tag, "0").strip())  # noqa: E731
    return {
        "name": obj.findtext("name").strip(),
        "pose": (obj.findtext("pose") or "Unspecified").strip(),
        "flags": [flag(tag) for tag in ("truncated", "occluded", "difficult")],
        "confidence": float(obj.findtext("confidence")) if obj.find("confidence") is not None else None,
        "shapes": sorted(shape_view(child) for child in obj if child.tag in SHAPE_TAGS),
        "parts": sorted((part.findtext("name").strip(), shape_view(part.find("bndbox"))) for part in obj.iter("part")),
        "properties": {p.findtext("key").strip(): (p.findtext("value") or "").strip() for p in obj.iter("property")},
        "other": sorted(tree(child) for child in obj if child.tag not in OBJECT_FIELDS | SHAPE_TAGS | OURS),
    }


def voc_view(data: bytes) -> dict:
    """What a PASCAL-VOC reader that knows every element gets from a file."""
    root = ET.fromstring(data)
    size = root.find("size")
    return {
        "attributes": root.attrib,
        "folder": (root.findtext("folder") or "").strip(),
        "filename": root.findtext("filename").strip(),
        "source": {child.tag: (child.text or "").strip() for child in root.find("source")},
        "size": [(size.findtext(tag) or "").strip() for tag in ("width", "height", "depth")],
        "segmented": int(root.findtext("segmented", "0").strip()),
        "objects": [object_view(obj) for obj in root.iter("object")],
        "other": sorted(tree(child) for child in root if child.tag not in FILE_FIELDS),
    }


@pytest.mark.parametrize("style", STYLES)
def test_a_file_written_back_unedited_says_the_same_to_a_voc_reader(style):
    original = (FIXTURES / style).read_bytes()
    imported = read_annotation(original, style)
    assert imported.rejected == []
    written = write_annotation(imported)
    assert voc_view(written) == voc_view(original)
    integer_reader(written)  # ModelArts' SDK reads it


@pytest.mark.parametrize("style", STYLES)
def test_import_write_import_is_the_identity_on_the_grid(style):
    imported = read_annotation((FIXTURES / style).read_bytes(), style)
    again = read_annotation(write_annotation(imported), style)
    assert read_annotation(write_annotation(again), style) == again
    if style != "cvat_voc.xml":  # the only style with decimals: they are on the grid once written
        assert again == imported


def test_what_each_style_holds_is_read():
    labelimg = read_annotation((FIXTURES / "labelimg.xml").read_bytes(), "labelimg.xml")
    assert labelimg.attributes == {"verified": "yes"} and labelimg.extensions == ["<path>/home/ann/images/dog_and_girl.jpg</path>"]
    assert [(o.shape, o.pose, o.truncated, o.difficult) for o in labelimg.objects] == [
        ("bndbox", "Unspecified", False, False), ("bndbox", "Left", True, True)]

    voc = read_annotation((FIXTURES / "voc2012_parts.xml").read_bytes(), "voc2012_parts.xml")
    person = voc.objects[0]
    assert [p.name for p in person.parts] == ["head", "hand", "foot"] and person.parts[0].box == (201, 29, 281, 121)
    assert (person.shape, [s.shape for s in person.extra_shapes]) == ("point", ["bndbox"])
    assert person.extensions[0].startswith("<actions>")
    assert voc.source == {"annotation": "PASCAL VOC2008", "database": "The VOC2008 Database", "image": "flickr"}

    cvat = read_annotation((FIXTURES / "cvat_voc.xml").read_bytes(), "cvat_voc.xml")
    assert (cvat.folder, cvat.depth, cvat.objects[0].occluded) == ("", None, True)
    assert cvat.objects[0].points[0] == (263, 211.5) and "<attributes>" in cvat.objects[0].extensions[0]

    modelarts = read_annotation((FIXTURES / "modelarts.xml").read_bytes(), "modelarts.xml")
    assert [o.shape for o in modelarts.objects] == ["polygon", "bndbox", "point", "line", "dashed", "polyline", "circle"]
    cat = modelarts.objects[0]
    assert (cat.label, cat.points, cat.properties) == ("猫", [(71, 48), (75, 73), (49, 78)], {"颜色": "橘色", "color": "orange"})
    assert (modelarts.objects[1].confidence, modelarts.objects[6].radius) == (0.87, 30)
