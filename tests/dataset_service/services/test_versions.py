"""Versions against a real SeaweedFS, on SQLite and PostgreSQL: publish (its files, its one instant,
a publish killed midway), read, delete, and the exports read back with the readers training code uses."""
from __future__ import annotations

import io
import json
import threading
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from sqlalchemy import select

from dataset_service.models import VersionObject, VersionSample
from dataset_service.services import snapshots
from storage.annotations import read_annotation
from storage.errors import ObjectNotFound
from storage.manifest import usage
from tests.dataset_service.conftest import add_member, as_user, image_bytes
from tests.dataset_service.factories import add_sample
from tests.dataset_service.services.test_sync import FlakyProxy, run_sync, wait_job

pytestmark = pytest.mark.commits  # publish, delete and export run as jobs in threads: their work must be committed

SQUARE = [[10, 10], [40, 10], [40, 30], [10, 30]]  # inside every test image but the 32x32 one
TRIANGLE = [[2, 2], [20, 2], [11, 20]]
SMALL = [[2.4, 2.6], [12.5, 2.2], [7.3, 9.8]]


def bucket_of(dataset) -> str:
    return dataset["input_path"].split("/")[2]


def save(api, sample_id, *objects, revision=0):
    body = {"revision": revision, "objects": [{"label": label, "points": points} for label, points in objects]}
    response = api.put(f"/api/v1/samples/{sample_id}/annotation", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def publish(api, dataset, **body) -> dict:
    response = api.post(f"/api/v1/datasets/{dataset['id']}/versions", json=body)
    assert response.status_code == 202, response.get_json()
    answer = response.get_json()
    assert answer["version"]["state"] == "creating" and answer["job"]["kind"] == "publish"
    job = wait_job(api, answer["job"]["id"])
    return job, api.get(f"/api/v1/datasets/{dataset['id']}/versions/{answer['version']['id']}").get_json()


def export(api, dataset, version, fmt) -> dict:
    response = api.post(f"/api/v1/datasets/{dataset['id']}/versions/{version['id']}/exports", json={"format": fmt})
    assert response.status_code == 202, response.get_json()
    job = wait_job(api, response.get_json()["job"]["id"])
    assert job["status"] == "completed", job
    samples = version["counts"]["samples"]
    assert job["progress"]["stages"] == [{"name": "writing files", "state": "done", "done": samples, "total": samples}]
    return response.get_json()["export"]


def key_of(uri: str) -> str:
    return uri.split("/", 3)[3]


def read(s3_server, dataset, uri_or_key: str) -> bytes:
    key = key_of(uri_or_key) if uri_or_key.startswith("s3://") else uri_or_key
    return s3_server.store.get(bucket_of(dataset), key)


def keys_under(s3_server, dataset, prefix: str) -> list[str]:
    return [o.key for page in s3_server.store.list_pages(bucket_of(dataset), prefix) for o in page]


def three_samples(app, dataset) -> dict[str, int]:
    """The dataset fixture's three images as samples (their sizes known)."""
    sizes = {"cats/a/one.png": (64, 48), "cats/a/two.jpg": (80, 60), "cats/b/three.png": (32, 32)}
    return {key: add_sample(app, dataset["id"], key, width=w, height=h) for key, (w, h) in sizes.items()}


# --- publish -----------------------------------------------------------------------------------


def test_publish_writes_manifest_xml_and_masks(app, admin, labeler, dataset, s3_server):
    ids = three_samples(app, dataset)
    save(labeler, ids["cats/a/one.png"], ("cat", SQUARE), ("dog", TRIANGLE))
    save(labeler, ids["cats/a/two.jpg"], ("dog", SMALL))

    job, version = publish(admin, dataset, description="first", train_ratio=0.5)
    assert job["status"] == "completed", job
    assert job["counts"]["samples"] == 3 and job["counts"]["files"] == 4 and job["progress"]["stages"] == [
        {"name": "snapshot", "state": "done", "done": 1, "total": 1}, {"name": "writing files", "state": "done", "done": 3, "total": 3},
        {"name": "writing the manifest", "state": "done", "done": 1, "total": 1}]
    assert (version["name"], version["state"], version["description"], version["train_ratio"]) == ("V001", "normal", "first", 0.5)
    assert version["counts"] == {"samples": 3, "labeled": 2, "objects": 3, "added": 3, "modified": 0, "deleted": 0}
    assert version["label_stats"] == {"cat": {"samples": 1, "objects": 1}, "dog": {"samples": 2, "objects": 2}}
    assert [label["name"] for label in version["labels"]] == ["cat", "dog"] and version["created_by"] == "admin"
    folder = f"s3://{bucket_of(dataset)}/out/{dataset['name']}-{dataset['id']}/annotation/V001/"
    assert version["folder_uri"] == folder and version["manifest_uri"] == folder + "V001.manifest"

    lines = [json.loads(line) for line in read(s3_server, dataset, version["manifest_uri"]).decode("utf-8").splitlines()]
    by_source = {line["source"]: line for line in lines}
    assert sorted(by_source) == [f"s3://{bucket_of(dataset)}/{key}" for key in sorted(ids)]
    for key in ids:
        line = by_source[f"s3://{bucket_of(dataset)}/{key}"]
        assert set(line) == {"source", "usage", "id", "sample-type", "annotation"}
        assert line["usage"] == usage(key, 0.5) and line["sample-type"] == 0 and len(line["id"]) == 32
    assert by_source[f"s3://{bucket_of(dataset)}/cats/b/three.png"]["annotation"] == []
    (item,) = by_source[f"s3://{bucket_of(dataset)}/cats/a/one.png"]["annotation"]
    assert item["type"] == "modelarts/image_segmentation" and item["annotation-format"] == "PASCAL VOC"
    assert item["annotated-by"] == "human/lena" and item["annotation-loc"] == folder + "annotations/a/one.xml"
    time.strptime(item["creation-time"], "%Y-%m-%d %H:%M:%S")

    xml = read(s3_server, dataset, item["annotation-loc"])
    annotation = read_annotation(xml, "one.xml")
    assert [(o.label, o.created_by) for o in annotation.objects] == [("cat", "lena"), ("dog", "lena")]
    assert annotation.mask_source == folder + "segmentationClassRaw/a/one.png"
    small = read_annotation(read(s3_server, dataset, folder + "annotations/a/two.xml"), "two.xml").objects[0]
    assert small.points == [(2, 3), (13, 2), (7, 10)]  # whole pixels, halves up (the writer's rule), as ModelArts' reader needs

    mask = np.array(Image.open(io.BytesIO(read(s3_server, dataset, annotation.mask_source))))
    assert Image.open(io.BytesIO(read(s3_server, dataset, annotation.mask_source))).mode == "L" and mask.shape == (48, 64)
    assert mask[20, 25] == 1 and mask[5, 11] == 2 and mask[45, 60] == 0 and set(np.unique(mask)) == {0, 1, 2}
    labelmap = read(s3_server, dataset, folder + "segmentationClassRaw/labelmap.txt").decode().splitlines()
    assert labelmap[1:] == ["background:0,0,0::", "cat:255,0,0::", f"dog:{labelmap[3].split(':')[1]}::"]
    # Images and the working XML are where they were.
    assert s3_server.store.stat(bucket_of(dataset), "cats/a/one.xml")


def test_a_second_version_counts_what_changed_and_the_split_stays(app, admin, labeler, dataset, s3_server):
    ids = three_samples(app, dataset)
    save(labeler, ids["cats/a/one.png"], ("cat", SQUARE))
    _, first = publish(admin, dataset, train_ratio=0.5)
    save(labeler, ids["cats/a/one.png"], ("dog", SQUARE), revision=1)
    admin.post(f"/api/v1/datasets/{dataset['id']}/samples/delete", json={"ids": [ids["cats/b/three.png"]]})
    add_sample(app, dataset["id"], "cats/b/four.png", width=10, height=10)

    job, second = publish(admin, dataset, train_ratio=0.5)
    assert job["status"] == "completed" and second["name"] == "V002" and second["previous_id"] == first["id"]
    assert second["counts"] == {"samples": 3, "labeled": 1, "objects": 1, "added": 1, "modified": 1, "deleted": 1}
    usages = [{line["source"]: line["usage"] for line in map(json.loads, read(s3_server, dataset, v["manifest_uri"]).splitlines())}
              for v in (first, second)]
    assert all(usages[1][source] == split for source, split in usages[0].items() if source in usages[1])
    # The first version is untouched by what came after it.
    assert read_annotation(read(s3_server, dataset, first["folder_uri"] + "annotations/a/one.xml"), "x").objects[0].label == "cat"

    listed = admin.get(f"/api/v1/datasets/{dataset['id']}/versions?limit=1").get_json()
    assert listed["total"] == 2 and [v["name"] for v in listed["items"]] == ["V002"]


def test_a_publish_holds_one_instant_while_saves_go_on(app, admin, dataset, monkeypatch):
    """Each sample's snapshot revision and objects agree: a save is wholly in the version or not at all."""
    real_aliased = snapshots.aliased

    def slowly_aliased(*args, **kwargs):  # called between copying the samples and copying the objects
        time.sleep(0.3)  # saves commit meanwhile: the copy must not see them
        return real_aliased(*args, **kwargs)

    monkeypatch.setattr(snapshots, "aliased", slowly_aliased)
    ids = [add_sample(app, dataset["id"], f"cats/many/{i:02d}.png", width=64, height=48) for i in range(12)]
    savers = [as_user(app, "admin") for _ in range(3)]
    stop, problems = threading.Event(), []

    def keep_saving(api, mine):
        revisions = dict.fromkeys(mine, 0)
        while not stop.is_set():
            for sample_id in mine:
                marker = revisions[sample_id] + 1  # the revision this save makes, written into its objects
                objects = [{"label": "cat", "points": [[1, 1], [1 + marker % 50, 1], [1, 10]]}] * (1 + marker % 3)
                response = api.put(f"/api/v1/samples/{sample_id}/annotation", json={"revision": revisions[sample_id], "objects": objects})
                if response.status_code == 200:
                    revisions[sample_id] = response.get_json()["revision"]
                elif response.status_code != 409:
                    problems.append(response.get_json())

    threads = [threading.Thread(target=keep_saving, args=(api, ids[i::3])) for i, api in enumerate(savers)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        versions = [publish(admin, dataset)[1] for _ in range(2)]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not problems, problems
    assert sum(v["counts"]["modified"] for v in versions[1:]) > 0  # saves did land between the two versions
    with app.extensions["db_sessionmaker"]() as session:
        for version in versions:
            assert version["state"] == "normal", version
            rows = session.scalars(select(VersionSample).where(VersionSample.version_id == version["id"])).all()
            objects = session.scalars(select(VersionObject).where(VersionObject.version_id == version["id"])).all()
            assert len(rows) == 12
            for row in rows:
                mine = [o for o in objects if o.sample_id == row.sample_id]
                assert len(mine) == (1 + row.revision % 3 if row.revision else 0), (row.key, row.revision, len(mine))
                assert all(o.points[1][0] == 1 + row.revision % 50 for o in mine), (row.key, row.revision)
            assert version["counts"]["objects"] == len(objects)


def test_a_publish_cut_off_from_the_store_fails_and_a_new_one_completes(app, admin, labeler, dataset, s3_server, monkeypatch):
    ids = [add_sample(app, dataset["id"], f"cats/many/{i:02d}.png", width=64, height=48) for i in range(30)]
    for sample_id in ids[:20]:
        save(labeler, sample_id, ("cat", SQUARE))
    monkeypatch.setattr("dataset_service.services.snapshots.PAGE", 5)
    proxy = FlakyProxy(int(s3_server.endpoint_url.rsplit(":", 1)[1]))
    app.config["SERVICE"] = app.config["SERVICE"].replace(s3_endpoint_url=f"http://127.0.0.1:{proxy.port}")
    try:
        proxy.cut_after(12)
        job, failed = publish(admin, dataset)
        assert job["status"] == "failed" and job["error"].startswith("object store"), job
        assert failed["state"] == "failed" and failed["error"], failed
        with pytest.raises(ObjectNotFound):  # never a manifest for a version that is not whole
            s3_server.store.stat(bucket_of(dataset), key_of(failed["manifest_uri"]))
        proxy.revive()
        job, version = publish(admin, dataset)
        assert job["status"] == "completed" and version["state"] == "normal" and version["name"] == "V002"
        assert version["previous_id"] is None and version["counts"]["added"] == 30  # a failed version is no base
        assert len(read(s3_server, dataset, version["manifest_uri"]).splitlines()) == 30

        response = admin.delete(f"/api/v1/datasets/{dataset['id']}/versions/{failed['id']}")  # a failed version can go
        assert response.status_code == 202 and wait_job(admin, response.get_json()["job"]["id"])["status"] == "completed"
        assert keys_under(s3_server, dataset, key_of(failed["folder_uri"])) == []
    finally:
        proxy.close()


# --- delete ------------------------------------------------------------------------------------


def test_delete_removes_the_version_and_its_files_only(app, admin, labeler, dataset, s3_server):
    ids = three_samples(app, dataset)
    save(labeler, ids["cats/a/one.png"], ("cat", SQUARE))
    _, version = publish(admin, dataset)
    export(admin, dataset, version, "manifest")
    url = f"/api/v1/datasets/{dataset['id']}/versions/{version['id']}"
    assert labeler.delete(url).status_code == 403
    assert keys_under(s3_server, dataset, key_of(version["folder_uri"]))

    response = admin.delete(url)
    assert response.status_code == 202 and response.get_json()["version"]["state"] == "deleting"
    job = wait_job(admin, response.get_json()["job"]["id"])
    assert job["status"] == "completed" and job["counts"] == {"versions": 1, "files": 5}, job  # manifest, labelmap, XML, mask, the export
    assert job["progress"]["stages"] == [{"name": "deleting files", "state": "done", "done": 5, "total": 5}]
    assert admin.get(url).status_code == 404
    assert keys_under(s3_server, dataset, key_of(version["folder_uri"])) == []
    assert s3_server.store.stat(bucket_of(dataset), "cats/a/one.png") and s3_server.store.stat(bucket_of(dataset), "cats/a/one.xml")
    assert admin.get(f"/api/v1/samples/{ids['cats/a/one.png']}/annotation").get_json()["objects"][0]["label"] == "cat"
    assert publish(admin, dataset)[1]["name"] == "V001"  # the name is free again


# --- exports -----------------------------------------------------------------------------------


def test_voc_export_reads_as_pascal_voc(app, admin, labeler, dataset, s3_server):
    ids = three_samples(app, dataset)
    save(labeler, ids["cats/a/one.png"], ("cat", SQUARE), ("dog", TRIANGLE))
    save(labeler, ids["cats/a/two.jpg"], ("dog", SMALL))
    _, version = publish(admin, dataset, train_ratio=0.5)
    exported = export(admin, dataset, version, "voc")
    root = exported["folder_uri"]
    assert root == version["folder_uri"] + "export/voc/"

    # A reader that knows nothing of our elements: xml.etree, the VOC fields only.
    tree = ET.fromstring(read(s3_server, dataset, root + "Annotations/a/one.xml"))
    assert (tree.findtext("filename"), tree.findtext("size/width"), tree.findtext("size/height")) == ("one.png", "64", "48")
    assert [o.findtext("name") for o in tree.iter("object")] == ["cat", "dog"]
    first = tree.find("object/polygon")
    assert [int(first.findtext(f"{axis}{i}")) for i in range(1, 5) for axis in "xy"] == [v for point in SQUARE for v in point]

    labels = read(s3_server, dataset, root + "labelmap.txt").decode().splitlines()
    assert labels[1:3] == ["background:0,0,0::", "cat:255,0,0::"] and labels[3].startswith("dog:")
    dog_rgb = tuple(int(c) for c in labels[3].split(":")[1].split(","))
    classes = Image.open(io.BytesIO(read(s3_server, dataset, root + "SegmentationClass/a/one.png")))
    assert classes.mode == "P" and classes.getpalette()[:9] == [0, 0, 0, 255, 0, 0, *dog_rgb]
    pixels = np.array(classes)
    assert pixels[20, 25] == 1 and pixels[5, 11] == 2 and pixels[45, 60] == 0
    instances = np.array(Image.open(io.BytesIO(read(s3_server, dataset, root + "SegmentationObject/a/one.png"))))
    assert instances[20, 25] == 1 and instances[5, 11] == 2 and instances[45, 60] == 0

    lists = {name: read(s3_server, dataset, root + f"ImageSets/Segmentation/{name}.txt").decode().split()
             for name in ("train", "val", "trainval")}
    assert sorted(lists["trainval"]) == ["a/one", "a/two"] and sorted(lists["train"] + lists["val"]) == ["a/one", "a/two"]
    assert lists["train"] == [stem for stem, key in (("a/one", "cats/a/one.png"), ("a/two", "cats/a/two.jpg")) if usage(key, 0.5) == "TRAIN"]


def test_coco_export_loads_in_pycocotools_and_is_stable(app, admin, labeler, dataset, s3_server, tmp_path):
    ids = three_samples(app, dataset)
    save(labeler, ids["cats/a/one.png"], ("cat", SQUARE), ("dog", TRIANGLE))
    save(labeler, ids["cats/a/two.jpg"], ("dog", SMALL))
    _, version = publish(admin, dataset)
    exported = export(admin, dataset, version, "coco")
    first = read(s3_server, dataset, exported["folder_uri"] + "instances.json")
    (tmp_path / "instances.json").write_bytes(first)

    coco = COCO(str(tmp_path / "instances.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["cat", "dog"]
    assert sorted(img["file_name"] for img in coco.dataset["images"]) == ["a/one.png", "a/two.jpg"]
    assert len(coco.getAnnIds()) == 3
    for ann in coco.loadAnns(coco.getAnnIds()):
        image = coco.imgs[ann["image_id"]]
        xs, ys = ann["segmentation"][0][0::2], ann["segmentation"][0][1::2]
        assert ann["bbox"] == [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)] and ann["iscrowd"] == 0
        assert ann["area"] == coco_mask.area(coco.annToRLE(ann)) > 0
        assert coco.annToMask(ann).shape == (image["height"], image["width"])
    square = next(a for a in coco.dataset["annotations"] if a["category_id"] == 1)
    assert square["bbox"] == [10, 10, 30, 20]

    assert read(s3_server, dataset, export(admin, dataset, version, "coco")["folder_uri"] + "instances.json") == first

    _, split = publish(admin, dataset, train_ratio=0.5)
    root = export(admin, dataset, split, "coco")["folder_uri"]
    halves = [json.loads(read(s3_server, dataset, root + f"instances_{name}.json")) for name in ("train", "val")]
    assert sorted(img["file_name"] for half in halves for img in half["images"]) == ["a/one.png", "a/two.jpg"]
    assert sum(len(half["annotations"]) for half in halves) == 3


def test_manifest_export_is_the_versions_manifest(app, admin, labeler, dataset, s3_server):
    ids = three_samples(app, dataset)
    save(labeler, ids["cats/a/one.png"], ("cat", SQUARE))
    _, version = publish(admin, dataset)
    exported = export(admin, dataset, version, "manifest")
    assert read(s3_server, dataset, exported["folder_uri"] + "V001.manifest") == read(s3_server, dataset, version["manifest_uri"])


def test_a_version_inside_the_input_path_is_not_synced_as_samples(app, admin, labeler, bucket, s3_server):
    for key in ("pets/a/one.png", "pets/b/two.png"):
        s3_server.store.put(bucket, key, image_bytes(64, 48))
    response = admin.post("/api/v1/datasets", json={"name": "pets", "input_path": f"s3://{bucket}/pets/", "labels": [{"name": "cat"}]})
    dataset = response.get_json()
    assert dataset["output_path"] == dataset["input_path"]  # the default: versions are written inside the input path
    assert run_sync(admin, dataset["id"])["counts"]["added"] == 2
    sample = next(s for s in admin.get(f"/api/v1/datasets/{dataset['id']}/samples").get_json()["items"] if s["key"] == "pets/a/one.png")
    add_member(app, dataset["id"], "lena")
    save(labeler, sample["id"], ("cat", SQUARE))
    _, version = publish(admin, dataset)
    assert keys_under(s3_server, dataset, key_of(version["folder_uri"]) + "segmentationClassRaw/a/one.png")

    job = run_sync(admin, dataset["id"])
    assert job["status"] == "completed" and (job["counts"]["added"], job["counts"]["deleted"]) == (0, 0), job
    assert admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]["total"] == 2
