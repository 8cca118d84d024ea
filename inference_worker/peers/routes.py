"""The peers' endpoints on the worker: Label Studio's ML backend under /label-studio, CVAT's interactor at /cvat/interactor."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, jsonify

from inference_worker.peers import cvat, label_studio
from inference_worker.postprocess import full_mask
from inference_worker.service import OutlineService


def register(app: Flask, service: Callable[[], OutlineService], authorize: Callable[[], None], body: Callable[[], object]) -> None:
    """Add the peers' routes; `service`, `authorize` and `body` are the app's own (one error mapping for all)."""

    @app.get("/label-studio/health")
    @app.get("/label-studio/")
    def label_studio_health():
        return jsonify({"status": "UP", "model_class": "inference_worker", "v2": True})

    @app.post("/label-studio/setup")
    def label_studio_setup():
        authorize()
        return jsonify({"model_version": service().predictor.name})

    @app.post("/label-studio/webhook")
    def label_studio_webhook():
        authorize()
        return jsonify({}), 201  # nothing to train: annotation events are acknowledged and ignored

    @app.post("/label-studio/predict")
    def label_studio_predict():
        authorize()
        sent = body()
        worker = service()
        found = label_studio.interaction(sent)
        outline = label_studio.outline_request(found) if found else None
        if outline is None:  # no prompt yet (a first keypoint): nothing to show
            return jsonify({"results": [], "model_version": worker.predictor.name})
        tags = label_studio.polygon_tag(sent.get("label_config"))
        _, _, answer = worker.answer(outline)
        return jsonify({"results": [label_studio.prediction(answer, found, tags)], "model_version": worker.predictor.name})

    @app.post("/cvat/interactor")
    def cvat_interactor():
        authorize()
        pred, shape, _ = service().answer(cvat.outline_request(body()))
        return jsonify(cvat.answer(pred.polygons, full_mask(pred.mask, pred.offset, shape)))
