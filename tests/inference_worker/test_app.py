import logging
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import requests
import torch

from inference_worker.app import create_app
from inference_worker.schemas import STAGES
from storage.errors import StoreUnavailable
from tests.inference_worker.conftest import disc_image, encode_base64, encode_png

POINTS = [[220, 240], [419, 240], [320, 141], [320, 339]]


@pytest.fixture(scope="module")
def app(weights_path):
    return create_app({"weights": weights_path, "max_image_pixels": 1_000_000, "max_image_bytes": 2_000_000})


@pytest.fixture
def client(app, memory_store):
    app.extensions["outline_service"].loader.store_for = lambda uri: memory_store
    return app.test_client()


@pytest.fixture(scope="module")
def disc_b64():
    return encode_base64(disc_image()[0])


def post(client, image, points=POINTS):
    return client.post("/v1/extreme-points", json={"image": image, "points": points})


def test_outline_by_base64(client, disc_b64):
    response = post(client, {"base64": disc_b64})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"polygons", "bbox", "score", "low_confidence", "model", "inference_ms", "timings_ms"}
    assert body["low_confidence"] is False
    assert body["model"].startswith("dextr-lite0-lite2@")
    outline = np.array(body["polygons"][0])
    assert outline.shape[1] == 2 and len(outline) >= 8
    assert all(abs(a - b) < 8 for a, b in zip(body["bbox"], [220, 140, 420, 340]))
    assert 0 <= body["score"] <= 1 and body["inference_ms"] > 0


def test_the_answer_says_where_its_time_went(client, disc_b64, caplog):
    caplog.set_level(logging.INFO, logger="inference_worker")
    client.application.extensions["outline_service"].predictor.memo.clear()  # the networks must run, not the cache
    started = time.perf_counter()
    response = post(client, {"base64": disc_b64})
    wall_ms = (time.perf_counter() - started) * 1000
    body = response.get_json()
    timings = body["timings_ms"]
    assert set(timings) == set(STAGES)
    assert all(isinstance(ms, float) and ms >= 0 for ms in timings.values())
    assert timings["decode"] > 0 and timings["forward"] > 0 and timings["refine"] > 0
    rounding = 0.01 * len(STAGES)  # each figure is rounded to 0.01 ms
    assert sum(timings.values()) <= wall_ms + rounding
    model_stages = sum(timings[s] for s in ("preprocess", "queue", "forward", "refine", "postprocess"))
    assert model_stages <= body["inference_ms"] + rounding
    [record] = [r for r in caplog.records if r.name == "inference_worker.service"]
    assert record.levelno == logging.INFO and all(f" {stage}=" in record.getMessage() for stage in STAGES)


def test_a_cached_image_is_not_decoded_again(client, memory_store):
    memory_store.put("photos", "timed.png", encode_png(disc_image()[0]))
    first, second = (post(client, {"uri": "s3://photos/timed.png"}).get_json()["timings_ms"] for _ in range(2))
    assert first["decode"] > 0 and second["decode"] == 0 and second["fetch"] > 0


def test_outline_by_uri_with_points_in_any_order(client, memory_store):
    memory_store.put("photos", "disc.png", encode_png(disc_image()[0]))
    response = post(client, {"uri": "s3://photos/disc.png"}, POINTS[::-1])
    assert response.status_code == 200 and response.get_json()["polygons"]


def test_health_ready_and_models(client, weights_path):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    model = client.get("/v1/models").get_json()["models"][0]
    blob = torch.load(weights_path, map_location="cpu", weights_only=True)
    assert model["input_size"] == blob["input_size"] and model["device"] == "cpu"
    assert model["refine"] is True and model["flip_tta"] is True and model["runtime"] == "onnx" and model["precision"] == "int8"
    assert model["sha256"] == weights_path.with_suffix(".pt.sha256").read_text().split()[0]


BAD_POINTS = [
    (POINTS[:3], "invalid_points"),
    (POINTS + [[1, 1]], "invalid_points"),
    ("four points", "invalid_points"),
    ([[1, 2, 3]] + POINTS[1:], "invalid_points"),
    ([["a", 240]] + POINTS[1:], "non_numeric_points"),
    ([[True, 240]] + POINTS[1:], "non_numeric_points"),
    ([[None, 240]] + POINTS[1:], "non_numeric_points"),
    ([[-1, 240]] + POINTS[1:], "points_outside_image"),
    ([[640, 240]] + POINTS[1:], "points_outside_image"),
    ([[100, 480]] + POINTS[1:], "points_outside_image"),
    ([[300, 300]] * 4, "degenerate_points"),
    ([[300, 300], [301, 300], [300, 301], [301, 301]], "degenerate_points"),
]


@pytest.mark.parametrize("points, code", BAD_POINTS)
def test_bad_points_are_400(client, disc_b64, points, code):
    response = post(client, {"base64": disc_b64}, points)
    assert response.status_code == 400
    assert response.get_json()["error"] == code and response.get_json()["message"]


