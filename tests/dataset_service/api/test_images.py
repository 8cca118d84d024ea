"""Adding images by upload and deleting samples."""
from __future__ import annotations

import io

from tests.dataset_service.conftest import image_bytes
from tests.dataset_service.factories import add_sample
from tests.storage.bombs import png_bomb


def upload(api, dataset_id, files):
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return api.post(f"/api/v1/datasets/{dataset_id}/images", data=data, content_type="multipart/form-data")


def listed(s3_server, bucket, prefix):
    return sorted(o.key for page in s3_server.store.list_pages(bucket, prefix) for o in page)


def test_upload_creates_samples_and_objects(admin, dataset, s3_server):
    bucket = dataset["input_path"].split("/")[2]
    response = upload(admin, dataset["id"], [("new/a.png", image_bytes(30, 20)), ("b.JPG", image_bytes(10, 10, "JPEG"))])
    assert response.status_code == 201, response.get_json()
    items = response.get_json()["items"]
    assert [(i["key"], i["width"], i["height"]) for i in items] == [("cats/new/a.png", 30, 20), ("cats/b.JPG", 10, 10)]
    assert {"cats/new/a.png", "cats/b.JPG"} <= set(listed(s3_server, bucket, "cats/"))
    again = upload(admin, dataset["id"], [("new/a.png", image_bytes(31, 21))]).get_json()["items"]
    assert again[0]["id"] == items[0]["id"] and again[0]["width"] == 31
    assert admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]["total"] == 2


def test_upload_checks_content_not_extension(admin, dataset, s3_server):
    bucket = dataset["input_path"].split("/")[2]
    before = listed(s3_server, bucket, "cats/")
    response = upload(admin, dataset["id"], [("good.png", image_bytes()), ("fake.jpg", b"GIF89a not really")])
    assert response.status_code == 415, response.get_json()
    assert "fake.jpg" in response.get_json()["message"]
    assert listed(s3_server, bucket, "cats/") == before


def test_upload_rejects_bad_names(admin, dataset):
    for name in ("../evil.png", "/etc/x.png", "a\x01b.png"):
        response = upload(admin, dataset["id"], [(name, image_bytes())])
        assert response.status_code == 422, (name, response.get_json())
        assert "files" in response.get_json()["fields"]


def test_upload_size_limits(admin, dataset, app):
    config = app.config["SERVICE"]
    app.config["SERVICE"] = config.replace(max_image_bytes=1000)
    try:
        response = upload(admin, dataset["id"], [("big.png", image_bytes(200, 200, color=None) + b"\0" * 2000)])
        assert response.status_code == 413 and "big.png" in response.get_json()["message"]
    finally:
        app.config["SERVICE"] = config
    huge = b"\0" * (9 * 1024 * 1024)
    response = upload(admin, dataset["id"], [("huge.png", huge)])
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"


def test_upload_without_files_is_422(admin, dataset):
    response = admin.post(f"/api/v1/datasets/{dataset['id']}/images", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "files" in response.get_json()["fields"]


def test_delete_samples_keeps_source_by_default(app, admin, dataset, s3_server):
    bucket = dataset["input_path"].split("/")[2]
    keep = add_sample(app, dataset["id"], "cats/a/one.png")
    gone = add_sample(app, dataset["id"], "cats/a/two.jpg")
    response = admin.post(f"/api/v1/datasets/{dataset['id']}/samples/delete", json={"ids": [keep]})
    assert response.status_code == 200 and response.get_json() == {"deleted": 1}
    assert "cats/a/one.png" in listed(s3_server, bucket, "cats/")
    s3_server.store.put(bucket, "cats/a/two.xml", b"<annotation/>")
    response = admin.post(f"/api/v1/datasets/{dataset['id']}/samples/delete", json={"ids": [gone], "delete_source": True})
    assert response.status_code == 200
    remaining = listed(s3_server, bucket, "cats/")
    assert "cats/a/two.jpg" not in remaining and "cats/a/two.xml" not in remaining
    assert admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]["total"] == 0


def test_delete_unknown_ids_is_422_and_deletes_nothing(app, admin, dataset):
    sample_id = add_sample(app, dataset["id"], "cats/a/one.png")
    response = admin.post(f"/api/v1/datasets/{dataset['id']}/samples/delete", json={"ids": [sample_id, 999999]})
    assert response.status_code == 422 and "ids" in response.get_json()["fields"]
    assert admin.get(f"/api/v1/datasets/{dataset['id']}").get_json()["counts"]["total"] == 1
    assert admin.post(f"/api/v1/datasets/{dataset['id']}/samples/delete", json={"ids": []}).status_code == 422


def test_infer_with_worker_down_is_503_quickly(app, admin, dataset):
    import time

    sample_id = add_sample(app, dataset["id"], "cats/a/one.png", width=64, height=48)
    started = time.monotonic()
    response = admin.post(f"/api/v1/samples/{sample_id}/infer", json={"points": [[1, 1], [5, 5], [1, 5], [5, 1]]})
    assert response.status_code == 503 and "worker" in response.get_json()["message"]
    assert time.monotonic() - started < 5
    response = admin.post(f"/api/v1/samples/{sample_id}/infer", json={"points": [[1, 1], [5, 5]]})
    assert response.status_code == 422 and "points" in response.get_json()["fields"]


def test_upload_of_a_decompression_bomb_is_413_naming_files(admin, dataset, s3_server):
    bucket = dataset["input_path"].split("/")[2]
    before = listed(s3_server, bucket, "cats/")
    response = upload(admin, dataset["id"], [("good.png", image_bytes()), ("bomb.png", png_bomb(20_000, 20_000))])
    assert response.status_code == 413, response.get_json()
    body = response.get_json()
    assert "bomb.png" in body["message"] and "MAX_IMAGE_PIXELS" in body["message"]
    assert "pixels" in body["fields"]["files"][0]
    assert listed(s3_server, bucket, "cats/") == before


def test_upload_pixel_limit_is_max_image_pixels(admin, dataset, app):
    config = app.config["SERVICE"]
    app.config["SERVICE"] = config.replace(max_image_pixels=100 * 100)
    try:
        assert upload(admin, dataset["id"], [("ok.png", image_bytes(100, 100))]).status_code == 201
        response = upload(admin, dataset["id"], [("wide.png", image_bytes(101, 100))])
        assert response.status_code == 413 and "10100 pixels" in response.get_json()["message"]
    finally:
        app.config["SERVICE"] = config
