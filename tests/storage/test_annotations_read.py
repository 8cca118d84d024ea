"""Reading annotation XML: the reference file, other tools' shapes, and every malformed input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from storage.annotations import MAX_XML_BYTES, AnnotationError, read_annotation

REFERENCE = b"""<annotation>
  <folder>NA</folder>
  <filename>cat1.jpg</filename>
  <source><database>Unknown</database></source>
  <size><width>230</width><height>300</height><depth>3</depth></size>
  <segmented>1</segmented>
  <mask_source>s3://bucket/out/cats-7/annotation/V001/segmentationClassRaw/cat1.png</mask_source>
  <object>
    <name>cat</name>
    <pose>Unspecified</pose>
    <truncated>0</truncated>
    <occluded>0</occluded>
    <difficult>0</difficult>
    <mask_color>193,243,53</mask_color>
    <polygon><x1>71</x1><y1>48</y1><x2>75</x2><y2>73</y2><x3>49</x3><y3>78</y3></polygon>
  </object>
</annotation>"""


def _doc(*objects: str, size: str = "<size><width>100</width><height>50</height></size>") -> bytes:
    """Build an annotation document around object bodies."""
    body = "".join(f"<object>{obj}</object>" for obj in objects)
    return f"<annotation><filename>x.jpg</filename>{size}{body}</annotation>".encode()


def _polygon(*points: tuple[object, object]) -> str:
    return "<polygon>" + "".join(
        f"<x{i}>{x}</x{i}><y{i}>{y}</y{i}>" for i, (x, y) in enumerate(points, 1)
    ) + "</polygon>"


TRIANGLE = _polygon((1, 1), (20, 1), (10, 30))


def test_reference_file_from_the_docs():
    ann = read_annotation(REFERENCE, "cat1.xml")
    assert (ann.filename, ann.width, ann.height, ann.depth, ann.folder) == ("cat1.jpg", 230, 300, 3, "NA")
    assert ann.mask_source.endswith("segmentationClassRaw/cat1.png")
    [cat] = ann.objects
    assert cat.label == "cat" and cat.shape == "polygon"
    assert cat.points == [(71, 48), (75, 73), (49, 78)]
    assert cat.mask_color == (193, 243, 53)
    assert cat.source == "imported" and cat.created_by is None
    assert (cat.difficult, cat.truncated, cat.occluded, cat.pose) == (False, False, False, "Unspecified")


def test_polygon_repeating_its_first_point_drops_it():
    ann = read_annotation(_doc("<name>a</name>" + _polygon((1, 1), (20, 1), (10, 30), (1, 1))), "f.xml")
    assert ann.objects[0].points == [(1, 1), (20, 1), (10, 30)]


def test_points_on_the_right_and_bottom_edges_are_inside():
    ann = read_annotation(_doc("<name>a</name>" + _polygon((0, 0), (100, 0), (100, 50))), "f.xml")
    assert ann.objects[0].points[-1] == (100, 50)


def test_bndbox_from_a_detection_tool():
    box = "<bndbox><xmin>10</xmin><ymin>5</ymin><xmax>40.5</xmax><ymax>45</ymax></bndbox>"
    obj = read_annotation(_doc(f"<name>dog</name><difficult>1</difficult>{box}"), "f.xml").objects[0]
    assert obj.shape == "bndbox" and obj.difficult
    assert obj.points == [(10, 5), (40.5, 5), (40.5, 45), (10, 45)]


@pytest.mark.parametrize("point", ["<point><x>3</x><y>4</y></point>", "<point><x1>3</x1><y1>4</y1></point>"])
def test_point(point):
    obj = read_annotation(_doc(f"<name>eye</name>{point}"), "f.xml").objects[0]
    assert (obj.shape, obj.points) == ("point", [(3, 4)])


@pytest.mark.parametrize("tag", ["line", "dashed", "polyline"])
def test_line_dashed_and_polyline_keep_their_own_shape(tag):
    obj = read_annotation(_doc(f"<name>l</name><{tag}><x1>1</x1><y1>2</y1><x2>3</x2><y2>4</y2></{tag}>"), "f.xml")
    assert (obj.objects[0].shape, obj.objects[0].points) == (tag, [(1, 2), (3, 4)])


def test_polyline():
    body = "<polyline><x1>1</x1><y1>2</y1><x2>3</x2><y2>4</y2><x3>5</x3><y3>1</y3></polyline>"
    obj = read_annotation(_doc(f"<name>p</name>{body}"), "f.xml").objects[0]
    assert (obj.shape, obj.points) == ("polyline", [(1, 2), (3, 4), (5, 1)])


def test_circle_stays_a_circle():
    obj = read_annotation(_doc("<name>c</name><circle><cx>50</cx><cy>25</cy><r>20</r></circle>"), "f.xml").objects[0]
    assert (obj.shape, obj.points, obj.radius) == ("circle", [(50, 25)], 20)


def test_polygon_wins_over_a_derived_bndbox_which_is_kept_beside_it():
    box = "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>20</xmax><ymax>30</ymax></bndbox>"
    obj = read_annotation(_doc(f"<name>a</name>{box}{TRIANGLE}"), "f.xml").objects[0]
    assert obj.shape == "polygon"
    assert [(s.shape, s.points) for s in obj.extra_shapes] == [("bndbox", [(1, 1), (20, 1), (20, 30), (1, 30)])]


def test_attributes_properties_parts_and_unknown_elements_are_kept():
    body = (
        "<name>person</name><pose>Left</pose><truncated>1</truncated><occluded>1</occluded><difficult>1</difficult>"
        "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>60</xmax><ymax>40</ymax></bndbox>"
        "<part><name>head</name><bndbox><xmin>5</xmin><ymin>3</ymin><xmax>15</xmax><ymax>12</ymax></bndbox></part>"
        "<properties><property><key>颜色</key><value>红色</value></property><size>big</size></properties>"
        "<attributes><attribute><name>color</name><value>red</value></attribute></attributes>"
        "<confidence>0.5</confidence>"
    )
    data = f'<annotation verified="yes"><folder>imgs</folder><path>/a/b.jpg</path><source><database>VOC</database>' \
           f'<image>flickr</image></source><size><width>100</width><height>50</height><depth>1</depth></size>' \
           f'<segmented>0</segmented><object>{body}</object></annotation>'
    ann = read_annotation(data.encode(), "f.xml")
    assert (ann.folder, ann.depth, ann.segmented, ann.source) == ("imgs", 1, False, {"database": "VOC", "image": "flickr"})
    assert ann.attributes == {"verified": "yes"} and ann.extensions == ["<path>/a/b.jpg</path>"]
    [obj] = ann.objects
    assert (obj.pose, obj.truncated, obj.occluded, obj.difficult, obj.confidence) == ("Left", True, True, True, 0.5)
    assert obj.properties == {"颜色": "红色", "size": "big"}
    assert [(p.name, p.box) for p in obj.parts] == [("head", (5, 3, 15, 12))]
    assert obj.extensions == ["<attributes><attribute><name>color</name><value>red</value></attribute></attributes>"]


def test_a_utf8_byte_order_mark_is_read():
    data = "\ufeff<?xml version='1.0' encoding='utf-8'?><annotation><size><width>9</width><height>9</height></size>" \
           "<object><name>猫</name><point><x>1</x><y>2</y></point></object></annotation>"
    assert read_annotation(data.encode("utf-8"), "f.xml").objects[0].label == "猫"


def test_shapes_are_checked_against_the_real_image_size_when_given():
    ann = read_annotation(_doc("<name>a</name>" + _polygon((1, 1), (90, 1), (10, 30)), "<name>b</name>" + TRIANGLE), "f.xml",
                          image_size=(50, 50))
    assert (ann.width, ann.height) == (100, 50)  # what the file says; the caller compares
    assert [o.label for o in ann.objects] == ["b"]
    assert ann.rejected == ["object 1 ('a'): point (90, 1) is outside the 50x50 image (x > 50)"]


@pytest.mark.parametrize("tool", ["extreme_points", "box_prompt"])
def test_attribution_elements(tool):
    extra = (
        f"<label_tool>{tool}</label_tool><labeled_by>ann</labeled_by>"
        "<labeled_at>2026-01-02T03:04:05+00:00</labeled_at><updated_by>bob</updated_by>"
        "<updated_at>2026-01-03T03:04:05.250+02:00</updated_at><confidence>0.75</confidence>"
    )
    obj = read_annotation(_doc(f"<name>a</name>{TRIANGLE}{extra}"), "f.xml").objects[0]
    assert (obj.source, obj.created_by, obj.updated_by, obj.confidence) == (tool, "ann", "bob", 0.75)
    assert obj.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert obj.updated_at == datetime(2026, 1, 3, 3, 4, 5, 250000, tzinfo=timezone(timedelta(hours=2)))


def test_labelimg_style_file_with_whitespace_and_comments():
    data = b"""<?xml version="1.0" encoding="utf-8"?>
