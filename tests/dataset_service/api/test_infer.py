"""POST /samples/{id}/infer against a real inference worker that checks the shared token and its buckets."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from inference_worker.app import create_app as create_worker
from inference_worker.predictor import DEFAULT_WEIGHTS
from tests.dataset_service.conftest import app_with
from tests.dataset_service.factories import add_sample

TOKEN = "shared-worker-secret"
POINTS = [[5, 24], [58, 24], [32, 5], [32, 42]]  # inside the dataset's 64x48 "cats/a/one.png"


@pytest.fixture(scope="module")
def worker(s3_server):
    """The worker over HTTP on a free loopback port, reading the tests' S3 server, with a token set."""
    app = create_worker({
        "weights": DEFAULT_WEIGHTS, "token": TOKEN, "torch_threads": 2, "s3_endpoint_url": s3_server.endpoint_url,
        "s3_access_key": s3_server.access_key, "s3_secret_key": s3_server.secret_key,
    })
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["outline_service"].batcher.stop()


@pytest.fixture
def sample_id(app, dataset) -> int:
    return add_sample(app, dataset["id"], "cats/a/one.png", width=64, height=48)


def infer(app, labeler, sample_id: int, worker, token: str, buckets: tuple[str, ...]):
    """Ask for an outline through an app that sends `token`, the worker serving only `buckets`."""
    worker_app, url = worker
    worker_app.extensions["outline_service"].loader.buckets = frozenset(buckets)
    # The worker answers in a fraction of a second, but on a loaded 2-core machine running the whole
    # suite its first answer can take longer than the suite's 2 s: these tests are about tokens and buckets.
    labeler.client = app_with(app, worker_url=url, worker_token=token, worker_timeout_s=30.0).test_client()
    return labeler.post(f"/api/v1/samples/{sample_id}/infer", json={"points": POINTS})


def bucket_of(dataset) -> str:
    return dataset["input_path"].split("/")[2]


def test_the_api_sends_the_shared_token_and_gets_the_outline(app, labeler, dataset, sample_id, worker):
    response = infer(app, labeler, sample_id, worker, TOKEN, (bucket_of(dataset),))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["polygons"]


def test_a_token_the_worker_does_not_know_is_a_clear_502(app, labeler, dataset, sample_id, worker):
    for token in ("", "another-secret"):
        response = infer(app, labeler, sample_id, worker, token, ())
        assert response.status_code == 502 and "WORKER_TOKEN" in response.get_json()["message"]


def test_a_dataset_outside_the_workers_buckets_is_a_clear_502(app, labeler, dataset, sample_id, worker):
    response = infer(app, labeler, sample_id, worker, TOKEN, ("some-other-bucket",))
    assert response.status_code == 502
    assert bucket_of(dataset) in response.get_json()["message"] and "WORKER_BUCKETS" in response.get_json()["message"]


def test_a_box_with_correction_clicks_reaches_the_worker_and_bad_clicks_name_their_field(app, labeler, dataset, sample_id, worker):
    worker_app, url = worker
    worker_app.extensions["outline_service"].loader.buckets = frozenset((bucket_of(dataset),))
    # a box runs the networks twice: more than the suite's 2 s on a loaded 2-core machine
    labeler.client = app_with(app, worker_url=url, worker_token=TOKEN, worker_timeout_s=30.0).test_client()
    path = f"/api/v1/samples/{sample_id}/infer"
    boxed = labeler.post(path, json={"box": [4, 4, 60, 44], "clicks": [[30, 20, 1], [6, 6, 0]]})
    assert boxed.status_code == 200, boxed.get_json()
    assert boxed.get_json()["polygons"] and isinstance(boxed.get_json()["low_confidence"], bool)
    for body, field in (
        ({"points": POINTS, "clicks": [[1, 2, 5]]}, "clicks"),  # refused by the schema
        ({"points": POINTS, "box": [4, 4, 60, 44]}, "points"),
        ({"points": POINTS, "clicks": [[100, 2, 1]]}, "clicks"),  # outside the 64x48 image: the worker's 400
        ({"box": [4, 4, 600, 44]}, "box"),
    ):
        response = labeler.post(path, json=body)
        assert response.status_code in (400, 422) and field in response.get_json()["fields"], (body, response.get_json())
