"""The sample list: every filter, their combinations, paging and bad parameters."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.dataset_service.conftest import add_member, as_user, make_user
from tests.dataset_service.factories import add_dataset, add_sample, label_sample

NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def seeded(module_app, s3_server):
    """Six samples: folders, ages, labels and labelers chosen so every filter tells them apart.

    Made once for the module (the tests read them; what a test changes is rolled back)."""
    app = module_app
    make_user(app, "admin", "admin")
    make_user(app, "lena")
    make_user(app, "omar")
    dataset = {"id": add_dataset(app, s3_server.new_bucket("filters"))}
    add_member(app, dataset["id"], "lena")
    rows = {
        "cats/a/one.png": (NOW - timedelta(hours=2), "lena", ["cat"]),
        "cats/a/two.png": (NOW - timedelta(days=3), "omar", ["cat", "dog"]),
        "cats/a/deep/three.png": (NOW - timedelta(days=40), "lena", ["dog"]),
        "cats/b/four.png": (NOW - timedelta(days=200), None, []),
        "cats/b/five_5%.png": (NOW - timedelta(hours=5), None, []),
        "cats/ab/six.png": (NOW - timedelta(days=10), "omar", ["cat"]),
    }
    ids = {}
    for key, (created, user, labels) in rows.items():
        ids[key] = add_sample(app, dataset["id"], key, created)
        if user:
            label_sample(app, ids[key], user, labels)
    return dataset["id"], ids


def keys(admin, dataset_id, query=""):
    response = admin.get(f"/api/v1/datasets/{dataset_id}/samples?limit=100&{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == len(body["items"])
    return [item["key"].split("/")[-1].split(".")[0] for item in body["items"]]


@pytest.mark.parametrize("query, expected", [
    ("", ["three", "one", "two", "six", "five_5%", "four"]),
    ("state=labeled", ["three", "one", "two", "six"]),
    ("state=unlabeled", ["five_5%", "four"]),
    ("label=cat", ["one", "two", "six"]),
    ("label=dog", ["three", "two"]),
    ("label=cat,dog", ["three", "one", "two", "six"]),
    ("label=cat&label=dog&label_op=and", ["two"]),
    ("label=cat,dog&label_op=and", ["two"]),
    ("created=1d", ["one", "five_5%"]),
    ("created=1m", ["one", "two", "six", "five_5%"]),
    ("path=five_5%25", ["five_5%"]),
    ("path=5_", []),
    ("path=TWO", ["two"]),
    ("path=a/", ["three", "one", "two"]),
    ("dir=cats/a/", ["three", "one", "two"]),
    ("dir=cats/a/deep/", ["three"]),
    ("dir=cats/b/", ["five_5%", "four"]),
    ("labeled_by=lena", ["three", "one"]),
    ("labeled_by=omar", ["two", "six"]),
    ("labeled_by=admin", []),
    ("state=labeled&label=cat&labeled_by=omar", ["two", "six"]),
    ("dir=cats/a/&created=1m&label=cat", ["one", "two"]),
    ("state=unlabeled&dir=cats/b/&created=1d", ["five_5%"]),
])
def test_filters(seeded, admin, query, expected):
    dataset_id, _ = seeded
    assert keys(admin, dataset_id, query) == expected


def test_custom_created_range(seeded, admin):
    dataset_id, _ = seeded
    start = (NOW - timedelta(days=41)).isoformat()
    end = (NOW - timedelta(days=9)).isoformat()
    from urllib.parse import quote
    got = keys(admin, dataset_id, f"created_from={quote(start)}&created_to={quote(end)}")
    assert got == ["three", "six"]


def test_item_shape(seeded, admin):
    dataset_id, ids = seeded
    body = admin.get(f"/api/v1/datasets/{dataset_id}/samples?label=dog&label_op=and&label=cat").get_json()
    item = body["items"][0]
    assert set(item) >= {"id", "key", "uri", "size", "width", "height", "created_at", "state", "labels", "labeled_by", "labeled_at", "revision"}
    assert item["labels"] == ["cat", "dog"] and item["labeled_by"] == ["omar"] and item["state"] == "labeled"
    assert item["uri"].startswith("s3://") and item["uri"].endswith("cats/a/two.png")


def test_order_created_and_cursor_paging(seeded, admin):
    dataset_id, _ = seeded
    for order in ("key", "created", "-created"):
        seen, cursor = [], None
        while True:
            query = f"limit=4&order={order}" + (f"&cursor={cursor}" if cursor else "")
            body = admin.get(f"/api/v1/datasets/{dataset_id}/samples?{query}").get_json()
            assert body["total"] == 6
            seen += [item["key"] for item in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert len(seen) == 6 and len(set(seen)) == 6
        full = [i["key"] for i in admin.get(f"/api/v1/datasets/{dataset_id}/samples?limit=100&order={order}").get_json()["items"]]
        assert seen == full
    newest = admin.get(f"/api/v1/datasets/{dataset_id}/samples?order=-created&limit=1").get_json()["items"][0]
    assert newest["key"].endswith("one.png")


def test_prev_cursor_walks_back_page_by_page_in_every_order(seeded, admin):
    dataset_id, _ = seeded
    base = f"/api/v1/datasets/{dataset_id}/samples?limit=2"
    for order in ("key", "created", "-created"):
        pages, cursor = [], None
        while True:
            body = admin.get(f"{base}&order={order}" + (f"&cursor={cursor}" if cursor else "")).get_json()
            if body["items"]:
                pages.append(body)
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert [len(p["items"]) for p in pages] == [2, 2, 2] and pages[0]["prev_cursor"] is None
        for before, page in zip(pages, pages[1:]):  # each page's prev_cursor gives back the page before it
            back = admin.get(f"{base}&order={order}&cursor={page['prev_cursor']}").get_json()
            assert [i["key"] for i in back["items"]] == [i["key"] for i in before["items"]], order
        keys = [i["key"] for p in pages for i in p["items"]]
        by_offset = admin.get(f"{base}&order={order}&offset=3").get_json()  # a page reached by offset
        back = admin.get(f"{base}&order={order}&cursor={by_offset['prev_cursor']}").get_json()
        assert [i["key"] for i in back["items"]] == keys[1:3]  # the two rows right before it
        by_offset = admin.get(f"{base}&order={order}&offset=1").get_json()
        back = admin.get(f"{base}&order={order}&cursor={by_offset['prev_cursor']}").get_json()
        assert [i["key"] for i in back["items"]] == keys[0:2]  # fewer than a page before it: the first page
        assert admin.get(f"{base}&order=key&cursor={pages[1]['prev_cursor']}").status_code == (200 if order == "key" else 422)


def test_offset_paging(seeded, admin):
    dataset_id, _ = seeded
    page = admin.get(f"/api/v1/datasets/{dataset_id}/samples?limit=2&offset=2").get_json()
    assert page["total"] == 6 and len(page["items"]) == 2


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset"),
    ("state=done", "state"), ("label_op=xor", "label_op"), ("created=2y", "created"),
    ("created_from=yesterday", "created_from"), ("dir=cats", "dir"), ("order=size", "order"),
    ("cursor=garbage", "cursor"), ("label=nosuch", "label"), ("labeled_by=nobody", "labeled_by"),
    ("created_from=2025-02-01T00:00:00Z&created_to=2025-01-01T00:00:00Z", "created_from"),
])
def test_bad_parameters_are_422_naming_them(seeded, admin, query, field):
    dataset_id, _ = seeded
    response = admin.get(f"/api/v1/datasets/{dataset_id}/samples?{query}")
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["fields"], response.get_json()


def test_totals_follow_every_change(app, seeded, admin):
    """The kept totals (PostgreSQL triggers) agree with a count after inserts, saves and deletes."""
    dataset_id, ids = seeded
    labeler = as_user(app, "lena")

    def totals():
        body = admin.get(f"/api/v1/datasets/{dataset_id}").get_json()["counts"]
        listed = {state: admin.get(f"/api/v1/datasets/{dataset_id}/samples?state={state}").get_json()["total"] for state in ("all", "labeled", "unlabeled")}
        assert listed == {"all": body["total"], "labeled": body["labeled"], "unlabeled": body["unlabeled"]}
        return listed

    assert totals() == {"all": 6, "labeled": 4, "unlabeled": 2}
    one = ids["cats/a/one.png"]
    revision = labeler.get(f"/api/v1/samples/{one}/annotation").get_json()["revision"]
    assert labeler.put(f"/api/v1/samples/{one}/annotation", json={"revision": revision, "objects": []}).status_code == 200
    assert totals() == {"all": 6, "labeled": 3, "unlabeled": 3}
    gone = [ids["cats/a/two.png"], ids["cats/b/four.png"]]
    assert admin.post(f"/api/v1/datasets/{dataset_id}/samples/delete", json={"ids": gone}).status_code == 200
    assert totals() == {"all": 4, "labeled": 2, "unlabeled": 2}
    assert admin.delete(f"/api/v1/datasets/{dataset_id}").status_code == 204
