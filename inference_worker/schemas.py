"""The JSON shape of the worker's requests and answers, and the checks on the points."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from inference_worker.errors import BadRequest

NUM_POINTS = 4
MIN_POINTS_SPREAD_PX = 3.0  # four clicks closer together than this do not outline anything
MIN_BOX_SIDE_PX = 3.0  # a box narrower than this holds no object to outline
MAX_CLICKS = 200  # correction clicks on one object
# The answer's `timings_ms`, in the order a request runs them. fetch: the encoded image (base64
# or the object store); decode: to pixels (0 on a cache hit); queue: waiting for a batch;
# forward: that batch's network pass, shared by its requests (preprocess, queue and forward are
# 0 when the object's four-point answer is cached); correct: the click head, once per new
# correction click; refine: GrabCut (the threshold when refinement is off); postprocess: paste
# back, obey the clicks, trace the outline, score.
STAGES = ("fetch", "decode", "preprocess", "queue", "forward", "correct", "refine", "postprocess")


@dataclass(frozen=True)
class OutlineRequest:
    """A parsed `POST /v1/extreme-points` or `POST /v1/box` body: four points or a box, and clicks."""

    image_uri: str | None
    image_base64: str | None
    points: np.ndarray | None  # (4, 2) float64, (x, y)
    box: np.ndarray | None = None  # [xmin, ymin, xmax, ymax]
    clicks: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # (K, 3): x, y, 1 (object) | 0 (not)


def parse_outline_request(body: object) -> OutlineRequest:
    """Check a `POST /v1/extreme-points` body's shape; image-dependent checks come once the image is known."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", "invalid_json")
    uri, b64 = _parse_image(body.get("image"))
    return OutlineRequest(uri, b64, parse_points(body.get("points")), None, parse_clicks(body.get("clicks")))


def parse_box_request(body: object) -> OutlineRequest:
    """Check a `POST /v1/box` body's shape."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", "invalid_json")
    uri, b64 = _parse_image(body.get("image"))
    return OutlineRequest(uri, b64, None, parse_box(body.get("box")), parse_clicks(body.get("clicks")))


def parse_box(box: object) -> np.ndarray:
    """Return [xmin, ymin, xmax, ymax] as an array, or raise BadRequest saying what is wrong."""
    if not isinstance(box, list) or len(box) != 4:
        raise BadRequest('"box" must be a list [xmin, ymin, xmax, ymax]', "invalid_box")
    if not all(_is_number(v) for v in box):
        raise BadRequest("box coordinates must be finite numbers", "invalid_box")
    array = np.array(box, dtype=np.float64)
    if array[2] - array[0] < MIN_BOX_SIDE_PX or array[3] - array[1] < MIN_BOX_SIDE_PX:
        raise BadRequest(f"the box must have xmax > xmin and ymax > ymin, by at least {MIN_BOX_SIDE_PX:g} px", "degenerate_box")
    return array


def parse_clicks(clicks: object) -> np.ndarray:
    """Return the optional correction clicks as a (K, 3) array of x, y, 1|0, or raise BadRequest."""
    if clicks is None:
        return np.zeros((0, 3))
    if not isinstance(clicks, list) or len(clicks) > MAX_CLICKS:
        raise BadRequest(f'"clicks" must be a list of at most {MAX_CLICKS} [x, y, 1|0] triples', "invalid_clicks")
    if not all(isinstance(c, list) and len(c) == 3 for c in clicks):
        raise BadRequest("each click must be [x, y, 1] (object) or [x, y, 0] (not the object)", "invalid_clicks")
    if not all(_is_number(v) for c in clicks for v in c[:2]):
        raise BadRequest("click coordinates must be finite numbers", "invalid_clicks")
    if not all(type(c[2]) is int and c[2] in (0, 1) for c in clicks):
        raise BadRequest("a click's third value must be 1 (object) or 0 (not the object)", "invalid_clicks")
    return np.array(clicks, dtype=np.float64).reshape(-1, 3)


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


def check_points_inside(points: np.ndarray, shape: tuple[int, ...], what: str = "point") -> None:
    """Refuse points (or clicks) outside the image's pixel grid."""
    h, w = shape[:2]
    inside = (points[:, 0] >= 0) & (points[:, 0] < w) & (points[:, 1] >= 0) & (points[:, 1] < h)
    if not inside.all():
        raise BadRequest(f"every {what} must lie inside the {w}x{h} image", f"{what}s_outside_image")


def check_inside(request: OutlineRequest, shape: tuple[int, ...]) -> None:
    """Refuse a request whose points, box or clicks do not fit the image."""
    if request.points is not None:
        check_points_inside(request.points, shape)
    if request.box is not None:
        h, w = shape[:2]
        x0, y0, x1, y1 = request.box
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            raise BadRequest(f"the box must lie inside the {w}x{h} image", "box_outside_image")
    check_points_inside(request.clicks, shape, "click")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def outline_response(
    polygons: list, bbox: list[float], score: float, model: str, inference_ms: float, timings_ms: dict[str, float], low_confidence: bool = False,
) -> dict:
    """Return the `POST /v1/extreme-points` (and `/v1/box`) answer."""
    return {
        "polygons": polygons, "bbox": bbox, "score": round(score, 4), "low_confidence": bool(low_confidence), "model": model,
        "inference_ms": round(inference_ms, 2), "timings_ms": stage_timings(timings_ms),
    }


def stage_timings(timings_ms: dict[str, float]) -> dict[str, float]:
    """Return every stage's milliseconds, 0 for one a request skipped; a name not in STAGES is
    kept, so a misspelt stage shows in the answer (and fails the tests) instead of vanishing."""
    return {name: round(ms, 2) for name, ms in {**dict.fromkeys(STAGES, 0.0), **timings_ms}.items()}
