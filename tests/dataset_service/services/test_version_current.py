"""Set as current against a real SeaweedFS, on SQLite and PostgreSQL: the round trip (publish, edit,
set the version current with an autosave, set the autosave current), and what it refuses."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from dataset_service.models import Job
from storage.annotations import read_annotation
from storage.errors import ObjectNotFound
from tests.dataset_service.factories import add_sample
from tests.dataset_service.services.test_sync import wait_job
from tests.dataset_service.services.test_versions import SMALL, SQUARE, TRIANGLE, bucket_of, publish, save, three_samples

pytestmark = pytest.mark.commits  # the jobs run in threads: their work must be committed


def set_current(api, dataset, version) -> dict:
    response = api.put(f"/api/v1/datasets/{dataset['id']}/versions/{version['id']}/current")
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["job"]["kind"] == "set-current"
    job = wait_job(api, response.get_json()["job"]["id"])
    assert job["status"] == "completed", job
    return job


def versions_of(api, dataset) -> dict[str, dict]:
    return {v["name"]: v for v in api.get(f"/api/v1/datasets/{dataset['id']}/versions?limit=100").get_json()["items"]}


def objects_of(api, sample_id) -> list[tuple]:
    body = api.get(f"/api/v1/samples/{sample_id}/annotation").get_json()
    return [(o["id"], o["label"], o["points"], o["created_by"], o["updated_by"]) for o in body["objects"]]


def labels_of(api, dataset) -> list[tuple[str, str]]:
    return [(label["name"], label["color"]) for label in api.get(f"/api/v1/datasets/{dataset['id']}").get_json()["labels"]]


def xml_labels(s3_server, dataset, key: str) -> list[str] | None:
    try:
        data = s3_server.store.get(bucket_of(dataset), key)
    except ObjectNotFound:
        return None
    return [o.label for o in read_annotation(data, key).objects]


def working_state(admin, dataset, ids, s3_server) -> dict:
    xml = {key: xml_labels(s3_server, dataset, key.rsplit(".", 1)[0] + ".xml") for key in ids}
    states = {key: admin.get(f"/api/v1/samples/{sample_id}").get_json() for key, sample_id in ids.items()}
    return {
        "objects": {key: objects_of(admin, sample_id) for key, sample_id in ids.items()},
        "labels": labels_of(admin, dataset),
        "xml": xml,
        "indexes": {key: (s["state"], s["labels"], s["labeled_by"]) for key, s in states.items()},
    }


def test_set_current_round_trip_with_its_autosave(app, admin, labeler, dataset, s3_server):
    ids = three_samples(app, dataset)
    one, two, three = ids["cats/a/one.png"], ids["cats/a/two.jpg"], ids["cats/b/three.png"]
    save(labeler, one, ("cat", SQUARE))
    save(labeler, two, ("dog", SMALL))
    _, first = publish(admin, dataset)
    assert first["is_current"] and not first["autosave"]
    published = working_state(admin, dataset, ids, s3_server)
    assert published["xml"] == {"cats/a/one.png": ["cat"], "cats/a/two.jpg": ["dog"], "cats/b/three.png": None}

    # Edits no version holds: other objects, a label renamed, a label added.
    save(admin, one, ("dog", TRIANGLE), revision=1)
    save(admin, two, revision=1)
    save(labeler, three, ("cat", TRIANGLE))
    dog = next(label for label in admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["labels"] if label["name"] == "dog")
    assert admin.patch(f"/api/v1/datasets/{dataset['id']}/labels/{dog['id']}", json={"name": "hound"}).status_code == 200
    assert admin.post(f"/api/v1/datasets/{dataset['id']}/labels", json={"name": "bird"}).status_code == 201
    for job in admin.get(f"/api/v1/datasets/{dataset['id']}/jobs").get_json()["items"]:
        wait_job(admin, job["id"])  # the rename's XML rewrite
    edited = working_state(admin, dataset, ids, s3_server)
    assert edited["xml"] == {"cats/a/one.png": ["hound"], "cats/a/two.jpg": None, "cats/b/three.png": ["cat"]}
    stale_revision = admin.get(f"/api/v1/samples/{one}/annotation").get_json()["revision"]

    job = set_current(admin, dataset, first)
    assert job["counts"]["samples"] == 3 and job["counts"]["objects"] == 2 and job["counts"]["autosave_samples"] == 3, job
    steps = job["progress"]["stages"]
    assert [(s["name"], s["state"], s["done"] == s["total"]) for s in steps] == [
        ("restoring", "done", True), ("XML files: writing", "done", True), ("autosave: snapshot", "done", True),
        ("autosave: writing files", "done", True), ("autosave: writing the manifest", "done", True)]
    assert steps[3]["total"] == 3
    listed = versions_of(admin, dataset)
    assert sorted(listed) == ["V001", "V002-autosave"]
    autosave = listed["V002-autosave"]
    assert autosave["autosave"] and autosave["state"] == "normal" and not autosave["is_current"] and listed["V001"]["is_current"]
    assert autosave["counts"]["objects"] == 2 and autosave["counts"]["labeled"] == 2
    assert working_state(admin, dataset, ids, s3_server) == published  # objects with their ids and authors, labels, XML, indexes
    diff = admin.get(f"/api/v1/datasets/{dataset['id']}/versions/{first['id']}/diff?to=working").get_json()
    assert diff["counts"] == {"added": 0, "deleted": 0, "changed": 0}, diff
    # An editor holding a copy from before gets a conflict, not a silent overwrite.
    response = admin.put(f"/api/v1/samples/{one}/annotation", json={"revision": stale_revision, "objects": []})
    assert response.status_code == 409

    job = set_current(admin, dataset, autosave)  # the undo
    assert "autosave_samples" not in job["counts"]  # the working state was V001's: nothing to keep
    assert sorted(versions_of(admin, dataset)) == ["V001", "V002-autosave"] and versions_of(admin, dataset)["V002-autosave"]["is_current"]
    restored = working_state(admin, dataset, ids, s3_server)
    assert restored == edited

    job, third = publish(admin, dataset)
    assert third["name"] == "V003" and third["is_current"] and not versions_of(admin, dataset)["V002-autosave"]["is_current"]


def test_images_added_since_stay_unlabeled_and_gone_ones_stay_gone(app, admin, labeler, dataset, s3_server):
    ids = three_samples(app, dataset)
    save(labeler, ids["cats/a/one.png"], ("cat", SQUARE))
    save(labeler, ids["cats/b/three.png"], ("dog", TRIANGLE))
    _, first = publish(admin, dataset)
    assert admin.post(f"/api/v1/datasets/{dataset['id']}/samples/delete", json={"ids": [ids["cats/b/three.png"]]}).status_code == 200
    new = add_sample(app, dataset["id"], "cats/b/four.png", width=64, height=48)
    save(labeler, new, ("cat", TRIANGLE))

    set_current(admin, dataset, first)
    listed = admin.get(f"/api/v1/datasets/{dataset['id']}/samples?limit=100").get_json()["items"]
    assert {s["key"]: s["state"] for s in listed} == {"cats/a/one.png": "labeled", "cats/a/two.jpg": "unlabeled", "cats/b/four.png": "unlabeled"}
    assert xml_labels(s3_server, dataset, "cats/b/four.xml") is None
    autosave = versions_of(admin, dataset)["V002-autosave"]
    assert autosave["counts"]["samples"] == 3 and autosave["label_stats"]["cat"] == {"samples": 2, "objects": 2}


def test_an_author_gone_since_is_kept_by_name(app, admin, dataset, s3_server):
    from tests.dataset_service.conftest import add_member, as_user

    add_member(app, dataset["id"], "gone")
    ids = three_samples(app, dataset)
    save(as_user(app, "gone"), ids["cats/a/one.png"], ("cat", SQUARE))
    _, first = publish(admin, dataset)
    users = {u["username"]: u["id"] for u in admin.get("/api/v1/users").get_json()}
    assert admin.delete(f"/api/v1/users/{users['gone']}").status_code == 204
    save(admin, ids["cats/a/one.png"], revision=1)

    set_current(admin, dataset, first)
    (restored,) = admin.get(f"/api/v1/samples/{ids['cats/a/one.png']}/annotation").get_json()["objects"]
    assert restored["label"] == "cat" and restored["created_by"] == "gone" and restored["points"] == SQUARE


def test_what_set_current_refuses(app, admin, labeler, dataset):
    from tests.dataset_service.api.test_versions import add_version, versions_url

    failed = add_version(app, dataset, "V001", state="failed", job_status="failed")
    assert labeler.put(versions_url(dataset, failed, "current")).status_code == 403
    response = admin.put(versions_url(dataset, failed, "current"))
    assert response.status_code == 409 and "normal" in response.get_json()["message"]  # failed before its snapshot
    done = add_version(app, dataset, "V002")
    add_version(app, dataset, "V003", state="creating", job_status="running")  # a publish under way
    assert admin.put(versions_url(dataset, done, "current")).status_code == 409
    assert admin.put(versions_url(dataset, 999999, "current")).status_code == 404
    with app.extensions["db_sessionmaker"]() as session:
        assert session.scalars(select(Job).where(Job.kind == "set-current")).all() == []  # nothing was started, nothing blocks


def test_an_object_id_taken_meanwhile_gets_a_new_one(app, admin, labeler, dataset, s3_server):
    """SQLite may give a deleted object's id to the next object, here another dataset's: the restored one gets another id."""
    from tests.dataset_service.conftest import add_member
    from tests.dataset_service.factories import add_dataset

    ids = three_samples(app, dataset)
    saved = save(labeler, ids["cats/a/one.png"], ("cat", SQUARE))
    _, first = publish(admin, dataset)
    save(labeler, ids["cats/a/one.png"], revision=saved["revision"])
    other = add_dataset(app, bucket_of(dataset), prefix="other/")
    s3_server.store.put(bucket_of(dataset), "other/x.png", b"")  # the save writes its XML beside it
    elsewhere = add_sample(app, other, "other/x.png", width=64, height=48)
    add_member(app, other, "lena")
    taken = save(labeler, elsewhere, ("dog", TRIANGLE))["objects"][0]["id"]
    if app.extensions["db_engine"].dialect.name == "sqlite":
        assert taken == saved["objects"][0]["id"]  # the case this test is about

    set_current(admin, dataset, first)
    (restored,) = admin.get(f"/api/v1/samples/{ids['cats/a/one.png']}/annotation").get_json()["objects"]
    assert restored["label"] == "cat" and restored["points"] == SQUARE and restored["created_by"] == "lena"
    assert (restored["id"] == saved["objects"][0]["id"]) == (taken != saved["objects"][0]["id"])
    assert admin.get(f"/api/v1/samples/{elsewhere}/annotation").get_json()["objects"][0]["id"] == taken


def test_undo_survives_a_store_that_went_away(app, admin, labeler, dataset, s3_server):
    """The store goes away while the job writes files: the working state was restored (one
    transaction), the autosave's snapshot is whole though its files are not, and setting it current undoes it."""
    from tests.dataset_service.services.test_sync import FlakyProxy

    proxy = FlakyProxy(int(s3_server.endpoint_url.rsplit(":", 1)[1]))
    app.config["SERVICE"] = app.config["SERVICE"].replace(s3_endpoint_url=f"http://127.0.0.1:{proxy.port}")
    try:
        ids = three_samples(app, dataset)
        save(labeler, ids["cats/a/one.png"], ("cat", SQUARE))
        _, first = publish(admin, dataset)
        save(labeler, ids["cats/a/one.png"], ("dog", TRIANGLE), revision=1)
        edited = objects_of(admin, ids["cats/a/one.png"])

        proxy.cut_after(0)
        response = admin.put(f"/api/v1/datasets/{dataset['id']}/versions/{first['id']}/current")
        job = wait_job(admin, response.get_json()["job"]["id"])
        assert job["status"] == "failed" and job["error"].startswith("object store"), job
        assert [o[1] for o in objects_of(admin, ids["cats/a/one.png"])] == ["cat"]
        autosave = versions_of(admin, dataset)["V002-autosave"]
        assert autosave["state"] == "failed" and autosave["counts"]["objects"] == 1, autosave

        proxy.revive()
        set_current(admin, dataset, autosave)
        assert objects_of(admin, ids["cats/a/one.png"]) == edited
        assert xml_labels(s3_server, dataset, "cats/a/one.xml") == ["dog"]
    finally:
        proxy.close()
