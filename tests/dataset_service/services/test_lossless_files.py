"""Files other tools wrote go through the service losslessly (issue 12): synchronized, saved back
unedited through the API, rewritten after a label change; every shape, attribute and file field
survives for a PASCAL-VOC reader, and a rewrite job writes what it can and reports the rest."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from dataset_service.models import Sample
from storage.annotations import read_annotation
from tests.dataset_service.conftest import image_bytes
from tests.dataset_service.services.test_sync import run_sync, wait_job
from tests.storage.test_annotation_fixtures import STYLES, voc_view
from tests.storage.test_annotations_roundtrip import integer_reader

pytestmark = pytest.mark.commits  # syncs and rewrites are jobs in threads

FIXTURES = Path(__file__).parents[2] / "storage" / "fixtures"


def bucket_of(dataset) -> str:
    return dataset["input_path"].split("/")[2]


def put_style(store, bucket: str, style: str) -> tuple[str, bytes]:
    """Put a fixture file and an image of its size and name under cats/<style>/; return the image's key and the file."""
    data = (FIXTURES / style).read_bytes()
    ann = read_annotation(data, style)
    folder = f"cats/{style.removesuffix('.xml')}/"
    image = folder + ann.filename
    store.put(bucket, image, image_bytes(ann.width, ann.height, "PNG" if image.endswith(".png") else "JPEG"))
    store.put(bucket, image.rsplit(".", 1)[0] + ".xml", data)
    return image, data


def sample_ids(api, dataset_id: int) -> dict[str, int]:
    items = api.get(f"/api/v1/datasets/{dataset_id}/samples?limit=100").get_json()["items"]
    return {s["key"]: s["id"] for s in items}


def xml_key(image: str) -> str:
    return image.rsplit(".", 1)[0] + ".xml"


def with_depth(view: dict) -> dict:
    """A file that gave no depth gets the image's (our test images are RGB)."""
    view["size"][2] = view["size"][2] or "3"
    return view


def renamed(view: dict, old: str, new: str) -> dict:
    for obj in view["objects"]:
        obj["name"] = new if obj["name"] == old else obj["name"]
    return view


def test_every_style_synced_and_saved_back_unedited_says_the_same(app, admin, dataset, s3_server):
    """Before: boxes became polygons, attributes were reset, parts, properties and file fields dropped,
    and an image holding a point, line or dashed line could not be saved at all."""
    store, bucket = s3_server.store, bucket_of(dataset)
    files = {style: put_style(store, bucket, style) for style in STYLES}
    job = run_sync(admin, dataset["id"])
    assert job["status"] == "completed" and job["counts"]["errors"] == 0, job
    ids = sample_ids(admin, dataset["id"])
    for style, (image, original) in files.items():
        url = f"/api/v1/samples/{ids[image]}/annotation"
        got = admin.get(url).get_json()
        assert got["warning"] is None
        response = admin.put(url, json=got)  # exactly what GET gave
        assert response.status_code == 200, (style, response.get_json())
        assert response.get_json()["objects"] == got["objects"], style  # nobody changed anything: nothing changed
        written = store.get(bucket, xml_key(image))
        assert voc_view(written) == with_depth(voc_view(original)), style
        integer_reader(written)


