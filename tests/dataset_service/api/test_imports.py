"""Starting a manifest import: what the request refuses before any job runs."""
from __future__ import annotations

import pytest


def start(api, dataset, manifest):
    return api.post(f"/api/v1/datasets/{dataset['id']}/import", json={"manifest": manifest})


@pytest.mark.parametrize("manifest, reason", [
    ("not a uri", "expected s3://bucket/key"),
    ("s3://b-x/folder/", "names a folder"),
    ("file:///etc/passwd", "file:// paths are not allowed"),
])
def test_a_bad_manifest_uri_is_a_422_naming_it(admin, dataset, manifest, reason):
    response = start(admin, dataset, manifest)
    body = response.get_json()
    assert response.status_code == 422 and reason in " ".join(body["fields"]["manifest"]), body


def test_a_missing_manifest_is_a_422_and_starts_no_job(admin, dataset, bucket):
    response = start(admin, dataset, f"s3://{bucket}/nothing/here.manifest")
    assert response.status_code == 422 and response.get_json()["fields"] == {"manifest": ["no such object in the store"]}
    assert admin.get(f"/api/v1/datasets/{dataset['id']}/jobs").get_json()["total"] == 0


def test_only_managers_import(labeler, dataset, bucket, s3_server):
    s3_server.store.put(bucket, "m.manifest", b"")
    response = start(labeler, dataset, f"s3://{bucket}/m.manifest")
    assert response.status_code in (403, 404), response.get_json()  # not a member: the dataset is not theirs to see
