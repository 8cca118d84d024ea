"""Saving annotations: authorship, revisions, conflicts, and the sibling XML in the store."""
from __future__ import annotations

import threading
import time

import pytest
from marshmallow import ValidationError

from dataset_service.schemas import AnnotationIn
from storage.annotations import read_annotation
from tests.dataset_service.conftest import add_member, app_with, as_user
from tests.dataset_service.factories import add_sample
from tests.storage.bombs import png_bomb

SQUARE = [[10, 10], [40, 10], [40, 30], [10, 30]]


def bucket_of(dataset):
    return dataset["input_path"].split("/")[2]


def new_sample(app, dataset, key="cats/a/one.png"):
    return add_sample(app, dataset["id"], key, width=64, height=48)


def test_empty_annotation(app, labeler, dataset):
    sample_id = new_sample(app, dataset)
    body = labeler.get(f"/api/v1/samples/{sample_id}/annotation").get_json()
    assert body["revision"] == 0 and body["objects"] == []


def test_save_writes_sibling_xml_that_reads_back(app, labeler, dataset, s3_server):
    sample_id = new_sample(app, dataset)
    response = labeler.put(f"/api/v1/samples/{sample_id}/annotation", json={
        "revision": 0, "objects": [{"label": "cat", "points": SQUARE}, {"label": "dog", "points": [[1, 1], [5.5, 1], [3, 7.25]], "source": "extreme_points"}],
    })
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["revision"] == 1 and body["saved_by"] == "lena"
    cat = body["objects"][0]
    assert cat["label"] == "cat" and cat["points"] == SQUARE and cat["source"] == "manual"
    assert cat["created_by"] == "lena" and cat["updated_by"] == "lena" and cat["shape"] == "polygon"

    xml = s3_server.store.get(bucket_of(dataset), "cats/a/one.xml")
    annotation = read_annotation(xml, "cats/a/one.xml")
    assert annotation.filename == "one.png" and (annotation.width, annotation.height) == (64, 48)
    assert [o.label for o in annotation.objects] == ["cat", "dog"]
    # whole pixels in the file (halves up), the API's own precision in the database
    assert [list(map(list, o.points)) for o in annotation.objects] == [SQUARE, [[1, 1], [6, 1], [3, 7]]]
    assert body["objects"][1]["points"] == [[1, 1], [5.5, 1], [3, 7.25]]
    assert annotation.objects[0].created_by == "lena" and annotation.objects[1].source == "extreme_points"

    sample = labeler.get(f"/api/v1/samples/{sample_id}").get_json()
    assert sample["state"] == "labeled" and sample["labels"] == ["cat", "dog"] and sample["labeled_by"] == ["lena"]


def test_authorship_kept_for_unchanged_objects(app, labeler, dataset):
    sample_id = new_sample(app, dataset)
    url = f"/api/v1/samples/{sample_id}/annotation"
    first = labeler.put(url, json={"revision": 0, "objects": [{"label": "cat", "points": SQUARE}, {"label": "dog", "points": SQUARE}]}).get_json()
    add_member(app, dataset["id"], "omar")
    omar = as_user(app, "omar")
    kept, changed = first["objects"]
    second = omar.put(url, json={"revision": 1, "objects": [
        {"id": kept["id"], "label": "cat", "points": SQUARE},
        {"id": changed["id"], "label": "cat", "points": SQUARE},
        {"label": "dog", "points": [[0, 0], [5, 0], [5, 5]]},
    ]}).get_json()
    by_id = {o["id"]: o for o in second["objects"]}
    assert by_id[kept["id"]]["updated_by"] == "lena" and by_id[kept["id"]]["updated_at"] == kept["updated_at"]
    assert by_id[changed["id"]]["created_by"] == "lena" and by_id[changed["id"]]["updated_by"] == "omar"
    new = [o for o in second["objects"] if o["id"] not in (kept["id"], changed["id"])][0]
    assert new["created_by"] == "omar"
    sample = omar.get(f"/api/v1/samples/{sample_id}").get_json()
    assert sample["labeled_by"] == ["lena", "omar"]


def test_stale_revision_is_409_with_current(app, labeler, dataset):
    sample_id = new_sample(app, dataset)
    url = f"/api/v1/samples/{sample_id}/annotation"
    assert labeler.put(url, json={"revision": 0, "objects": [{"label": "cat", "points": SQUARE}]}).status_code == 200
    response = labeler.put(url, json={"revision": 0, "objects": []})
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "conflict" and "lena" in body["message"]
    assert body["current"]["revision"] == 1 and body["current"]["objects"][0]["label"] == "cat"