def test_a_label_rename_rewrites_only_its_files_and_only_the_name(app, admin, dataset, s3_server):
    store, bucket = s3_server.store, bucket_of(dataset)
    files = {style: put_style(store, bucket, style) for style in STYLES}
    assert run_sync(admin, dataset["id"])["status"] == "completed"
    etags = {style: store.stat(bucket, xml_key(image)).etag for style, (image, _) in files.items()}
    labels = {label["name"]: label["id"] for label in admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["labels"]}
    assert admin.patch(f"/api/v1/datasets/{dataset['id']}/labels/{labels['person']}", json={"name": "human"}).status_code == 200
    job = wait_job(admin, admin.get(f"/api/v1/datasets/{dataset['id']}/jobs").get_json()["items"][0]["id"])
    assert job["kind"] == "annotation-files" and job["status"] == "completed", job
    assert (job["counts"]["written"], job["counts"]["errors"]) == (2, 0), job
    for style, (image, original) in files.items():
        if style in ("labelimg.xml", "voc2012_parts.xml"):
            assert voc_view(store.get(bucket, xml_key(image))) == renamed(voc_view(original), "person", "human"), style
        else:
            assert store.stat(bucket, xml_key(image)).etag == etags[style], style  # not touched

    # A file whose content would not change is not written again.
    image = files["labelimg.xml"][0]
    before = store.stat(bucket, xml_key(image))
    with app.extensions["db_sessionmaker"].begin() as session:
        session.execute(update(Sample).where(Sample.key == image).values(xml_stale=True))
    job = wait_job(admin, admin.post(f"/api/v1/datasets/{dataset['id']}/annotation-files").get_json()["id"])
    assert (job["status"], job["counts"]["unchanged"], job["counts"].get("written", 0)) == ("completed", 1, 0), job
    assert store.stat(bucket, xml_key(image)).last_modified == before.last_modified


def test_a_rewrite_writes_what_it_can_reports_the_rest_and_retries_only_that(app, admin, dataset, s3_server):
    """Before: a point, line or dashed object failed the whole job, which wrote nothing, on every
    run; so did a sample whose image size had become unknown."""
    store, bucket = s3_server.store, bucket_of(dataset)
    modelarts, _ = put_style(store, bucket, "modelarts.xml")  # a point, a line, a dashed line, a circle...
    store.put(bucket, "cats/z/lost.png", image_bytes(20, 20))
    store.put(bucket, "cats/z/lost.xml", b"<annotation><size><width>20</width><height>20</height></size><object><name>\xe8\xb7\xaf\xe7\x81\xaf</name>"
                                          b"<point><x>3</x><y>4</y></point></object></annotation>")
    assert run_sync(admin, dataset["id"])["status"] == "completed"
    with app.extensions["db_sessionmaker"].begin() as session:
        session.execute(update(Sample).where(Sample.key == "cats/z/lost.png").values(width=None, height=None))
    labels = {label["name"]: label["id"] for label in admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["labels"]}
    response = admin.patch(f"/api/v1/datasets/{dataset['id']}/labels/{labels['路灯']}", json={"name": "lamp", "color": "#123456"})
    assert response.status_code == 200, response.get_json()
    job = wait_job(admin, admin.get(f"/api/v1/datasets/{dataset['id']}/jobs").get_json()["items"][0]["id"])
    assert job["status"] == "completed", job
    assert (job["counts"]["written"], job["counts"]["errors"], job["progress"]["stages"][0]["done"], job["progress"]["stages"][0]["total"]) == (1, 1, 2, 2), job
    assert job["errors"] == [{"key": "cats/z/lost.png", "reason": "the XML file cannot be written: the image's size is not known yet (a sync reads it)"}]
    rewritten = read_annotation(store.get(bucket, xml_key(modelarts)), "modelarts.xml")
    assert [o.shape for o in rewritten.objects] == ["polygon", "bndbox", "point", "line", "dashed", "polyline", "circle"]
    assert rewritten.objects[2].label == "lamp" and rewritten.objects[2].mask_color == (0x12, 0x34, 0x56)
    assert admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]["xml_stale"] == 1

    job = wait_job(admin, admin.post(f"/api/v1/datasets/{dataset['id']}/annotation-files").get_json()["id"])
    step = {"name": "writing", "state": "done", "done": 1, "total": 1}
    assert (job["status"], job["progress"]["stages"], job["counts"]["errors"]) == ("completed", [step], 1), job


