"""Saving every shape as itself through the API: each shape's own rules, attributes kept, PUT taking
what GET gave, whole-pixel files, and 422s naming the object and its problem (issue 12)."""
from __future__ import annotations

import pytest

from storage.annotations import read_annotation
from tests.dataset_service.conftest import add_member, as_user
from tests.dataset_service.factories import add_sample
from tests.storage.test_annotations_roundtrip import integer_reader

SQUARE = [[10, 10], [40, 10], [40, 30], [10, 30]]
EVERY_SHAPE = [
    {"label": "cat", "shape": "polygon", "points": [[1, 1], [20, 1], [10, 15]]},
    {"label": "cat", "shape": "bndbox", "points": [[2, 3], [30, 3], [30, 40], [2, 40]], "truncated": True, "pose": "Left"},
    {"label": "dog", "shape": "point", "points": [[5, 6]], "difficult": True},
    {"label": "dog", "shape": "line", "points": [[0, 0], [64, 48]], "occluded": True},
    {"label": "dog", "shape": "polyline", "points": [[1, 1], [2, 9], [30, 4]], "confidence": 0.25},
    {"label": "dog", "shape": "dashed", "points": [[3, 3], [9, 9]], "properties": {"颜色": "红色", "kind": ""}},
    {"label": "cat", "shape": "circle", "points": [[32, 24]], "radius": 10.5,
     "parts": [{"name": "head", "xmin": 25, "ymin": 15, "xmax": 35, "ymax": 22}]},
]


def url(sample_id):
    return f"/api/v1/samples/{sample_id}/annotation"


def bucket_of(dataset):
    return dataset["input_path"].split("/")[2]


def new_sample(app, dataset, key="cats/a/one.png"):
    return add_sample(app, dataset["id"], key, width=64, height=48)


def test_every_shape_is_saved_as_itself_and_put_takes_what_get_gave(app, labeler, dataset, s3_server):
    sample_id = new_sample(app, dataset)
    saved = labeler.put(url(sample_id), json={"revision": 0, "objects": EVERY_SHAPE})
    assert saved.status_code == 200, saved.get_json()
    got = labeler.get(url(sample_id)).get_json()
    assert [(o["shape"], o["points"]) for o in got["objects"]] == [(o["shape"], o["points"]) for o in EVERY_SHAPE]
    circle, box, dashed = got["objects"][6], got["objects"][1], got["objects"][5]
    assert circle["radius"] == 10.5 and circle["parts"] == [{"name": "head", "xmin": 25, "ymin": 15, "xmax": 35, "ymax": 22}]
    assert (box["pose"], box["truncated"], box["occluded"], box["difficult"]) == ("Left", True, False, False)
    assert dashed["properties"] == {"颜色": "红色", "kind": ""} and got["objects"][4]["confidence"] == 0.25
    assert list(dashed["properties"]) == ["颜色", "kind"]  # in the order given, not sorted
    assert got["file"] == {"folder": "NA", "source": {"database": "Unknown"}, "segmented": True, "depth": 3}

    add_member(app, dataset["id"], "omar")
    again = as_user(app, "omar").put(url(sample_id), json={"revision": got["revision"], "objects": got["objects"]})
    assert again.status_code == 200, again.get_json()
    body = again.get_json()
    assert body["objects"] == got["objects"]  # nothing changed: every field and the attribution kept
    assert {o["updated_by"] for o in body["objects"]} == {"lena"}

    data = s3_server.store.get(bucket_of(dataset), "cats/a/one.xml")
    integer_reader(data)
    xml = read_annotation(data, "one.xml")
    assert [o.shape for o in xml.objects] == [o["shape"] for o in EVERY_SHAPE]
    assert (xml.objects[6].points, xml.objects[6].radius) == ([(32, 24)], 11)  # halves up, on the file's grid
    assert list(xml.objects[5].properties) == ["颜色", "kind"]  # PUT what GET gave: the file keeps its order


def test_a_closed_polygon_is_stored_open_and_a_box_may_be_two_corners(app, labeler, dataset):
    """Was a 500: a last point repeating the first."""
    sample_id = new_sample(app, dataset)
    response = labeler.put(url(sample_id), json={"revision": 0, "objects": [
        {"label": "cat", "shape": "polygon", "points": [[1, 1], [20, 1], [10, 15], [1, 1]]},
        {"label": "cat", "points": [[1, 1], [20, 1], [20, 1], [10, 15], [1, 1]]},  # an older client: no shape
        {"label": "dog", "shape": "bndbox", "points": [[30, 40], [2, 3]]},
        {"label": "cat", "shape": "polygon", "points": [[1, 1], [20, 1], [10, 15], [1.004, 1]]},  # closed on the file's grid
    ]})
    assert response.status_code == 200, response.get_json()
    assert [o["points"] for o in response.get_json()["objects"]] == [
        [[1, 1], [20, 1], [10, 15]], [[1, 1], [20, 1], [10, 15]], [[2, 3], [30, 3], [30, 40], [2, 40]], [[1, 1], [20, 1], [10, 15]]]


def test_a_field_left_out_keeps_the_stored_value(app, labeler, dataset):
    """An older client sends only id, label, points and source: the shape and attributes stay."""
    sample_id = new_sample(app, dataset)
    first = labeler.put(url(sample_id), json={"revision": 0, "objects": EVERY_SHAPE}).get_json()
    sent = [{"id": o["id"], "label": o["label"], "points": o["points"], "source": o["source"]} for o in first["objects"]]
    second = labeler.put(url(sample_id), json={"revision": 1, "objects": sent})
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["objects"] == first["objects"]


