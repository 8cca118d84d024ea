"""Fixtures for the inference worker: the committed weights, synthetic images, an in-memory store."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
import torch

from inference_worker.predictor import DEFAULT_WEIGHTS, Predictor
from storage.errors import ObjectNotFound
from storage.objects import ObjectInfo, ObjectStore


@pytest.fixture(scope="session", autouse=True)
def _few_threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def weights_path():
    """The committed weights: every test runs on what the worker serves."""
    return DEFAULT_WEIGHTS


@pytest.fixture(scope="session")
def predictor(weights_path) -> Predictor:
    return Predictor.from_weights(weights_path, torch.device("cpu"))


def disc_image(width: int = 640, height: int = 480, centre=(320, 240), radius: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Return an RGB image of a bright textured disc on a dark background, and the disc's mask."""
    rng = np.random.default_rng(0)
    image = rng.integers(20, 60, size=(height, width, 3), dtype=np.uint8)
    mask = np.zeros((height, width), np.uint8)
    cv2.circle(mask, centre, radius, 1, -1)
    image[mask.astype(bool)] = (220, 120, 40)
    return image, mask


def encode_png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()


def encode_base64(image: np.ndarray) -> str:
    return base64.b64encode(encode_png(image)).decode()


class MemoryStore(ObjectStore):
    """An in-memory ObjectStore that counts reads; only what the worker uses is implemented."""

    def __init__(self):
        self.objects: dict[tuple[str, str], bytes] = {}
        self.gets = 0
        self.failure: Exception | None = None

    def put(self, bucket, key, data, content_type=None):
        self.objects[(bucket, key)] = data
        return self.stat(bucket, key)

    def stat(self, bucket, key):
        if self.failure:
            raise self.failure
        if (bucket, key) not in self.objects:
            raise ObjectNotFound("object not found", bucket, key)
        data = self.objects[(bucket, key)]
        return ObjectInfo(key, len(data), hashlib.md5(data).hexdigest(), datetime.now(UTC))

    def get(self, bucket, key, byte_range=None):
        self.stat(bucket, key)
        self.gets += 1
        return self.objects[(bucket, key)]

    def list_pages(self, bucket, prefix, page_size=1000):
        raise NotImplementedError

    def delete(self, bucket, key):
        self.objects.pop((bucket, key), None)

    def presigned_url(self, bucket, key, expires_s=3600):
        raise NotImplementedError

    def ensure_bucket(self, bucket):
        pass


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()
