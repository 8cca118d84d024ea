"""A sibling XML file gone from the bucket while the database holds the sample's objects: the
sync writes it again from the database (a save that died between deleting the file and its commit,
or a file deleted by hand, must not leave the bucket and the database apart)."""
from __future__ import annotations

import pytest

from storage.annotations import read_annotation
from storage.errors import ObjectNotFound
from tests.dataset_service.services.test_sync import bucket_of, run_sync

pytestmark = pytest.mark.commits  # the sync runs as a job in a thread

SQUARE = [[10, 10], [40, 10], [40, 30], [10, 30]]


def test_a_missing_xml_file_is_written_again_from_the_database(admin, labeler, dataset, s3_server):
    assert run_sync(admin, dataset["id"])["status"] == "completed"
    samples = admin.get(f"/api/v1/datasets/{dataset['id']}/samples?limit=10&order=key").get_json()["items"]
    one = next(s for s in samples if s["key"].endswith("a/one.png"))
    saved = labeler.put(f"/api/v1/samples/{one['id']}/annotation", json={"revision": one["revision"], "objects": [{"label": "cat", "points": SQUARE}]})
    assert saved.status_code == 200, saved.get_json()
    bucket, xml_key = bucket_of(dataset), one["key"].rsplit(".", 1)[0] + ".xml"
    s3_server.store.delete(bucket, xml_key)

    job = run_sync(admin, dataset["id"])
    assert job["status"] == "completed" and job["counts"]["xml_restored"] == 1, job
    assert job["counts"]["annotations_imported"] == 0  # the objects stay what the database holds
    restored = read_annotation(s3_server.store.get(bucket, xml_key), xml_key)
    assert [(o.label, [list(p) for p in o.points]) for o in restored.objects] == [("cat", SQUARE)]
    after = labeler.get(f"/api/v1/samples/{one['id']}/annotation").get_json()
    assert [o["points"] for o in after["objects"]] == [SQUARE] and after["revision"] == saved.get_json()["revision"]

    again = run_sync(admin, dataset["id"])  # nothing more to restore
    assert again["counts"]["xml_restored"] == 0 and again["counts"]["annotations_imported"] == 0


def test_an_image_without_objects_needs_no_file(admin, dataset, s3_server):
    assert run_sync(admin, dataset["id"])["counts"]["added"] == 3
    job = run_sync(admin, dataset["id"])
    assert job["counts"]["xml_restored"] == 0
    with pytest.raises(ObjectNotFound):
        s3_server.store.get(bucket_of(dataset), "cats/a/one.xml")


def test_a_file_that_cannot_be_written_yet_is_reported_and_the_sync_goes_on(app, admin, labeler, dataset, s3_server):
    from sqlalchemy import update

    from dataset_service.models import Sample

    assert run_sync(admin, dataset["id"])["status"] == "completed"
    samples = admin.get(f"/api/v1/datasets/{dataset['id']}/samples?limit=10&order=key").get_json()["items"]
    one = next(s for s in samples if s["key"].endswith("a/one.png"))
    assert labeler.put(f"/api/v1/samples/{one['id']}/annotation",
                       json={"revision": one["revision"], "objects": [{"label": "cat", "points": SQUARE}]}).status_code == 200
    xml_key = one["key"].rsplit(".", 1)[0] + ".xml"
    s3_server.store.delete(bucket_of(dataset), xml_key)
    with app.extensions["db_sessionmaker"].begin() as session:  # as after a changed image: its size is read again later
        session.execute(update(Sample).where(Sample.id == one["id"]).values(width=None, height=None))

    job = run_sync(admin, dataset["id"])
    assert job["status"] == "completed" and job["counts"]["xml_restored"] == 0, job
    assert any(e["key"] == one["key"] and "cannot be written again" in e["reason"] for e in job["errors"]), job["errors"]
    assert run_sync(admin, dataset["id"])["counts"]["xml_restored"] == 1  # its size is known by now
    s3_server.store.get(bucket_of(dataset), xml_key)
