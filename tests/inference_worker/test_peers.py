"""The peers' protocols, with requests in the exact JSON Label Studio and CVAT send."""
from __future__ import annotations

import base64
import importlib.util
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from werkzeug.serving import make_server

from inference_worker.app import create_app
from inference_worker.evaluate import polygons_mask

from .conftest import disc_image, encode_base64

TOKEN = "peer-secret"
LABEL_CONFIG = """<View>
  <Image name="image" value="$image" zoom="true"/>
  <KeyPointLabels name="kp" toName="image" smart="true"><Label value="disc" smart="true"/></KeyPointLabels>
  <RectangleLabels name="box" toName="image" smart="true"><Label value="disc"/></RectangleLabels>
  <PolygonLabels name="outline" toName="image"><Label value="disc"/></PolygonLabels>
</View>"""


@pytest.fixture(scope="module")
def app(weights_path):
    app = create_app({"weights": weights_path, "token": TOKEN, "refine": False})
    yield app
    app.extensions["outline_service"].batcher.stop()


@pytest.fixture(scope="module")
def disc():
    image, mask = disc_image()
    return image, mask, "data:image/png;base64," + encode_base64(image)


def keypoint(x, y, positive=True):
    """One KeyPointLabels context item as Label Studio sends it (percent of a 640x480 image)."""
    return {
        "original_width": 640, "original_height": 480, "image_rotation": 0, "id": f"kp{x}{y}", "from_name": "kp", "to_name": "image",
        "type": "keypointlabels", "origin": "manual", "is_positive": positive,
        "value": {"x": 100 * x / 640, "y": 100 * y / 480, "width": 0.5, "keypointlabels": ["disc"]},
    }


def predict_body(image_url, items):
    return {
        "tasks": [{"id": 7, "data": {"image": image_url}, "meta": {}, "created_at": "2026-11-30T10:00:00.000000Z", "annotations": [], "predictions": []}],
        "project": "3.1764495600", "label_config": LABEL_CONFIG,
        "params": {"login": None, "password": None, "context": {"result": items}},
    }


def basic(password):
    return {"Authorization": "Basic " + base64.b64encode(f"labelstudio:{password}".encode()).decode()}


def test_label_studio_health_setup_and_webhook(app):
    client = app.test_client()
    assert client.get("/label-studio/health").get_json()["status"] == "UP"
    sent = {"project": "3.1764495600", "schema": LABEL_CONFIG, "hostname": "http://ls:8080", "access_token": "x"}
    setup = client.post("/label-studio/setup", headers=basic(TOKEN), json=sent)
    assert setup.status_code == 200 and setup.get_json()["model_version"].startswith("dextr-lite0-lite2@")
    assert client.post("/label-studio/webhook", headers=basic(TOKEN), json={"action": "ANNOTATION_CREATED", "annotation": {}}).status_code == 201
    assert client.post("/label-studio/setup", headers=basic("wrong"), json={}).status_code == 401


def test_label_studio_four_keypoints_then_a_negative_one(app, disc):
    image, mask, url = disc
    client = app.test_client()
    extremes = [keypoint(220, 240), keypoint(419, 240), keypoint(320, 141), keypoint(320, 339)]
    assert client.post("/label-studio/predict", headers=basic(TOKEN), json=predict_body(url, extremes[:1])).get_json()["results"] == []
    body = client.post("/label-studio/predict", headers=basic(TOKEN), json=predict_body(url, extremes)).get_json()
    [prediction] = body["results"]
    [region] = prediction["result"]
    assert region["type"] == "polygonlabels" and (region["from_name"], region["to_name"]) == ("outline", "image")
    assert region["value"]["polygonlabels"] == ["disc"] and prediction["model_version"] == body["model_version"]
    pixels = [[x * 640 / 100, y * 480 / 100] for x, y in region["value"]["points"]]
    drawn = polygons_mask([pixels], image.shape)
    assert (drawn & mask).sum() / (drawn | mask).sum() > 0.85 and 0 < prediction["score"] <= 1
    corrected = client.post("/label-studio/predict", headers=basic(TOKEN), json=predict_body(url, [*extremes, keypoint(320, 240, False)])).get_json()
    points = [[x * 640 / 100, y * 480 / 100] for x, y in corrected["results"][0]["result"][0]["value"]["points"]]
    assert polygons_mask([points], image.shape)[240, 320] == 0


def test_label_studio_box(app, disc):
    image, mask, url = disc
    box = {
        "original_width": 640, "original_height": 480, "image_rotation": 0, "id": "bx", "from_name": "box", "to_name": "image",
        "type": "rectanglelabels", "origin": "manual",
        "value": {"x": 100 * 216 / 640, "y": 100 * 136 / 480, "width": 100 * 208 / 640, "height": 100 * 208 / 480, "rotation": 0, "rectanglelabels": ["disc"]},
    }
    body = app.test_client().post("/label-studio/predict", headers=basic(TOKEN), json=predict_body(url, [box])).get_json()
    points = [[x * 640 / 100, y * 480 / 100] for x, y in body["results"][0]["result"][0]["value"]["points"]]
    drawn = polygons_mask([points], image.shape)
    assert (drawn & mask).sum() / (drawn | mask).sum() > 0.85


def test_label_studio_tasks_it_cannot_read_are_a_clear_400(app):
    response = app.test_client().post("/label-studio/predict", headers=basic(TOKEN), json=predict_body("/data/upload/3/a.jpg", [keypoint(1, 1)]))
    assert response.status_code == 400 and response.get_json()["error"] == "unsupported_image"


def cvat_body(image, pos, neg, bbox=None):
    """CVAT's interactor payload (cvat/apps/lambda_manager): image base64, points in pixels."""
    return {"image": encode_base64(image), "pos_points": pos, "neg_points": neg, "obj_bbox": bbox}


def test_cvat_interactor_answers_points_and_mask(app, disc):
    image, mask, _ = disc
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    four = client.post("/cvat/interactor", headers=headers, json=cvat_body(image, [[220, 240], [419, 240], [320, 141], [320, 339]], [[320, 240]]))
    assert four.status_code == 200
    body = four.get_json()
    full = np.array(body["mask"], np.uint8)
    assert full.shape == mask.shape and set(np.unique(full).tolist()) <= {0, 255}
    assert full[240, 320] == 0 and ((full > 0) & (mask > 0)).sum() / ((full > 0) | (mask > 0)).sum() > 0.8
    assert len(body["points"]) >= 3
    boxed = client.post("/cvat/interactor", headers=headers, json=cvat_body(image, [], [], [[216, 136], [424, 344]])).get_json()
    assert np.array(boxed["mask"]).max() == 255
    short = client.post("/cvat/interactor", headers=headers, json=cvat_body(image, [[1, 1]], []))
    assert short.status_code == 400 and short.get_json()["error"] == "invalid_points"


def test_the_nuclio_handler_forwards_to_the_worker(app, disc, monkeypatch):
    image, _, _ = disc
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    spec = importlib.util.spec_from_file_location("cvat_main", Path(__file__).parents[2] / "deploy" / "cvat" / "main.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    monkeypatch.setenv("WORKER_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("WORKER_TOKEN", TOKEN)
    context = SimpleNamespace(user_data=SimpleNamespace(), Response=lambda **kw: kw)  # nuclio's context: what the handler uses
    try:
        main.init_context(context)
        answer = main.handler(context, SimpleNamespace(body=cvat_body(image, [[220, 240], [419, 240], [320, 141], [320, 339]], [])))
    finally:
        server.shutdown()
    assert answer["status_code"] == 200 and answer["content_type"] == "application/json" and '"points"' in answer["body"]
