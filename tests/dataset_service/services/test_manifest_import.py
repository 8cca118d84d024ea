"""Importing a ModelArts manifest against a real SeaweedFS, on SQLite and PostgreSQL: images become
samples, annotation files their objects (through the sync's importer), bad lines are reported one
by one, and a version's manifest imported into a new dataset gives back its objects."""
from __future__ import annotations

import json

import pytest

from storage.annotations import AnnotatedObject, Annotation, read_annotation, write_annotation
from tests.dataset_service.conftest import image_bytes
from tests.dataset_service.services.test_sync import all_samples, run_sync, wait_job
from tests.dataset_service.services.test_versions import SQUARE, TRIANGLE, bucket_of, publish, save, three_samples

pytestmark = pytest.mark.commits  # the import runs as a job in a thread: its work must be committed


def line(source: str, loc: str | None = None, by: str = "human/lena") -> str:
    item = [{"type": "modelarts/image_segmentation", "annotation-loc": loc, "annotation-format": "PASCAL VOC",
             "annotated-by": by, "creation-time": "2026-01-02 03:04:05"}] if loc else []
    return json.dumps({"source": source, "usage": "TRAIN", "id": "x", "sample-type": 0, "annotation": item})


def xml(filename: str, label: str, points, size=(64, 48)) -> bytes:
    return write_annotation(Annotation(filename=filename, width=size[0], height=size[1],
                                       objects=[AnnotatedObject(label=label, points=[tuple(p) for p in points])]))


def start_import(api, dataset, manifest: str) -> dict:
    response = api.post(f"/api/v1/datasets/{dataset['id']}/import", json={"manifest": manifest})
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["import"]["manifest_uri"] == manifest and answer["job"]["kind"] == "import"
    return wait_job(api, answer["job"]["id"])


def objects_of(api, sample_id: int) -> list[dict]:
    return api.get(f"/api/v1/samples/{sample_id}/annotation").get_json()["objects"]


def test_a_manifest_adds_samples_and_objects_and_reports_bad_lines(app, admin, labeler, dataset, s3_server):
    store, bucket = s3_server.store, bucket_of(dataset)
    store.put(bucket, "cats/c/four.png", image_bytes(40, 30))
    store.put(bucket, "manifests/ann/one.xml", xml("one.png", "cat", SQUARE))  # no author in the file: the manifest's
    store.put(bucket, "other/two.xml", xml("two.jpg", "bird", TRIANGLE, (80, 60)))  # a label the dataset does not have yet
    src = f"s3://{bucket}/"
    lines = [
        line(src + "cats/a/one.png", "ann/one.xml"),  # relative to the manifest's folder
        line(src + "cats/a/two.jpg", src + "other/two.xml", by="human/ghost"),  # absolute; no user named ghost
        line(src + "cats/b/three.png"),  # no annotation: an unlabeled sample
        "not json",
        "",
        line(src + "elsewhere/x.png"),
        line(src + "cats/missing.png"),
        line(src + "cats/c/four.png", "ann/nope.xml"),
    ]
    store.put(bucket, "manifests/m.manifest", ("\n".join(lines) + "\n").encode())

    job = start_import(admin, dataset, f"s3://{bucket}/manifests/m.manifest")
    assert job["status"] == "completed", job
    assert job["counts"]["lines"] == 7 and job["counts"]["added"] == 4 and job["counts"]["annotations_imported"] == 2, job
    errors = {e["key"]: e["reason"] for e in job["errors"]}
    assert set(errors) == {"line 4", "line 6", "line 7", "line 8"}, errors
    assert "not a JSON object" in errors["line 4"] and "not inside the dataset's input path" in errors["line 6"]
    assert "does not exist" in errors["line 7"] and "ann/nope.xml does not exist" in errors["line 8"]

    got = all_samples(admin, dataset["id"])
    assert sorted(got) == ["cats/a/one.png", "cats/a/two.jpg", "cats/b/three.png", "cats/c/four.png"]
    assert all(s["width"] for s in got.values()), got  # sizes read as a sync reads them
    (one,) = objects_of(admin, got["cats/a/one.png"]["id"])
    assert (one["label"], one["created_by"], one["created_at"][:19]) == ("cat", "lena", "2026-01-02T03:04:05")
    assert got["cats/a/one.png"]["labeled_by"] == ["lena"]  # kept as the user: the labeled-by filter finds it
    (two,) = objects_of(admin, got["cats/a/two.jpg"]["id"])
    assert (two["label"], two["created_by"]) == ("bird", "ghost") and got["cats/a/two.jpg"]["labeled_by"] == []
    assert got["cats/b/three.png"]["state"] == "unlabeled"

    # The objects are now the images' sibling XML files, so a sync finds nothing to import again.
    sibling = read_annotation(store.get(bucket, "cats/a/one.xml"), "one.xml")
    assert [(o.label, o.created_by) for o in sibling.objects] == [("cat", "lena")]
    synced = run_sync(admin, dataset["id"])
    assert synced["status"] == "completed" and synced["counts"]["annotations_imported"] == 0, synced
    assert objects_of(admin, got["cats/a/two.jpg"]["id"])[0]["created_by"] == "ghost"


def test_a_versions_manifest_rebuilds_its_objects_in_a_new_dataset(app, admin, labeler, dataset, s3_server):
    ids = three_samples(app, dataset)
    save(labeler, ids["cats/a/one.png"], ("cat", SQUARE), ("dog", TRIANGLE))
    _, version = publish(admin, dataset)
    other = admin.post("/api/v1/datasets", json={"name": f"copy-{dataset['id']}", "input_path": dataset["input_path"]}).get_json()

    job = start_import(admin, other, version["manifest_uri"])
    assert job["status"] == "completed" and job["counts"]["errors"] == 0, job
    got = all_samples(admin, other["id"])
    assert sorted(got) == sorted(ids) and got["cats/a/one.png"]["labels"] == ["cat", "dog"]
    copied = objects_of(admin, got["cats/a/one.png"]["id"])
    assert [(o["label"], o["points"], o["created_by"]) for o in copied] == [("cat", SQUARE, "lena"), ("dog", TRIANGLE, "lena")]
