"""The versions API's rules, without running a job: names, admins only, one publish at a time,
a dead publish read as failed, what may be exported and deleted."""
from __future__ import annotations

from datetime import timedelta

import pytest

from dataset_service.models import DatasetVersion, Job, utcnow
from dataset_service.services.datasets import get_dataset
from dataset_service.services.versions import folder_uri, next_name


def add_version(app, dataset, name, state="normal", job_status="completed", heartbeat_age_s=0.0) -> int:
    """Insert a version row with its publish job."""
    with app.extensions["db_sessionmaker"]() as session:
        now = utcnow()
        job = Job(kind="publish", dataset_id=dataset["id"], status=job_status, progress={}, counts={}, errors=[],
                  started_at=now - timedelta(seconds=heartbeat_age_s), heartbeat_at=now - timedelta(seconds=heartbeat_age_s))
        session.add(job)
        session.flush()
        folder = f"s3://b-x/out/{dataset['name']}-{dataset['id']}/annotation/{name}/"
        version = DatasetVersion(dataset_id=dataset["id"], name=name, state=state, input_path=dataset["input_path"], folder_uri=folder,
                                 manifest_uri=folder + f"{name}.manifest", job_id=job.id, labels=[], label_stats={})
        session.add(version)
        session.commit()
        return version.id


def versions_url(dataset, *rest) -> str:
    return "/".join([f"/api/v1/datasets/{dataset['id']}/versions", *map(str, rest)])


@pytest.mark.parametrize("body, field", [
    ({"name": "v 1"}, "name"), ({"name": "a/b"}, "name"), ({"name": "x" * 65}, "name"),
    ({"train_ratio": 1.5}, "train_ratio"), ({"train_ratio": -0.1}, "train_ratio"), ({"train_ratio": "half"}, "train_ratio"),
])
def test_bad_publish_input_is_a_422_naming_the_field(admin, dataset, body, field):
    response = admin.post(versions_url(dataset), json=body)
    assert response.status_code == 422 and field in response.get_json()["fields"], response.get_json()


def test_a_name_in_use_is_a_422(app, admin, dataset):
    add_version(app, dataset, "V001")
    response = admin.post(versions_url(dataset), json={"name": "V001"})
    assert response.status_code == 422 and "name" in response.get_json()["fields"]
    assert admin.get(versions_url(dataset)).get_json()["total"] == 1  # nothing else was made


def test_default_names_follow_the_highest(app, dataset):
    for name in ("V001", "V007", "best", "V3x"):
        add_version(app, dataset, name)
    with app.extensions["db_sessionmaker"]() as session:
        assert next_name(session, dataset["id"]) == "V008"


def test_only_admins_publish_delete_and_export(app, labeler, dataset):
    version_id = add_version(app, dataset, "V001")
    assert labeler.post(versions_url(dataset), json={}).status_code == 403
    assert labeler.delete(versions_url(dataset, version_id)).status_code == 403
    assert labeler.post(versions_url(dataset, version_id, "exports"), json={"format": "voc"}).status_code == 403
    assert labeler.get(versions_url(dataset, version_id)).get_json()["name"] == "V001"  # reading is for everyone


def test_one_publish_at_a_time(app, admin, dataset):
    add_version(app, dataset, "V001", state="creating", job_status="running")
    response = admin.post(versions_url(dataset), json={"name": "other"})
    assert response.status_code == 409, response.get_json()
    assert admin.get(versions_url(dataset)).get_json()["total"] == 1


def test_a_publish_whose_process_died_reads_failed(app, admin, dataset):
    version_id = add_version(app, dataset, "V001", state="creating", job_status="running", heartbeat_age_s=3600)
    version = admin.get(versions_url(dataset, version_id)).get_json()
    assert version["state"] == "failed" and "stopped" in version["error"], version
    assert admin.get(versions_url(dataset)).get_json()["items"][0]["state"] == "failed"


def test_only_a_finished_version_is_exported_and_a_running_one_is_not_deleted(app, admin, dataset):
    failed = add_version(app, dataset, "V001", state="failed", job_status="failed")
    response = admin.post(versions_url(dataset, failed, "exports"), json={"format": "voc"})
    assert response.status_code == 409
    response = admin.post(versions_url(dataset, failed, "exports"), json={"format": "yolo"})
    assert response.status_code == 422 and "format" in response.get_json()["fields"]
    creating = add_version(app, dataset, "V002", state="creating", job_status="running")
    assert admin.delete(versions_url(dataset, creating)).status_code == 409


def test_unknown_versions_are_404(app, admin, dataset):
    assert admin.get(versions_url(dataset, 999999)).status_code == 404
    other = admin.post("/api/v1/datasets", json={"name": "other-ds", "input_path": "s3://b-x/o/"}).get_json()
    version_id = add_version(app, other, "V001")
    assert admin.get(versions_url(dataset, version_id)).status_code == 404  # another dataset's version


def test_the_folder_follows_modelarts_layout(app, dataset):
    with app.extensions["db_sessionmaker"]() as session:
        ds = get_dataset(session, dataset["id"])
        assert folder_uri(ds, "V003") == f"{dataset['output_path']}{dataset['name']}-{dataset['id']}/annotation/V003/"
