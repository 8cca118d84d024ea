"""A version's exports listed and downloaded as one streamed zip, read back with `zipfile`."""
from __future__ import annotations

import io
import zipfile

import pytest

from dataset_service.models import Job, VersionExport
from tests.dataset_service.services.test_versions import SQUARE, TRIANGLE, export, key_of, keys_under, publish, read, save, three_samples

pytestmark = pytest.mark.commits  # publish and export run as jobs in threads


def test_an_export_downloads_as_one_zip_of_its_files(app, admin, labeler, dataset, s3_server):
    ids = three_samples(app, dataset)
    save(labeler, ids["cats/a/one.png"], ("cat", SQUARE), ("dog", TRIANGLE))
    save(labeler, ids["cats/a/two.jpg"], ("dog", TRIANGLE))
    _, version = publish(admin, dataset, train_ratio=0.5)
    voc = export(admin, dataset, version, "voc")
    coco = export(admin, dataset, version, "coco")
    base = f"/api/v1/datasets/{dataset['id']}/versions/{version['id']}/exports"

    listed = admin.get(base).get_json()
    assert listed["total"] == 2 and [(e["id"], e["format"], e["status"]) for e in listed["items"]] == [
        (coco["id"], "coco", "completed"), (voc["id"], "voc", "completed")]

    response = labeler.get(f"{base}/{voc['id']}/download")  # reading is for everyone
    assert response.status_code == 200 and response.mimetype == "application/zip" and response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="V001-voc.zip"'
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert archive.testzip() is None
    prefix = key_of(voc["folder_uri"])
    stored = sorted(key[len(prefix):] for key in keys_under(s3_server, dataset, prefix))
    assert sorted(archive.namelist()) == stored
    assert {"Annotations/a/one.xml", "SegmentationClass/a/two.png", "ImageSets/Segmentation/trainval.txt", "labelmap.txt"} <= set(stored)
    for name in stored:
        assert archive.read(name) == read(s3_server, dataset, prefix + name), name

    coco_zip = zipfile.ZipFile(io.BytesIO(admin.get(f"{base}/{coco['id']}/download").get_data()))
    assert sorted(coco_zip.namelist()) == ["instances_train.json", "instances_val.json"]


def test_what_cannot_be_downloaded(app, admin, labeler, dataset, s3_server):
    ids = three_samples(app, dataset)
    save(labeler, ids["cats/a/one.png"], ("cat", SQUARE))
    _, version = publish(admin, dataset)
    _, other = publish(admin, dataset)
    done = export(admin, dataset, version, "manifest")
    with app.extensions["db_sessionmaker"]() as session:
        job = Job(kind="export", dataset_id=dataset["id"], status="running", progress={}, counts={}, errors=[])
        session.add(job)
        session.flush()
        running = VersionExport(version_id=version["id"], format="coco", folder_uri=version["folder_uri"] + "export/coco/", job_id=job.id)
        session.add(running)
        session.commit()
        running_id = running.id
    base = f"/api/v1/datasets/{dataset['id']}/versions"
    assert admin.get(f"{base}/{version['id']}/exports/{running_id}/download").status_code == 409
    assert admin.get(f"{base}/{other['id']}/exports/{done['id']}/download").status_code == 404  # another version's
    assert admin.get(f"{base}/{version['id']}/exports/999999/download").status_code == 404
