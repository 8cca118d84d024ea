"""Comparing versions, and a version with the working state, on SQLite and PostgreSQL: counts, the
paged list, and each changed sample's objects with who made them."""
from __future__ import annotations

import pytest

from tests.dataset_service.conftest import add_member, as_user
from tests.dataset_service.factories import add_sample
from tests.dataset_service.services.test_versions import SMALL, SQUARE, TRIANGLE, publish, save

pytestmark = pytest.mark.commits  # publishing runs as a job in a thread

MOVED = [[12, 10], [40, 10], [40, 30], [12, 30]]


def diff(api, dataset, a, b, **args) -> dict:
    query = "&".join(f"{k}={v}" for k, v in {"to": b, **args}.items())
    response = api.get(f"/api/v1/datasets/{dataset['id']}/versions/{a}/diff?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def two_versions(app, admin, labeler, dataset):
    """V001, then changes of every kind, then V002 (and the working state moved on after it)."""
    add_member(app, dataset["id"], "omar")
    omar = as_user(app, "omar")
    keys = ["cats/a/1.png", "cats/a/2.png", "cats/a/3.png", "cats/a/4.png", "cats/b/5.png", "cats/b/6.png"]
    ids = {key: add_sample(app, dataset["id"], key, width=64, height=48) for key in keys}
    first_saves = {
        "cats/a/1.png": save(labeler, ids["cats/a/1.png"], ("cat", SQUARE), ("dog", TRIANGLE)),
        "cats/a/2.png": save(labeler, ids["cats/a/2.png"], ("cat", SQUARE)),
        "cats/a/3.png": save(labeler, ids["cats/a/3.png"], ("dog", SMALL)),
    }
    _, v1 = publish(admin, dataset)
    one = first_saves["cats/a/1.png"]["objects"]  # 1: the cat relabelled dog, the dog moved, one object added
    omar_objects = [{"id": one[0]["id"], "label": "dog", "points": SQUARE}, {"id": one[1]["id"], "label": "dog", "points": MOVED},
                    {"label": "cat", "points": SMALL}]
    response = omar.put(f"/api/v1/samples/{ids['cats/a/1.png']}/annotation", json={"revision": 1, "objects": omar_objects})
    assert response.status_code == 200, response.get_json()
    save(omar, ids["cats/a/2.png"], revision=1)  # 2: its object removed
    admin.post(f"/api/v1/datasets/{dataset['id']}/samples/delete", json={"ids": [ids["cats/a/3.png"]]})  # 3: deleted
    save(omar, ids["cats/b/5.png"], ("cat", TRIANGLE))  # 5: labeled for the first time
    new = add_sample(app, dataset["id"], "cats/c/7.png", width=64, height=48)  # 7: added, unlabeled
    _, v2 = publish(admin, dataset)
    save(labeler, ids["cats/a/4.png"], ("cat", SQUARE))  # after V002: only the working state has it
    return v1, v2, ids | {"cats/c/7.png": new}


def test_counts_and_the_list_in_key_order(admin, dataset, two_versions):
    v1, v2, _ = two_versions
    answer = diff(admin, dataset, v1["id"], v2["id"])
    assert (answer["from"], answer["to"]) == ("V001", "V002")
    assert answer["counts"] == {"added": 1, "deleted": 1, "changed": 3} and answer["total"] == 5
    assert [(item["key"], item["change"]) for item in answer["items"]] == [
        ("cats/a/1.png", "changed"), ("cats/a/2.png", "changed"), ("cats/a/3.png", "deleted"), ("cats/b/5.png", "changed"), ("cats/c/7.png", "added"),
    ]
    page = diff(admin, dataset, v1["id"], v2["id"], limit=2, offset=1)
    assert [item["key"] for item in page["items"]] == ["cats/a/2.png", "cats/a/3.png"] and page["total"] == 5
    only = diff(admin, dataset, v1["id"], v2["id"], change="changed", limit=1, offset=2)
    assert [item["key"] for item in only["items"]] == ["cats/b/5.png"] and only["total"] == 3 and only["counts"] == answer["counts"]


def test_a_changed_sample_says_which_objects_changed_and_who_made_them(admin, dataset, two_versions):
    v1, v2, _ = two_versions
    items = {item["key"]: item for item in diff(admin, dataset, v1["id"], v2["id"])["items"]}
    one = items["cats/a/1.png"]["objects"]
    (added,) = one["added"]
    assert (added["label"], added["created_by"], added["updated_by"]) == ("cat", "omar", "omar")
    assert one["removed"] == []
    relabelled, moved = sorted(one["changed"], key=lambda o: o["id"])
    assert (relabelled["before_label"], relabelled["label"], relabelled["fields"]) == ("cat", "dog", ["label"])
    assert (moved["before_label"], moved["label"], moved["fields"]) == ("dog", "dog", ["points"])
    assert (moved["created_by"], moved["updated_by"]) == ("lena", "omar")
    (removed,) = items["cats/a/2.png"]["objects"]["removed"]
    assert (removed["label"], removed["created_by"]) == ("cat", "lena")
    assert [o["label"] for o in items["cats/a/3.png"]["objects"]["removed"]] == ["dog"]  # a deleted sample's objects
    assert items["cats/c/7.png"]["objects"] == {"added": [], "removed": [], "changed": []}
    assert items["cats/a/3.png"]["to_sample_id"] is None and items["cats/c/7.png"]["from_sample_id"] is None


def test_against_the_working_state_and_back(admin, dataset, two_versions):
    v1, v2, ids = two_versions
    answer = diff(admin, dataset, v2["id"], "working")
    assert answer["to"] == "working" and answer["counts"] == {"added": 0, "deleted": 0, "changed": 1}
    (item,) = answer["items"]
    assert item["key"] == "cats/a/4.png" and item["to_sample_id"] == ids["cats/a/4.png"]
    assert [(o["label"], o["created_by"]) for o in item["objects"]["added"]] == [("cat", "lena")]
    backwards = diff(admin, dataset, v2["id"], v1["id"])
    assert backwards["counts"] == {"added": 1, "deleted": 1, "changed": 3}
    assert diff(admin, dataset, v1["id"], v1["id"])["counts"] == {"added": 0, "deleted": 0, "changed": 0}


def test_a_renamed_label_changes_its_samples(admin, dataset, two_versions):
    v1, v2, _ = two_versions
    dog = next(label for label in admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["labels"] if label["name"] == "dog")
    assert admin.patch(f"/api/v1/datasets/{dataset['id']}/labels/{dog['id']}", json={"name": "hound"}).status_code == 200
    answer = diff(admin, dataset, v2["id"], "working", change="changed")
    assert [item["key"] for item in answer["items"]] == ["cats/a/1.png", "cats/a/4.png"]
    assert {o["label"] for o in answer["items"][0]["objects"]["changed"]} == {"hound"}


@pytest.mark.parametrize("query, status", [("to=v2", 422), ("to=", 422), ("to=99999999", 404), ("to=99999999999999999999", 422),
                                           ("to=working&change=moved", 422), ("", 422), ("to=9223372036854775807", 404)])
def test_bad_diff_arguments(admin, dataset, two_versions, query, status):
    v1, _, _ = two_versions
    response = admin.get(f"/api/v1/datasets/{dataset['id']}/versions/{v1['id']}/diff?{query}")
    assert response.status_code == status, response.get_json()