@pytest.mark.commits  # two threads save at once, each on its own connection
def test_two_clients_same_revision_exactly_one_wins(app, labeler, dataset, s3_server):
    sample_id = new_sample(app, dataset)
    add_member(app, dataset["id"], "omar")
    clients = {"lena": labeler, "omar": as_user(app, "omar")}
    barrier = threading.Barrier(2)
    results = {}

    def save(name):
        barrier.wait()
        with app.app_context():
            results[name] = clients[name].put(f"/api/v1/samples/{sample_id}/annotation", json={
                "revision": 0, "objects": [{"label": "cat" if name == "lena" else "dog", "points": SQUARE}],
            })

    threads = [threading.Thread(target=save, args=(n,)) for n in clients]
    [t.start() for t in threads]
    [t.join() for t in threads]
    codes = sorted(r.status_code for r in results.values())
    assert codes == [200, 409], {n: (r.status_code, r.get_json()) for n, r in results.items()}
    winner = next(n for n, r in results.items() if r.status_code == 200)
    current = labeler.get(f"/api/v1/samples/{sample_id}/annotation").get_json()
    assert current["revision"] == 1 and current["saved_by"] == winner
    xml = read_annotation(s3_server.store.get(bucket_of(dataset), "cats/a/one.xml"), "one.xml")
    assert [o.label for o in xml.objects] == [current["objects"][0]["label"]]


def test_no_objects_means_unlabeled_and_no_xml(app, labeler, dataset, s3_server):
    sample_id = new_sample(app, dataset)
    url = f"/api/v1/samples/{sample_id}/annotation"
    labeler.put(url, json={"revision": 0, "objects": [{"label": "cat", "points": SQUARE}]})
    response = labeler.put(url, json={"revision": 1, "objects": []})
    assert response.status_code == 200 and response.get_json()["objects"] == []
    assert labeler.get(f"/api/v1/samples/{sample_id}").get_json()["state"] == "unlabeled"
    keys = [o.key for page in s3_server.store.list_pages(bucket_of(dataset), "cats/a/") for o in page]
    assert "cats/a/one.xml" not in keys