LYING_SIZE = b"""<annotation><filename>street.jpg</filename>
  <size><width>1000</width><height>1000</height><depth>3</depth></size>
  <object><name>cat</name><polygon><x1>10</x1><y1>10</y1><x2>400</x2><y2>10</y2><x3>200</x3><y3>290</y3></polygon></object>
  <object><name>dog</name><point><x>900</x><y>10</y></point></object>
  <object><name>dog</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>50</xmax><ymax>700</ymax></bndbox></object>
</annotation>"""


def test_the_real_image_wins_and_objects_outside_it_are_reported_one_by_one(app, admin, dataset, s3_server):
    """Before: a <size> of 1000x1000 for a 451x300 image was trusted (points outside the image were
    accepted), and a file with one object outside the image was refused whole."""
    store, bucket = s3_server.store, bucket_of(dataset)
    store.put(bucket, "cats/s/street.jpg", image_bytes(451, 300, "JPEG"))
    store.put(bucket, "cats/s/street.xml", LYING_SIZE)
    job = run_sync(admin, dataset["id"])
    assert job["status"] == "completed", job
    assert [e["reason"] for e in job["errors"] if e["key"] == "cats/s/street.xml"] == [
        "annotation: <size> says 1000x1000 but the image is 451x300: imported against the image's size",
        "annotation: left out object 2 ('dog'): point (900, 10) is outside the 451x300 image (x > 451)",
        "annotation: left out object 3 ('dog'): point (50, 700) is outside the 451x300 image (y > 300)",
    ]
    sample_id = sample_ids(admin, dataset["id"])["cats/s/street.jpg"]
    sample = admin.get(f"/api/v1/samples/{sample_id}").get_json()
    assert (sample["width"], sample["height"], sample["state"]) == (451, 300, "labeled")
    got = admin.get(f"/api/v1/samples/{sample_id}/annotation").get_json()
    assert [o["label"] for o in got["objects"]] == ["cat"] and got["warning"] == sample["warning"]
    assert got["warning"].splitlines()[1] == "left out object 2 ('dog'): point (900, 10) is outside the 451x300 image (x > 451)"

    # A background job never rewrites a file with errors: a rename leaves it for a person to save.
    labels = {label["name"]: label["id"] for label in admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["labels"]}
    assert admin.patch(f"/api/v1/datasets/{dataset['id']}/labels/{labels['cat']}", json={"name": "kitten"}).status_code == 200
    rewrite = wait_job(admin, admin.get(f"/api/v1/datasets/{dataset['id']}/jobs").get_json()["items"][0]["id"])
    assert rewrite["counts"]["errors"] == 1 and "left something out" in rewrite["errors"][0]["reason"], rewrite
    assert store.get(bucket, "cats/s/street.xml") == LYING_SIZE

    got = admin.get(f"/api/v1/samples/{sample_id}/annotation").get_json()
    saved = admin.put(f"/api/v1/samples/{sample_id}/annotation", json=got)
    assert saved.status_code == 200 and saved.get_json()["warning"] is None, saved.get_json()
    written = read_annotation(store.get(bucket, "cats/s/street.xml"), "street.xml")
    assert (written.width, written.height, [o.label for o in written.objects]) == (451, 300, ["kitten"])
    assert admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]["xml_stale"] == 0


def test_a_greyscale_image_is_written_with_depth_1(app, admin, dataset, s3_server):
    """Before: every file we wrote said depth 3."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (40, 30), 128).save(buffer, format="PNG")
    store, bucket = s3_server.store, bucket_of(dataset)
    store.put(bucket, "cats/g/grey.png", buffer.getvalue())
    assert run_sync(admin, dataset["id"])["status"] == "completed"
    sample_id = sample_ids(admin, dataset["id"])["cats/g/grey.png"]
    saved = admin.put(f"/api/v1/samples/{sample_id}/annotation", json={"revision": 0, "objects": [
        {"label": "cat", "shape": "bndbox", "points": [[1, 1], [20, 20]]}]})
    assert saved.status_code == 200 and saved.get_json()["file"]["depth"] == 1, saved.get_json()
    assert read_annotation(store.get(bucket, "cats/g/grey.xml"), "grey.xml").depth == 1