BAD_IMAGES = [
    ({"base64": "aGVsbG8gd29ybGQ="}, "undecodable_image"),
    ({"base64": "%%%"}, "invalid_base64"),
    ({"uri": "http://example.com/a.jpg"}, "unsupported_uri_scheme"),
    ({"uri": "gs://bucket/a.jpg"}, "unsupported_uri_scheme"),
    ({"uri": "file:///etc/passwd"}, "unsupported_uri_scheme"),
    ({"uri": "s3://Bad_Bucket/a.jpg"}, "invalid_uri"),
    ({}, "invalid_image"),
    ({"uri": "s3://a/b", "base64": "x"}, "invalid_image"),
    ("s3://photos/disc.png", "invalid_image"),
]


@pytest.mark.parametrize("image, code", BAD_IMAGES)
def test_bad_images_are_400(client, image, code):
    response = post(client, image)
    assert response.status_code == 400 and response.get_json()["error"] == code


def test_images_over_the_pixel_limit_are_400(client):
    big = encode_base64(np.zeros((1001, 1000, 3), np.uint8))
    response = post(client, {"base64": big})
    assert response.status_code == 400 and response.get_json()["error"] == "image_too_large"
    assert "pixels" in response.get_json()["message"]


def test_images_over_the_byte_limit_are_400(client):
    noise = np.random.default_rng(0).integers(0, 255, (900, 1000, 3), dtype=np.uint8)  # ~2.7 MB PNG
    response = post(client, {"base64": encode_base64(noise)})
    assert response.status_code == 400 and response.get_json()["error"] == "image_too_large"
    assert "bytes" in response.get_json()["message"]


@pytest.mark.parametrize("data", ["not json", "[1, 2]", "null"])
def test_bodies_that_are_not_a_json_object_are_400(client, data):
    response = client.post("/v1/extreme-points", data=data, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_json"


def test_missing_object_is_404(client):
    response = post(client, {"uri": "s3://photos/missing.png"})
    assert response.status_code == 404 and response.get_json()["error"] == "image_not_found"


def test_unreachable_store_is_503(client, memory_store):
    memory_store.failure = StoreUnavailable("connection refused")
    response = post(client, {"uri": "s3://photos/disc.png"})
    assert response.status_code == 503 and response.get_json()["error"] == "store_unavailable"


def test_overload_is_503_not_an_unbounded_queue(weights_path, disc_b64):
    app = create_app({"weights": weights_path, "max_batch": 1, "max_queue": 1, "request_timeout_s": 10})
    service = app.extensions["outline_service"]
    release = threading.Event()
    infer = service.batcher.infer
    service.batcher.infer = lambda batch: (release.wait(10), infer(batch))[1]
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(post(app.test_client(), {"base64": disc_b64}).status_code)) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.5)
    response = post(app.test_client(), {"base64": disc_b64})
    release.set()
    for t in threads:
        t.join()
    assert response.status_code == 503 and response.get_json()["error"] == "overloaded"
    assert response.headers["Retry-After"] == "1"
    assert sorted(statuses) == [200, 200]
    service.batcher.stop()