def test_invalid_objects_are_422_naming_them(app, labeler, dataset):
    sample_id = new_sample(app, dataset)
    url = f"/api/v1/samples/{sample_id}/annotation"
    cases = [
        ({"objects": []}, "revision"),
        ({"revision": 0}, "objects"),
        ({"revision": "x", "objects": []}, "revision"),
        ({"revision": 0, "objects": [{"label": "cat", "points": [[1, 1], [2, 2]]}]}, "objects.0.points"),
        ({"revision": 0, "objects": [{"label": "cow", "points": SQUARE}]}, "objects.0.label"),
        ({"revision": 0, "objects": [{"label": "cat", "points": [[1, 1], [2, 2], [100, 3]]}]}, "objects.0.points"),
        ({"revision": 0, "objects": [{"label": "cat", "points": [[1, 1], [2, "a"], [3, 3]]}]}, "objects"),
        ({"revision": 0, "objects": [{"label": "cat", "points": [[1, 1, 1], [2, 2], [3, 3]]}]}, "objects"),
        ({"revision": 0, "objects": [{"label": "cat", "shape": "circle", "points": SQUARE}]}, "objects"),
    ]
    for body, field in cases:
        response = labeler.put(url, json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["fields"], (body, response.get_json())
    assert labeler.get(url).get_json()["revision"] == 0


def test_store_failure_leaves_database_unchanged(app, labeler, dataset, config):
    sample_id = new_sample(app, dataset)
    broken = app_with(app, s3_endpoint_url="http://127.0.0.1:9")
    client = broken.test_client()
    response = client.put(f"/api/v1/samples/{sample_id}/annotation", json={"revision": 0, "objects": [{"label": "cat", "points": SQUARE}]},
                          headers={"Authorization": f"Bearer {labeler.token}"})
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"] == "object_store_unavailable"
    broken.extensions["db_engine"].dispose()
    body = labeler.get(f"/api/v1/samples/{sample_id}/annotation").get_json()
    assert body == {**body, "revision": 0, "objects": []}
    assert labeler.get(f"/api/v1/samples/{sample_id}").get_json()["state"] == "unlabeled"


def test_unknown_sample_is_404(labeler):
    assert labeler.get("/api/v1/samples/424242/annotation").status_code == 404


def count_statements(app):
    """Collect the SQL statements that read or write rows as the app's engine runs them (a list that
    fills as they run; transaction control such as SAVEPOINT is not counted)."""
    from sqlalchemy import event

    statements: list[str] = []

    def collect(conn, cursor, statement, *args):
        if statement.lstrip().split(" ", 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            statements.append(statement)

    event.listen(app.extensions["db_engine"], "before_cursor_execute", collect)
    return statements


def test_a_save_reads_and_writes_each_row_once(app, labeler, dataset):
    """A 2-object save: the caller, their role, sample, dataset and labels read once, the revision
    claimed, the objects read once and inserted, the two indexes replaced, the revision kept in the
    history, the sample row written once more."""
    sample_id = new_sample(app, dataset)
    labeler.get("/api/v1/me")  # warm-up: nothing below depends on first-use queries
    statements = count_statements(app)
    response = labeler.put(f"/api/v1/samples/{sample_id}/annotation", json={
        "revision": 0, "objects": [{"label": "cat", "points": SQUARE}, {"label": "dog", "points": SQUARE}],
    })
    assert response.status_code == 200, response.get_json()
    selects_of = lambda table: [s for s in statements if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s]  # noqa: E731
    assert len(selects_of("samples")) == 1, statements
    assert len(selects_of("annotation_objects")) == 1, statements
    assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE SAMPLES")]) == 2, statements
    assert len(selects_of("dataset_members")) == 1, statements
    assert len(statements) <= 16, "\n".join(statements)


def test_a_save_on_a_decompression_bomb_is_422_not_500(app, labeler, dataset, s3_server):
    s3_server.store.put(bucket_of(dataset), "cats/bomb.png", png_bomb(20_000, 20_000))
    sample_id = add_sample(app, dataset["id"], "cats/bomb.png", width=None, height=None)  # the sync could not size it
    response = labeler.put(f"/api/v1/samples/{sample_id}/annotation", json={"revision": 0, "objects": [{"label": "cat", "points": SQUARE}]})
    assert response.status_code == 422, response.get_json()
    assert "pixels" in response.get_json()["message"]
    assert labeler.get(f"/api/v1/samples/{sample_id}/annotation").get_json()["revision"] == 0


def test_a_save_of_too_many_points_in_all_is_422_before_they_are_read(app, labeler, dataset):
    sample_id = new_sample(app, dataset)
    ring = [[i % 60, i % 40] for i in range(10_000)]
    started = time.monotonic()
    response = labeler.put(f"/api/v1/samples/{sample_id}/annotation", json={
        "revision": 0, "objects": [{"label": "cat", "points": ring}] * 11})
    assert response.status_code == 422, response.get_json()
    assert "110000 points" in response.get_json()["fields"]["objects"][0]
    assert time.monotonic() - started < 5  # 40 such objects took 39 s to save


def test_a_save_may_hold_max_save_points_in_all():
    ring = [[i % 60, i % 40] for i in range(10_000)]
    assert len(AnnotationIn().load({"revision": 0, "objects": [{"label": "cat", "points": ring}] * 10})["objects"]) == 10
    with pytest.raises(ValidationError) as caught:
        AnnotationIn().load({"revision": 0, "objects": [{"label": "cat", "points": ring}] * 10 + [{"label": "cat", "points": SQUARE}]})
    assert list(caught.value.messages) == ["objects"]


def test_a_save_reads_an_unknown_size_within_the_configured_pixel_limit(app, labeler, dataset):
    sample_id = add_sample(app, dataset["id"], "cats/a/one.png", width=None, height=None)  # a 64x48 image in the store
    strict = as_user(app_with(app, max_image_pixels=1000), "lena")
    response = strict.put(f"/api/v1/samples/{sample_id}/annotation", json={"revision": 0, "objects": [{"label": "cat", "points": SQUARE}]})
    assert response.status_code == 422 and "more than the limit" in response.get_json()["message"], response.get_json()
    relaxed = labeler.put(f"/api/v1/samples/{sample_id}/annotation", json={"revision": 0, "objects": [{"label": "cat", "points": SQUARE}]})
    assert relaxed.status_code == 200 and (relaxed.get_json()["width"], relaxed.get_json()["height"]) == (64, 48)
