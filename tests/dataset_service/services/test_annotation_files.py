"""Sibling XML files follow label changes: renamed, recoloured and force-deleted labels are rewritten by a job."""
from __future__ import annotations

import pytest

from storage.annotations import read_annotation
from storage.errors import ObjectNotFound
from tests.dataset_service.conftest import app_with, finish_jobs
from tests.dataset_service.factories import add_sample
from tests.dataset_service.services.test_sync import wait_job

pytestmark = pytest.mark.commits  # jobs run in threads and Celery workers: their work must be committed

SQUARE = [[10, 10], [40, 10], [40, 30], [10, 30]]
TRIANGLE = [[1, 1], [20, 1], [10, 15]]


def bucket_of(dataset):
    return dataset["input_path"].split("/")[2]


def label_id(dataset, name):
    return next(label["id"] for label in dataset["labels"] if label["name"] == name)


def save(api, sample_id, *objects):
    body = {"revision": 0, "objects": [{"label": label, "points": points} for label, points in objects]}
    response = api.put(f"/api/v1/samples/{sample_id}/annotation", json=body)
    assert response.status_code == 200, response.get_json()


def xml_of(s3_server, dataset, key):
    return read_annotation(s3_server.store.get(bucket_of(dataset), key), key)


def last_job(api, dataset, kind="annotation-files"):
    jobs = api.get(f"/api/v1/datasets/{dataset['id']}/jobs").get_json()["items"]
    return next(job for job in jobs if job["kind"] == kind)


def test_rename_recolour_and_forced_delete_rewrite_the_files(app, admin, labeler, dataset, s3_server):
    both = add_sample(app, dataset["id"], "cats/a/one.png", width=64, height=48)
    only_cat = add_sample(app, dataset["id"], "cats/a/two.jpg", width=80, height=60)
    only_dog = add_sample(app, dataset["id"], "cats/b/three.png", width=32, height=32)
    save(labeler, both, ("cat", SQUARE), ("dog", TRIANGLE))
    save(labeler, only_cat, ("cat", SQUARE))
    save(labeler, only_dog, ("dog", TRIANGLE))
    dog_xml_before = s3_server.store.stat(bucket_of(dataset), "cats/b/three.xml").etag
    labels = f"/api/v1/datasets/{dataset['id']}/labels"

    response = admin.patch(f"{labels}/{label_id(dataset, 'cat')}", json={"name": "kitten", "color": "#00ff00"})
    assert response.status_code == 200
    job = wait_job(admin, last_job(admin, dataset)["id"])
    assert job["status"] == "completed", job
    assert (job["counts"]["written"], job["counts"]["deleted"], job["counts"]["errors"]) == (2, 0, 0)
    assert job["progress"] == {"stage": None, "done": None, "total": None, "stages": [{"name": "writing", "state": "done", "done": 2, "total": 2}]}
    assert [o.label for o in xml_of(s3_server, dataset, "cats/a/one.xml").objects] == ["kitten", "dog"]
    kitten = xml_of(s3_server, dataset, "cats/a/two.xml").objects[0]
    assert kitten.label == "kitten" and kitten.mask_color == (0, 255, 0) and kitten.created_by == "lena"
    assert s3_server.store.stat(bucket_of(dataset), "cats/b/three.xml").etag == dog_xml_before  # not touched

    response = admin.delete(f"{labels}/{label_id(dataset, 'cat')}?force=true")
    assert response.status_code == 204
    job = wait_job(admin, last_job(admin, dataset)["id"])
    assert (job["status"], job["counts"]["written"], job["counts"]["deleted"]) == ("completed", 1, 1), job
    assert [o.label for o in xml_of(s3_server, dataset, "cats/a/one.xml").objects] == ["dog"]
    with pytest.raises(ObjectNotFound):  # no object left on it: no file, as after a save of nothing
        s3_server.store.stat(bucket_of(dataset), "cats/a/two.xml")
    counts = admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]
    assert counts["xml_stale"] == 0

    # The sync sees the rewritten files as the service's own: nothing is imported again.
    sync = admin.post(f"/api/v1/datasets/{dataset['id']}/sync").get_json()
    sync = wait_job(admin, sync["id"])
    assert sync["status"] == "completed" and sync["counts"]["annotations_imported"] == 0, sync
    assert admin.get(f"/api/v1/samples/{both}/annotation").get_json()["revision"] == 2


def test_an_unreachable_store_leaves_the_files_marked_and_a_later_job_finishes_them(app, admin, labeler, dataset, s3_server, config):
    sample_id = add_sample(app, dataset["id"], "cats/a/one.png", width=64, height=48)
    save(labeler, sample_id, ("dog", TRIANGLE))
    broken = app_with(app, s3_endpoint_url="http://127.0.0.1:9")
    try:
        client = broken.test_client()
        headers = {"Authorization": f"Bearer {admin.token}"}
        response = client.patch(f"/api/v1/datasets/{dataset['id']}/labels/{label_id(dataset, 'dog')}", json={"name": "puppy"}, headers=headers)
        assert response.status_code == 200  # the rename stands; the rewrite is a job of its own
        job = wait_job(admin, last_job(admin, dataset)["id"])
        assert job["status"] == "failed" and "object store" in job["error"], job
    finally:
        finish_jobs(broken)
        broken.extensions["db_engine"].dispose()
    assert admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]["xml_stale"] == 1
    assert [o.label for o in xml_of(s3_server, dataset, "cats/a/one.xml").objects] == ["dog"]

    response = admin.post(f"/api/v1/datasets/{dataset['id']}/annotation-files")
    assert response.status_code == 202
    job = wait_job(admin, response.get_json()["id"])
    assert job["status"] == "completed" and job["counts"]["written"] == 1, job
    assert [o.label for o in xml_of(s3_server, dataset, "cats/a/one.xml").objects] == ["puppy"]
    assert admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]["xml_stale"] == 0


def test_starting_a_rewrite_is_for_admins(labeler, dataset):
    assert labeler.post(f"/api/v1/datasets/{dataset['id']}/annotation-files").status_code == 403


def test_a_label_change_that_touches_no_file_starts_no_job(admin, dataset):
    labels = f"/api/v1/datasets/{dataset['id']}/labels"
    assert admin.patch(f"{labels}/{label_id(dataset, 'cat')}", json={"name": "kitten"}).status_code == 200
    assert admin.patch(f"{labels}/{label_id(dataset, 'cat')}", json={"name": "kitten"}).status_code == 200
    assert admin.get(f"/api/v1/datasets/{dataset['id']}/jobs").get_json()["total"] == 0