<!-- written by another tool -->
<annotation verified="no">
    <folder>images</folder>
    <filename> dog.png </filename>
    <path>C:\\images\\dog.png</path>
    <size>
        <width>640</width>
        <height>480</height>
        <depth>1</depth>
    </size>
    <object>
        <name>
            dog
        </name>
        <bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox>
    </object>
</annotation>"""
    ann = read_annotation(data, "dog.xml")
    assert (ann.filename, ann.folder, ann.depth) == ("dog.png", "images", 1)
    assert ann.objects[0].label == "dog"


def test_no_objects_is_fine():
    assert read_annotation(_doc(), "f.xml").objects == []


ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE annotation [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<annotation><filename>x.jpg</filename><size><width>10</width><height>10</height></size>
<object><name>&lol9;</name><polygon><x1>1</x1><y1>1</y1><x2>2</x2><y2>1</y2><x3>2</x3><y3>2</y3></polygon></object>
</annotation>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotation><filename>&xxe;</filename><size><width>10</width><height>10</height></size></annotation>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]>
<annotation><size><width>10</width><height>10</height></size></annotation>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE annotation SYSTEM "http://127.0.0.1:1/voc.dtd">
<annotation><size><width>10</width><height>10</height></size></annotation>"""

BAD_INPUTS = {
    "empty": (b"", "file is empty"),
    "not xml": (b"this is not xml", "not well-formed XML"),
    "truncated xml": (REFERENCE[:200], "not well-formed XML"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00", "not well-formed XML"),
    "wrong root": (b"<voc><size/></voc>", "root element is <voc>, expected <annotation>"),
    "namespaced root": (b'<annotation xmlns="urn:x"/>', "root element is <{urn:x}annotation>"),
    "no size": (b"<annotation><filename>a</filename></annotation>", "missing <size>"),
    "no width": (_doc(size="<size><height>5</height></size>"), r"missing <size>/<width>"),
    "no height": (_doc(size="<size><width>5</width></size>"), r"missing <size>/<height>"),
    "empty width": (_doc(size="<size><width></width><height>5</height></size>"), r"missing <size>/<width>"),
    "text width": (_doc(size="<size><width>wide</width><height>5</height></size>"), "size/width is not a number: 'wide'"),
    "fractional height": (_doc(size="<size><width>5</width><height>5.5</height></size>"), "size/height must be a positive whole number"),
    "zero width": (_doc(size="<size><width>0</width><height>5</height></size>"), "size/width must be a positive whole number"),
    "bad depth": (_doc(size="<size><width>5</width><height>5</height><depth>rgb</depth></size>"), "size/depth is not a number"),
    "text coordinate": (_doc("<name>a</name>" + _polygon((1, 1), ("ten", 1), (3, 3))), r"object 1 \('a'\): polygon/x2 is not a number: 'ten'"),
    "unicode digits": (_doc("<name>a</name>" + _polygon((1, 1), ("١٢", 1), (3, 3))), "polygon/x2 is not a number"),
    "underscore number": (_doc("<name>a</name>" + _polygon((1, 1), ("1_0", 1), (3, 3))), "polygon/x2 is not a number"),
    "nan coordinate": (_doc("<name>a</name>" + _polygon((1, 1), ("nan", 1), (3, 3))), "polygon/x2 is not a number"),
    "huge coordinate": (_doc("<name>a</name>" + _polygon((1, 1), ("1e999", 1), (3, 3))), "polygon/x2 is not a finite number"),
    "missing y": (_doc("<name>a</name><polygon><x1>1</x1><y1>1</y1><x2>2</x2></polygon>"), "polygon has no y2"),
    "gap in numbering": (_doc("<name>a</name><polygon><x1>1</x1><y1>1</y1><x3>2</x3><y3>2</y3><x4>3</x4><y4>1</y4></polygon>"), "polygon has no x2"),
    "duplicate coordinate": (_doc("<name>a</name><polygon><x1>1</x1><x1>2</x1><y1>1</y1></polygon>"), "polygon/x1 appears twice"),
    "no name": (_doc(TRIANGLE), "object 1: missing <name>"),
    "no shape": (_doc("<name>a</name>"), "no shape"),
    "bndbox missing xmax": (_doc("<name>a</name><bndbox><xmin>1</xmin><ymin>1</ymin><ymax>5</ymax></bndbox>"), "bndbox has no <xmax>"),
    "bad flag": (_doc(f"<name>a</name><difficult>maybe</difficult>{TRIANGLE}"), "<difficult> must be 0 or 1, got 'maybe'"),
    "bad mask colour": (_doc(f"<name>a</name><mask_color>300,0,0</mask_color>{TRIANGLE}"), "<mask_color> must be three numbers 0-255"),
    "bad confidence": (_doc(f"<name>a</name>{TRIANGLE}<confidence>1.5</confidence>"), "<confidence> must be between 0 and 1"),
    "unknown tool": (_doc(f"<name>a</name>{TRIANGLE}<label_tool>magic</label_tool>"), "unknown <label_tool> 'magic'"),
    "bad time": (_doc(f"<name>a</name>{TRIANGLE}<labeled_at>yesterday</labeled_at>"), "<labeled_at> is not an ISO 8601 time"),
    "naive time": (_doc(f"<name>a</name>{TRIANGLE}<updated_at>2026-01-01T00:00:00</updated_at>"), "<updated_at> has no time zone"),
    "small entity bomb": (
        b'<!DOCTYPE annotation [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><annotation>&b;</annotation>',
        r"entity declarations are not allowed \(2 declared; possible entity-expansion bomb\)",
    ),
    "entity bomb": (ENTITY_BOMB, "entity declarations are not allowed .*entity-expansion bomb"),
    "external entity": (EXTERNAL_ENTITY, r"external entity 'xxe' \(file:///etc/passwd\) is not allowed"),
    "parameter entity": (PARAMETER_ENTITY, "external entity 'remote'"),
    "external dtd": (EXTERNAL_DTD, r"document type declaration \(DOCTYPE\) is not allowed"),
    "undeclared entity": (b"<annotation><filename>&nope;</filename></annotation>", "not well-formed XML"),
    "too deep": (b"<annotation>" + b"<a>" * 300 + b"</a>" * 300 + b"</annotation>", "not well-formed XML"),
}


@pytest.mark.parametrize(("data", "problem"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_malformed_input_gives_one_error_naming_file_and_problem(data, problem):
    with pytest.raises(AnnotationError, match=problem) as caught:
        read_annotation(data, "bucket/dir/img 7.xml")
    assert caught.value.name == "bucket/dir/img 7.xml"
    assert str(caught.value).startswith("bucket/dir/img 7.xml: ")
    assert "\n" not in str(caught.value)


BAD_SHAPES = {
    "negative coordinate": (_polygon((1, 1), (2, -4), (3, 3)), "polygon/y2 is negative: -4"),
    "outside width": (_polygon((1, 1), (101, 1), (3, 3)), r"point (101, 1) is outside the 100x50 image (x > 100)"),
    "outside height": (_polygon((1, 1), (2, 50.5), (3, 3)), r"point (2, 50.5) is outside the 100x50 image (y > 50)"),
    "two-point polygon": (_polygon((1, 1), (2, 2)), "polygon has 2 distinct points, at least 3 needed"),
    "closed two-point polygon": (_polygon((1, 1), (2, 2), (1, 1)), "polygon has 2 distinct points"),
    "back and forth polygon": (_polygon((1, 1), (2, 2), (1, 1), (2, 2)), "polygon has 2 distinct points"),
    "inverted bndbox": ("<bndbox><xmin>9</xmin><ymin>1</ymin><xmax>3</xmax><ymax>5</ymax></bndbox>", "bndbox is empty or inverted"),
    "empty bndbox": ("<bndbox><xmin>3</xmin><ymin>1</ymin><xmax>3</xmax><ymax>5</ymax></bndbox>", "bndbox is empty or inverted"),
    "bndbox outside": ("<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>300</xmax><ymax>5</ymax></bndbox>", "outside the 100x50 image (x > 100)"),
    "circle outside": ("<circle><cx>5</cx><cy>5</cy><r>10</r></circle>", "extends outside the 100x50 image"),
    "circle zero radius": ("<circle><cx>5</cx><cy>5</cy><r>0</r></circle>", "circle radius must be a positive number"),
    "one-point line": ("<line><x1>1</x1><y1>1</y1></line>", "line has 1 points, exactly 2 needed"),
    "three-point line": ("<line><x1>1</x1><y1>1</y1><x2>2</x2><y2>1</y2><x3>3</x3><y3>1</y3></line>", "line has 3 points, exactly 2 needed"),
    "zero-length line": ("<line><x1>1</x1><y1>1</y1><x2>1</x2><y2>1</y2></line>", "line has its two points at one place"),
    "one-point dashed": ("<dashed><x1>1</x1><y1>1</y1></dashed>", "dashed has 1 points, at least 2 needed"),
    "empty point": ("<point></point>", "point has 0 points, exactly 1 needed"),
    "part outside": (TRIANGLE + "<part><name>hand</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>120</xmax><ymax>5</ymax>"
                     "</bndbox></part>", "part 'hand': point (120, 1) is outside"),
    "second shape outside": (TRIANGLE + "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>120</xmax><ymax>5</ymax></bndbox>", "(x > 100)"),
}


@pytest.mark.parametrize(("shape", "problem"), BAD_SHAPES.values(), ids=BAD_SHAPES.keys())
def test_a_bad_shape_leaves_its_object_out_and_says_why_the_others_are_read(shape, problem):
    ann = read_annotation(_doc("<name>ok</name>" + TRIANGLE, f"<name>bad</name>{shape}", "<name>ok2</name>" + TRIANGLE), "f.xml")
    assert [o.label for o in ann.objects] == ["ok", "ok2"]
    [rejected] = ann.rejected
    assert rejected.startswith("object 2 ('bad'): ") and problem in rejected, rejected


def test_oversized_file_is_refused_before_parsing():
    data = REFERENCE + b" " * (MAX_XML_BYTES - len(REFERENCE) + 1)
    with pytest.raises(AnnotationError, match="larger than the 5242880 byte limit"):
        read_annotation(data, "big.xml")
    read_annotation(REFERENCE + b" " * (MAX_XML_BYTES - len(REFERENCE)), "limit.xml")


def test_external_entity_content_never_appears():
    with pytest.raises(AnnotationError) as caught:
        read_annotation(EXTERNAL_ENTITY, "x.xml")
    assert "root:" not in str(caught.value)
