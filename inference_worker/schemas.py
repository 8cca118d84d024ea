"""The JSON shape of the worker's requests and answers, and the checks on the points."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from inference_worker.errors import BadRequest

NUM_POINTS = 4
MIN_POINTS_SPREAD_PX = 3.0  # four clicks closer together than this do not outline anything
# The answer's `timings_ms`, in the order a request runs them. fetch: the encoded image (base64
# or the object store); decode: to pixels (0 on a cache hit); queue: waiting for a batch;
# forward: that batch's network pass, shared by its requests; refine: GrabCut (the threshold
# when refinement is off); postprocess: paste back, trace the outline, score.
STAGES = ("fetch", "decode", "preprocess", "queue", "forward", "refine", "postprocess")


@dataclass(frozen=True)
class OutlineRequest:
    """A parsed `POST /v1/extreme-points` body."""

    image_uri: str | None
    image_base64: str | None
    points: np.ndarray  # (4, 2) float64, (x, y)


def parse_outline_request(body: object) -> OutlineRequest:
    """Check the request body's shape; image-dependent checks come once the image is known."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", "invalid_json")
    uri, b64 = _parse_image(body.get("image"))
    return OutlineRequest(uri, b64, parse_points(body.get("points")))


def _parse_image(image: object) -> tuple[str | None, str | None]:
    if not isinstance(image, dict) or len({"uri", "base64"} & image.keys()) != 1:
        raise BadRequest('"image" must be {"uri": "s3://bucket/key"} or {"base64": "..."}', "invalid_image")
    return image.get("uri"), image.get("base64")


def parse_points(points: object) -> np.ndarray:
    """Return four (x, y) points as a (4, 2) array, or raise BadRequest saying what is wrong."""
    if not isinstance(points, list) or len(points) != NUM_POINTS:
        raise BadRequest('"points" must be a list of exactly four [x, y] pairs', "invalid_points")
    if not all(isinstance(p, list) and len(p) == 2 for p in points):
        raise BadRequest('each point must be an [x, y] pair', "invalid_points")
    values = [v for p in points for v in p]
    if not all(_is_number(v) for v in values):
        raise BadRequest("point coordinates must be finite numbers", "non_numeric_points")
    array = np.array(values, dtype=np.float64).reshape(NUM_POINTS, 2)
    if np.ptp(array, axis=0).max() < MIN_POINTS_SPREAD_PX:
        raise BadRequest("the four points are (nearly) the same; spread them over the object", "degenerate_points")
    return array


def check_points_inside(points: np.ndarray, shape: tuple[int, ...]) -> None:
    """Refuse points outside the image's pixel grid."""
    h, w = shape[:2]
    inside = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
    if not inside.all():
        raise BadRequest(f"every point must lie inside the {w}x{h} image", "points_outside_image")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def outline_response(polygons: list, bbox: list[float], score: float, model: str, inference_ms: float, timings_ms: dict[str, float]) -> dict:
    """Return the `POST /v1/extreme-points` answer."""
    return {
        "polygons": polygons, "bbox": bbox, "score": round(score, 4), "model": model,
        "inference_ms": round(inference_ms, 2), "timings_ms": stage_timings(timings_ms),
    }


def stage_timings(timings_ms: dict[str, float]) -> dict[str, float]:
    """Return every stage's milliseconds, 0 for one a request skipped; a name not in STAGES is
    kept, so a misspelt stage shows in the answer (and fails the tests) instead of vanishing."""
    return {name: round(ms, 2) for name, ms in {**dict.fromkeys(STAGES, 0.0), **timings_ms}.items()}
