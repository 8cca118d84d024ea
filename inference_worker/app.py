"""The worker's HTTP service: `gunicorn 'inference_worker.app:create_app()'`."""

from __future__ import annotations

import hmac
import logging

import torch
from flask import Flask, jsonify, request

from inference_worker import errors, schemas
from inference_worker.batcher import Batcher
from inference_worker.config import Config
from inference_worker.images import ImageLoader
from inference_worker.peers import routes as peer_routes
from inference_worker.predictor import Predictor, WeightsError
from inference_worker.refine import RefineSettings
from inference_worker.service import OutlineService, store_resolver

log = logging.getLogger(__name__)
BODY_SLACK_BYTES = 64 * 1024


def create_app(config: Config | dict | None = None) -> Flask:
    """Build the app: load the model once, start the batcher, register the routes."""
    if not isinstance(config, Config):
        config = Config.from_env().with_overrides(config)
    _configure_logging(config.log_level)
    if not config.token:
        log.warning("WORKER_TOKEN is not set: this worker answers predict requests from anyone who can reach it")
    app = Flask(__name__)
    app.config["WORKER"] = config
    # base64 adds a third; the slack lets images near the limit reach the exact check.
    app.config["MAX_CONTENT_LENGTH"] = config.max_image_bytes * 4 // 3 + BODY_SLACK_BYTES
    app.extensions["outline_service"] = _build_service(config)
    _register_routes(app)
    _register_errors(app)
    return app


def _configure_logging(level: str) -> None:
    """Set the worker's log level, and send its lines to stderr when nothing else would show them.

    gunicorn sets up only its own loggers and Python shows no INFO by default, so without a
    handler here each request's timings would be lost; a host that configures logging keeps its own."""
    package = logging.getLogger("inference_worker")
    package.setLevel(level.upper())
    if package.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package.addHandler(handler)


def _build_service(config: Config) -> OutlineService | None:
    """Return the service, or None (not ready) when the weights cannot be loaded."""
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    try:
        device = torch.device(config.device) if config.device else None
        refine = RefineSettings(max_pixels=config.refine_max_pixels) if config.refine else None
        predictor = Predictor.from_weights(config.weights, device, config.flip_tta, refine, config.runtime, config.torch_threads, int8=config.int8)
    except WeightsError as exc:
        log.error("model not loaded: %s", exc)
        return None
    predictor.warm_up()
    batcher = Batcher(predictor.infer_batch, config.max_batch, config.max_wait_ms, config.max_queue).start()
    loader = ImageLoader(store_resolver(config), config.max_image_bytes, config.max_image_pixels, config.cache_entries, config.buckets)
    return OutlineService(predictor, batcher, loader, config.request_timeout_s)


def _service(app: Flask) -> OutlineService:
    service = app.extensions["outline_service"]
    if service is None:
        raise errors.NotReady("the model is not loaded")
    if not service.batcher.alive:
        raise errors.NotReady("the batching thread is not running")
    return service


def _register_routes(app: Flask) -> None:
    @app.post("/v1/extreme-points")
    def extreme_points():
        _authorize(app.config["WORKER"].token)
        body = _json_body()
        return jsonify(_service(app).outline(schemas.parse_outline_request(body)))

    @app.post("/v1/box")
    def box():
        _authorize(app.config["WORKER"].token)
        body = _json_body()
        return jsonify(_service(app).outline(schemas.parse_box_request(body)))

    peer_routes.register(app, lambda: _service(app), lambda: _authorize(app.config["WORKER"].token), _json_body)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        _service(app)
        return jsonify({"status": "ready"})

    @app.get("/v1/models")
    def models():
        return jsonify({"models": [_describe(app)]})


def _json_body() -> object:
    """Return the request's JSON body; one that is not JSON, or nests too deeply to parse, is a 400."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # e.g. 50,000 nested '[': the decoder runs out of stack (silent= covers ValueError only)
        raise errors.BadRequest("the body nests too deeply to be read as JSON", "invalid_json") from None
    if body is None:
        raise errors.BadRequest("the body must be JSON (Content-Type: application/json)", "invalid_json")
    return body


def _authorize(token: str) -> None:
    """Refuse a predict request without the worker's token (none configured: any request): as a
    bearer token, or as the password of HTTP Basic auth (what Label Studio sends to an ML backend)."""
    if not token:
        return
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and request.authorization is not None:
        sent = request.authorization.password or ""
    elif scheme.lower() != "bearer":
        sent = ""
    # compare_digest takes as long for a near miss as for a far one: the token cannot be guessed by timing.
    if not hmac.compare_digest(sent.strip().encode(), token.encode()):
        raise errors.Unauthorized("a valid bearer token is required (Authorization: Bearer <WORKER_TOKEN>)")


def _describe(app: Flask) -> dict:
    service, config = _service(app), app.config["WORKER"]
    predictor = service.predictor
    return {
        "id": predictor.name, "input_size": predictor.input_size, "flip_tta": predictor.flip_tta,
        "refine": predictor.refine is not None, "device": str(predictor.device),
        "runtime": predictor.runner.name, "precision": predictor.runner.precision,
        "max_batch": config.max_batch, "max_wait_ms": config.max_wait_ms, "sha256": predictor.sha256,
    }


def _register_errors(app: Flask) -> None:
    @app.errorhandler(errors.WorkerError)
    def worker_error(exc: errors.WorkerError):
        response = jsonify({"error": exc.code, "message": exc.message})
        if exc.status == 503:
            response.headers["Retry-After"] = "1"
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response, exc.status

    @app.errorhandler(413)
    def body_too_large(exc):
        limit = app.config["WORKER"].max_image_bytes
        return jsonify({"error": "image_too_large", "message": f"the request body is too large for an image of at most {limit} bytes"}), 400

    @app.errorhandler(404)
    @app.errorhandler(405)
    def http_error(exc):
        return jsonify({"error": exc.name.lower().replace(" ", "_"), "message": exc.description}), exc.code