def test_missing_weights_leave_the_worker_alive_but_not_ready(tmp_path):
    client = create_app({"weights": tmp_path / "none.pt"}).test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503
    assert post(client, {"base64": "x"}).get_json()["error"] == "not_ready"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_serves_the_api(disc_b64, tmp_path):
    port = free_port()
    env = {**os.environ, "WORKER_PORT": str(port), "WORKER_HOST": "127.0.0.1", "WORKER_TORCH_THREADS": "2"}
    log = open(tmp_path / "gunicorn.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "inference_worker"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or the worker still booting
                time.sleep(0.2)
        response = requests.post(f"{base}/v1/extreme-points", json={"image": {"base64": disc_b64}, "points": POINTS}, timeout=10)
        assert response.status_code == 200 and response.json()["polygons"]
        assert set(response.json()["timings_ms"]) == set(STAGES)
        bad = requests.post(f"{base}/v1/extreme-points", json={"image": {"base64": disc_b64}, "points": POINTS[:2]}, timeout=10)
        assert bad.status_code == 400 and bad.json()["error"] == "invalid_points"
    finally:
        server.terminate()
        server.wait(10)
    # gunicorn sets up only its own loggers: the worker's timings line must still reach the log
    assert "inference_worker.service: outline inline image in" in (tmp_path / "gunicorn.log").read_text()


def test_outline_from_a_real_s3_server(s3_server, weights_path):
    bucket = s3_server.new_bucket("worker")
    s3_server.store.put(bucket, "photos/disc.jpg", encode_png(disc_image()[0]))
    app = create_app({
        "weights": weights_path, "s3_endpoint_url": s3_server.endpoint_url,
        "s3_access_key": s3_server.access_key, "s3_secret_key": s3_server.secret_key,
    })
    client = app.test_client()
    for _ in range(2):
        response = post(client, {"uri": f"s3://{bucket}/photos/disc.jpg"})
        assert response.status_code == 200 and response.get_json()["polygons"]
    cache = app.extensions["outline_service"].loader.cache
    assert (cache.misses, cache.hits) == (1, 1)
    assert post(client, {"uri": f"s3://{bucket}/photos/none.jpg"}).status_code == 404
    app.extensions["outline_service"].batcher.stop()


def test_unreachable_s3_server_is_503(weights_path):
    app = create_app({"weights": weights_path, "s3_endpoint_url": f"http://127.0.0.1:{free_port()}"})
    response = post(app.test_client(), {"uri": "s3://photos/disc.jpg"})
    assert response.status_code == 503 and response.get_json()["error"] == "store_unavailable"
    app.extensions["outline_service"].batcher.stop()


def test_bodies_far_over_the_byte_limit_are_refused_unread(client):
    response = client.post("/v1/extreme-points", data=b"x" * 3_000_000, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"] == "image_too_large"


def test_unknown_routes_answer_json(client):
    response = client.get("/v1/nothing")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_refinement_can_be_turned_off_and_the_outline_still_comes(weights_path, memory_store, monkeypatch):
    monkeypatch.setenv("WORKER_REFINE", "false")
    monkeypatch.setenv("WORKER_REFINE_MAX_PIXELS", "5000")
    app = create_app({"weights": weights_path})
    assert app.config["WORKER"].refine_max_pixels == 5000
    client = app.test_client()
    assert client.get("/v1/models").get_json()["models"][0]["refine"] is False
    response = client.post("/v1/extreme-points", json={"image": {"base64": encode_base64(disc_image()[0])}, "points": POINTS})
    assert response.status_code == 200 and response.get_json()["polygons"]
    assert set(response.get_json()["timings_ms"]) == set(STAGES)  # "refine" is then the threshold


def test_a_box_outlines_the_object_in_it(client, disc_b64):
    response = client.post("/v1/box", json={"image": {"base64": disc_b64}, "box": [215, 135, 425, 345]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert all(abs(a - b) < 8 for a, b in zip(body["bbox"], [220, 140, 420, 340])) and body["low_confidence"] is False


def test_every_correction_click_is_obeyed_and_the_networks_run_once(client):
    from inference_worker.evaluate import polygons_mask

    image = disc_image(centre=(300, 250), radius=110)[0]  # an image no other test sent: nothing cached
    b64 = encode_base64(image)
    made = [[300, 250, 0], [60, 60, 1], [300, 150, 0]]  # a hole in the middle, a far part, a bite off the top
    answers = [post_clicks(client, b64, made[:k]) for k in range(len(made) + 1)]
    assert all(a.status_code == 200 for a in answers)
    assert answers[0].get_json()["timings_ms"]["forward"] > 0
    assert all(a.get_json()["timings_ms"]["forward"] == 0 for a in answers[1:])  # the four-point answer is reused
    drawn = polygons_mask(answers[-1].get_json()["polygons"], image.shape)
    assert [drawn[y, x] for x, y, _ in made] == [0, 1, 0]


def post_clicks(client, b64, made):
    points = [[190, 250], [409, 250], [300, 141], [300, 359]]
    return client.post("/v1/extreme-points", json={"image": {"base64": b64}, "points": points, "clicks": made})


BAD_PROMPTS = [
    ("/v1/extreme-points", {"points": POINTS, "clicks": "left"}, "invalid_clicks"),
    ("/v1/extreme-points", {"points": POINTS, "clicks": [[1, 2]]}, "invalid_clicks"),
    ("/v1/extreme-points", {"points": POINTS, "clicks": [[1, 2, 2]]}, "invalid_clicks"),
    ("/v1/extreme-points", {"points": POINTS, "clicks": [[1, 2, True]]}, "invalid_clicks"),
    ("/v1/extreme-points", {"points": POINTS, "clicks": [["a", 2, 1]]}, "invalid_clicks"),
    ("/v1/extreme-points", {"points": POINTS, "clicks": [[1, 2, 1]] * 201}, "invalid_clicks"),
    ("/v1/extreme-points", {"points": POINTS, "clicks": [[640, 2, 1]]}, "clicks_outside_image"),
    ("/v1/box", {"box": [1, 2, 3]}, "invalid_box"),
    ("/v1/box", {"box": [1, 2, 3, None]}, "invalid_box"),
    ("/v1/box", {"points": POINTS}, "invalid_box"),
    ("/v1/box", {"box": [100, 100, 50, 200]}, "degenerate_box"),
    ("/v1/box", {"box": [100, 100, 700, 200]}, "box_outside_image"),
    ("/v1/box", {"box": [100, 100, 200, 200], "clicks": [[1, -1, 0]]}, "clicks_outside_image"),
]


@pytest.mark.parametrize("path, prompt, code", BAD_PROMPTS)
def test_bad_boxes_and_clicks_are_400(client, disc_b64, path, prompt, code):
    response = client.post(path, json={"image": {"base64": disc_b64}, **prompt})
    assert response.status_code == 400
    assert response.get_json()["error"] == code and response.get_json()["message"]
