"""The worker's one use case: an image and a prompt (four extreme points or a box, correction
clicks) in, the object's outline out."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from inference_worker import schemas
from inference_worker.batcher import Arrival, Batcher
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
        return self.answer(request)[2]

    def answer(self, request: schemas.OutlineRequest) -> tuple[Prediction, tuple[int, ...], dict]:
        """Return the prediction, the image's shape and the response body (the peers' adapters reshape them)."""
        timings = Timings()
        with Stopwatch() as total, self.batcher.arriving() as arrival:  # a batch may wait for it until it submits
            image = self.load_image(request, timings)
            schemas.check_inside(request, image.shape)
            with Stopwatch() as inference:  # `inference_ms`: preprocess to postprocess, as before
                pred = self.infer(image, request, timings, arrival)
            bbox = pred.bbox or self.fallback_bbox(request)
        stages = " ".join(f"{name}={ms:.1f}" for name, ms in schemas.stage_timings(timings.ms).items())  # every stage, 0 if skipped
        log.info("outline %s in %.1f ms: %s", request.image_uri or "inline image", total.ms, stages)
        body = schemas.outline_response(pred.polygons, bbox, pred.score, self.predictor.name, inference.ms, timings.ms, pred.low_confidence)
        return pred, image.shape, body

    def infer(self, image: np.ndarray, request: schemas.OutlineRequest, timings: Timings, arrival: Arrival | None = None) -> Prediction:
        """Preprocess here, run the networks in a batch shared with other requests (unless the
        object's answer is cached), correct by the clicks and postprocess here.

        `arrival`, the request's announcement to the batcher, is done when it submits its input
        or, when the networks' answer is cached, when the work after them starts."""
        def forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return self.batcher.submit(x, self.timeout_s, timings, arrival)

        return self.predictor.outline(image, request.points, request.box, request.clicks, forward, timings, after_networks=arrival.done if arrival else None)

    @staticmethod
    def fallback_bbox(request: schemas.OutlineRequest) -> list[float]:
        """Return the prompt's own box, for an answer without any outline."""
        box = points_bbox(request.points) if request.points is not None else request.box
        return [float(v) for v in box]


def store_resolver(config: Config) -> Callable[[ObjectURI], ObjectStore]:
    """Return uri -> store from the worker's S3 settings (the factory shares one client)."""
    settings = StoreSettings.from_config(config)
    return lambda uri: store_for(uri, settings)