def test_a_changed_attribute_changes_only_that_object(app, labeler, dataset):
    sample_id = new_sample(app, dataset)
    first = labeler.put(url(sample_id), json={"revision": 0, "objects": EVERY_SHAPE}).get_json()
    add_member(app, dataset["id"], "omar")
    objects = [dict(o) for o in first["objects"]]
    objects[1]["occluded"] = True
    body = as_user(app, "omar").put(url(sample_id), json={"revision": 1, "objects": objects}).get_json()
    assert [o["updated_by"] for o in body["objects"]] == ["lena", "omar", "lena", "lena", "lena", "lena", "lena"]
    assert body["objects"][1]["occluded"] is True and body["objects"][1]["shape"] == "bndbox"


BAD_SHAPES = {
    "polygon two points": ({"shape": "polygon", "points": [[1, 1], [2, 2], [1, 1]]}, "points", "polygon has 2 distinct points"),
    "polygon back and forth": ({"shape": "polygon", "points": [[1, 1], [2, 2], [1, 1], [2, 2]]}, "points", "2 distinct points"),
    "polygon under a pixel": ({"shape": "polygon", "points": [[1, 1], [1.4, 1.1], [1.6, 1.2]]}, "points", "smaller than a pixel"),
    "polygon outside": ({"shape": "polygon", "points": [[1, 1], [65, 1], [3, 3]]}, "points", "outside the 64x48 image (x > 64)"),
    "box inverted": ({"shape": "bndbox", "points": [[9, 1], [9, 5]]}, "points", "bndbox needs two opposite corners"),
    "box not a box": ({"shape": "bndbox", "points": [[1, 1], [9, 1], [9, 5], [2, 5]]}, "points", "bndbox needs"),
    "box outside": ({"shape": "bndbox", "points": [[1, 1], [9, 50]]}, "points", "(y > 48)"),
    "line one place": ({"shape": "line", "points": [[1, 1], [1, 1]]}, "points", "line has its two points at one place"),
    "point outside": ({"shape": "point", "points": [[-1, 3]]}, "points", "negative coordinate"),
    "circle outside": ({"shape": "circle", "points": [[5, 5]], "radius": 10}, "points", "extends outside the 64x48 image"),
    "part inverted": ({"shape": "point", "points": [[1, 1]], "parts": [{"name": "h", "xmin": 5, "ymin": 1, "xmax": 2, "ymax": 3}]},
                      "parts", "part 'h': bndbox is empty or inverted"),
}


@pytest.mark.parametrize(("obj", "field", "problem"), BAD_SHAPES.values(), ids=BAD_SHAPES.keys())
def test_a_bad_shape_is_422_naming_the_object_and_the_problem(app, labeler, dataset, obj, field, problem):
    sample_id = new_sample(app, dataset)
    good = {"label": "cat", "shape": "point", "points": [[1, 1]]}
    response = labeler.put(url(sample_id), json={"revision": 0, "objects": [good, {"label": "dog", **obj}]})
    assert response.status_code == 422, response.get_json()
    [message] = response.get_json()["fields"][f"objects.1.{field}"]
    assert message.startswith("object 1 ('dog'): ") and problem in message, message
    assert labeler.get(url(sample_id)).get_json()["revision"] == 0


SCHEMA_REFUSALS = {
    "unknown shape": {"shape": "hexagon", "points": [[1, 1]]},
    "line of three": {"shape": "line", "points": [[1, 1], [2, 2], [3, 3]]},
    "point of two": {"shape": "point", "points": [[1, 1], [2, 2]]},
    "circle without radius": {"shape": "circle", "points": [[5, 5]]},
    "circle of radius 0": {"shape": "circle", "points": [[5, 5]], "radius": 0},
    "box of three": {"shape": "bndbox", "points": [[1, 1], [2, 2], [3, 3]]},
    "property with NUL": {"shape": "point", "points": [[1, 1]], "properties": {"k": "a\x00b"}},
    "property with a control character": {"shape": "point", "points": [[1, 1]], "properties": {"k": "a\x01b"}},
    "pose with spaces around": {"shape": "point", "points": [[1, 1]], "pose": " Left"},
    "confidence above 1": {"shape": "point", "points": [[1, 1]], "confidence": 1.5},
}


@pytest.mark.parametrize("obj", SCHEMA_REFUSALS.values(), ids=SCHEMA_REFUSALS.keys())
def test_a_malformed_object_is_422_naming_it(app, labeler, dataset, obj):
    sample_id = new_sample(app, dataset)
    response = labeler.put(url(sample_id), json={"revision": 0, "objects": [{"label": "cat", **obj}]})
    assert response.status_code == 422, response.get_json()
    assert any(field.startswith("objects") for field in response.get_json()["fields"]), response.get_json()


def test_the_openapi_document_describes_each_shape_and_the_stale_save(app, labeler):
    spec = labeler.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    items = schemas["AnnotationIn"]["properties"]["objects"]["items"]
    assert items["discriminator"]["propertyName"] == "shape"
    assert set(items["discriminator"]["mapping"]) == {"polygon", "bndbox", "point", "line", "polyline", "dashed", "circle"}
    assert schemas["CircleIn"]["properties"]["radius"]["type"] == "number" and "radius" in schemas["CircleIn"]["required"]
    assert schemas["LineIn"]["properties"]["points"]["minItems"] == schemas["LineIn"]["properties"]["points"]["maxItems"] == 2
    assert "oneOf" in schemas["AnnotationOut"]["properties"]["objects"]["items"]
    conflict = spec["paths"]["/api/v1/samples/{sample_id}/annotation"]["put"]["responses"]["409"]
    assert "stale" in conflict["description"]
    assert conflict["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    assert "current" in schemas["Error"]["properties"]
