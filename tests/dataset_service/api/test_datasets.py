"""Datasets and labels."""
from __future__ import annotations

import pytest

from tests.dataset_service.conftest import Api, app_with
from tests.dataset_service.factories import add_sample, label_sample


def test_create_get_list_update_delete(admin, bucket):
    response = admin.post("/api/v1/datasets", json={
        "name": "flowers", "description": "d", "input_path": f"s3://{bucket}/flowers",
        "output_path": f"s3://{bucket}/out/", "labels": [{"name": "rose", "color": "#FF0000"}, {"name": "tulip"}],
    })
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["input_path"] == f"s3://{bucket}/flowers/"
    assert [label["name"] for label in body["labels"]] == ["rose", "tulip"]
    assert body["labels"][0]["color"] == "#ff0000"
    assert body["labels"][1]["color"].startswith("#") and body["labels"][1]["color"] != "#ff0000"
    assert body["counts"] == {"total": 0, "labeled": 0, "unlabeled": 0, "per_label": {"rose": 0, "tulip": 0}, "xml_stale": 0}
    assert body["created_by"] == "admin"
    dataset_id = body["id"]

    listing = admin.get("/api/v1/datasets").get_json()
    assert listing["total"] == 1 and listing["items"][0]["name"] == "flowers"

    response = admin.patch(f"/api/v1/datasets/{dataset_id}", json={"description": "new"})
    assert response.status_code == 200 and response.get_json()["description"] == "new"

    assert admin.delete(f"/api/v1/datasets/{dataset_id}").status_code == 204
    assert admin.get(f"/api/v1/datasets/{dataset_id}").status_code == 404


def test_bad_dataset_input_names_the_field(admin, bucket):
    cases = [
        ({"input_path": f"s3://{bucket}/x/"}, "name"),
        ({"name": "ok", "input_path": "http://nope/"}, "input_path"),
        ({"name": "ok", "input_path": f"s3://{bucket}/x/", "labels": [{"name": "a", "color": "red"}]}, "labels"),
        ({"name": "bad/name", "input_path": f"s3://{bucket}/x/"}, "name"),
        ({"name": "ok", "input_path": f"s3://{bucket}/x/", "labels": [{"name": "a"}, {"name": "a"}]}, "labels"),
    ]
    for body, field in cases:
        response = admin.post("/api/v1/datasets", json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in str(response.get_json()["fields"]), (body, response.get_json())


def test_duplicate_dataset_name_is_409(admin, dataset, bucket):
    response = admin.post("/api/v1/datasets", json={"name": dataset["name"], "input_path": f"s3://{bucket}/x/"})
    assert response.status_code == 409
    assert response.get_json()["fields"] == {"name": ["already exists"]}


def test_counts_per_label(app, admin, labeler, dataset):
    one = add_sample(app, dataset["id"], "cats/a/1.png")
    add_sample(app, dataset["id"], "cats/a/2.png")
    label_sample(app, one, "lena", ["cat"])
    counts = admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]
    assert counts == {"total": 2, "labeled": 1, "unlabeled": 1, "per_label": {"cat": 1, "dog": 0}, "xml_stale": 0}


@pytest.mark.commits  # the label change starts an XML rewrite job in a thread
def test_labels_add_rename_recolor_delete(app, admin, labeler, dataset):
    base = f"/api/v1/datasets/{dataset['id']}/labels"
    response = labeler.post(base, json={"name": "bird"})
    assert response.status_code == 201
    bird = response.get_json()
    assert labeler.post(base, json={"name": "bird"}).status_code == 409
    # Renaming, recolouring and deleting labels are the owner's (a labeler may only add one).
    assert labeler.patch(f"{base}/{bird['id']}", json={"name": "parrot"}).status_code == 403
    assert labeler.delete(f"{base}/{bird['id']}").status_code == 403
    response = admin.patch(f"{base}/{bird['id']}", json={"name": "parrot", "color": "#00ff00"})
    assert response.get_json() == {"id": bird["id"], "name": "parrot", "color": "#00ff00"}
    assert admin.patch(f"{base}/{bird['id']}", json={"color": "green"}).status_code == 422
    assert admin.delete(f"{base}/{bird['id']}").status_code == 204
    assert admin.delete(f"{base}/{bird['id']}").status_code == 404


