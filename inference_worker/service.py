"""The worker's one use case: an image and four extreme points in, the object's outline out."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from inference_worker import schemas
from inference_worker.batcher import Batcher
from inference_worker.config import Config
from inference_worker.images import ImageLoader
from inference_worker.predictor import Prediction, Predictor
from inference_worker.preprocess import points_bbox
from inference_worker.timing import Stopwatch, Timings
from storage.factory import StoreSettings, store_for
from storage.objects import ObjectStore
from storage.uris import ObjectURI

log = logging.getLogger(__name__)


class OutlineService:
    """Fetch the image, then preprocess here, infer in a shared batch, postprocess here."""

    def __init__(self, predictor: Predictor, batcher: Batcher, loader: ImageLoader, timeout_s: float):
        self.predictor = predictor
        self.batcher = batcher
        self.loader = loader
        self.timeout_s = timeout_s

    def load_image(self, request: schemas.OutlineRequest, timings: Timings | None = None) -> np.ndarray:
        """Return the request's image, inline or from the object store."""
        if request.image_uri is not None:
            return self.loader.from_uri(request.image_uri, timings)
        return self.loader.from_base64(request.image_base64, timings)

    def outline(self, request: schemas.OutlineRequest) -> dict:
        """Return the response body for one parsed request, and log where its time went."""
        timings = Timings()
        with Stopwatch() as total:
            image = self.load_image(request, timings)
            schemas.check_points_inside(request.points, image.shape)
            with Stopwatch() as inference:  # `inference_ms`: preprocess to postprocess, as before
                pred = self.infer(image, request.points, timings)
            bbox = pred.bbox or [float(v) for v in points_bbox(request.points)]
        log.info("outline %s in %.1f ms: %s", request.image_uri or "inline image", total.ms, timings.describe())
        return schemas.outline_response(pred.polygons, bbox, pred.score, self.predictor.name, inference.ms, timings.ms)

    def infer(self, image: np.ndarray, points: np.ndarray, timings: Timings) -> Prediction:
        """Preprocess here, run the network in a batch shared with other requests, postprocess here."""
        with timings.stage("preprocess"):
            inputs, boxes = self.predictor.preprocess([image], [points])
        prob = self.batcher.submit(inputs[0], self.timeout_s, timings)
        return self.predictor.postprocess(prob, boxes[0], image, timings)


def store_resolver(config: Config) -> Callable[[ObjectURI], ObjectStore]:
    """Return uri -> store from the worker's S3 settings (the factory shares one client)."""
    settings = StoreSettings.from_config(config)
    return lambda uri: store_for(uri, settings)
