"""Who may ask the worker for an outline: callers with the shared token, for images in the buckets it serves."""
from __future__ import annotations

import logging

import pytest

from inference_worker.app import create_app
from inference_worker.config import Config
from tests.inference_worker.conftest import disc_image, encode_png

TOKEN = "s3cret-worker-token"
POINTS = [[220, 240], [419, 240], [320, 141], [320, 339]]
GOOD = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def app(weights_path):
    app = create_app({"weights": weights_path, "token": TOKEN, "buckets": ("photos", "labels")})
    yield app
    app.extensions["outline_service"].batcher.stop()


@pytest.fixture
def reads(app, memory_store) -> list[str]:
    """The URIs the worker asked its store for, the store holding the same disc in two buckets."""
    seen: list[str] = []
    app.extensions["outline_service"].loader.store_for = lambda uri: seen.append(str(uri)) or memory_store
    for bucket in ("photos", "secrets"):
        memory_store.put(bucket, "disc.png", encode_png(disc_image()[0]))
    return seen


def post(app, uri: str, headers: dict[str, str] | None = None):
    return app.test_client().post("/v1/extreme-points", json={"image": {"uri": uri}, "points": POINTS}, headers=headers or {})


def test_the_right_token_is_served(app, reads):
    response = post(app, "s3://photos/disc.png", GOOD)
    assert response.status_code == 200 and response.get_json()["polygons"]
    assert reads == ["s3://photos/disc.png"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", TOKEN])
def test_predict_requests_without_the_token_are_401_before_any_read(app, reads, authorization):
    response = post(app, "s3://photos/disc.png", {"Authorization": authorization} if authorization else None)
    assert response.status_code == 401 and response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert reads == []


def test_an_unauthenticated_body_is_refused_before_it_is_parsed(app):
    response = app.test_client().post("/v1/extreme-points", data="not json", content_type="application/json")
    assert response.status_code == 401


def test_health_readiness_and_models_stay_open(app):
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/v1/models").status_code == 200


@pytest.mark.parametrize("uri", ["s3://secrets/disc.png", "s3://photos-backup/disc.png", "s3://label/disc.png"])
def test_a_bucket_outside_the_configured_ones_is_403_before_any_read(app, reads, uri):
    response = post(app, uri, GOOD)
    assert response.status_code == 403 and response.get_json()["error"] == "bucket_not_allowed"
    assert uri.split("/")[2] in response.get_json()["message"] and "WORKER_BUCKETS" in response.get_json()["message"]
    assert reads == []


def test_without_a_token_or_buckets_the_worker_serves_anyone_and_warns_at_start(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="inference_worker")
    app = create_app({"weights": tmp_path / "none.pt"})  # no model: the request gets past the checks to "not ready"
    assert any("WORKER_TOKEN is not set" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    response = post(app, "s3://anybucket/disc.png")
    assert response.status_code == 503 and response.get_json()["error"] == "not_ready"


def test_a_configured_token_starts_without_the_warning(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="inference_worker")
    create_app({"weights": tmp_path / "none.pt", "token": TOKEN})
    assert not any("WORKER_TOKEN" in r.getMessage() for r in caplog.records)


def test_token_and_buckets_come_from_the_environment_and_the_token_is_not_shown():
    config = Config.from_env({"WORKER_TOKEN": TOKEN, "WORKER_BUCKETS": " photos, labels ,,"})
    assert config.token == TOKEN and config.buckets == ("photos", "labels")
    assert TOKEN not in repr(config)
    assert Config.from_env({}).buckets == () and Config.from_env({"WORKER_BUCKETS": ""}).buckets == ()