@pytest.mark.commits  # the forced delete starts an XML rewrite job in a thread
def test_label_in_use_needs_force(app, admin, labeler, dataset):
    sample_id = add_sample(app, dataset["id"], "cats/a/1.png")
    label_sample(app, sample_id, "lena", ["cat"])
    cat = next(label for label in dataset["labels"] if label["name"] == "cat")
    url = f"/api/v1/datasets/{dataset['id']}/labels/{cat['id']}"
    response = admin.delete(url)
    assert response.status_code == 409
    assert "force" in response.get_json()["fields"]
    assert admin.delete(url + "?force=true").status_code == 204
    sample = admin.get(f"/api/v1/samples/{sample_id}").get_json()
    assert sample["state"] == "unlabeled" and sample["labels"] == []


@pytest.mark.commits  # the label change starts an XML rewrite job in a thread
def test_forced_label_delete_refreshes_every_affected_sample(app, admin, labeler, dataset):
    both = add_sample(app, dataset["id"], "cats/a/both.png")
    only_cat = add_sample(app, dataset["id"], "cats/a/cat.png")
    untouched = add_sample(app, dataset["id"], "cats/a/dog.png")
    label_sample(app, both, "lena", ["cat"])
    label_sample(app, both, "admin", ["dog"])
    label_sample(app, only_cat, "lena", ["cat"])
    label_sample(app, untouched, "lena", ["dog"])
    before = {i: admin.get(f"/api/v1/samples/{i}").get_json() for i in (both, only_cat, untouched)}
    cat = next(label for label in dataset["labels"] if label["name"] == "cat")
    assert admin.delete(f"/api/v1/datasets/{dataset['id']}/labels/{cat['id']}?force=true").status_code == 204
    after = {i: admin.get(f"/api/v1/samples/{i}").get_json() for i in (both, only_cat, untouched)}
    assert (after[both]["state"], after[both]["labels"], after[both]["labeled_by"]) == ("labeled", ["dog"], ["admin"])
    assert (after[only_cat]["state"], after[only_cat]["labels"], after[only_cat]["labeled_by"]) == ("unlabeled", [], [])
    assert after[untouched] == before[untouched]
    assert after[both]["revision"] == before[both]["revision"] + 1  # an editor of the old version gets a conflict
    listed = admin.get(f"/api/v1/datasets/{dataset['id']}/samples?labeled_by=lena").get_json()["items"]
    assert [s["id"] for s in listed] == [untouched]
    counts = admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]
    assert (counts["total"], counts["labeled"], counts["unlabeled"]) == (3, 2, 1)


def test_unknown_dataset_is_404(admin):
    response = admin.get("/api/v1/datasets/999999")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_file_paths_are_refused_unless_allowed(app, admin, bucket, tmp_path):
    folder = f"file://{tmp_path}/images/"
    for body, field in (({"input_path": folder}, "input_path"), ({"input_path": f"s3://{bucket}/x/", "output_path": folder}, "output_path")):
        response = admin.post("/api/v1/datasets", json={"name": f"files-{field}", **body})
        assert response.status_code == 422, response.get_json()
        assert "ALLOW_FILE_DATASETS" in response.get_json()["fields"][field][0]
    dataset_id = admin.post("/api/v1/datasets", json={"name": "files-s3", "input_path": f"s3://{bucket}/x/"}).get_json()["id"]
    response = admin.patch(f"/api/v1/datasets/{dataset_id}", json={"output_path": folder})
    assert response.status_code == 422 and "output_path" in response.get_json()["fields"]

    allowed = Api(app_with(app, allow_file_datasets=True).test_client(), admin.token)
    response = allowed.post("/api/v1/datasets", json={"name": "files-allowed", "input_path": folder})
    assert response.status_code == 201 and response.get_json()["input_path"] == folder
    assert allowed.patch(f"/api/v1/datasets/{dataset_id}", json={"output_path": folder}).status_code == 200
