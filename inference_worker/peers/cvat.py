"""CVAT's interactor protocol (a nuclio function of `type: interactor`, see deploy/cvat/).

CVAT sends `{"image": base64, "pos_points": [[x, y], ...], "neg_points": [[x, y], ...],
"obj_bbox": [[x1, y1], [x2, y2]] | null}` in image pixels. With a box, every point is a
correction click (positive, then negative); without one, the first four positive points are the
extreme points (CVAT's DEXTR-style interactors ask for four) and the rest are clicks. The answer
is `{"points": [[x, y], ...]}` (the largest outline) and `{"mask": rows of 0/255}` over the whole image.
"""

from __future__ import annotations

import numpy as np

from inference_worker.errors import BadRequest
from inference_worker.schemas import OutlineRequest, parse_box, parse_clicks, parse_points


def outline_request(body: object) -> OutlineRequest:
    """Return the worker's request for a CVAT interactor body."""
    if not isinstance(body, dict) or not isinstance(body.get("image"), str):
        raise BadRequest('the body must hold "image" (base64), "pos_points" and "neg_points"', "invalid_json")
    positive, negative = _points(body.get("pos_points"), "pos_points"), _points(body.get("neg_points"), "neg_points")
    bbox = body.get("obj_bbox")
    if bbox is not None:
        if not (isinstance(bbox, list) and len(bbox) == 2 and all(isinstance(p, list) and len(p) == 2 for p in bbox)):
            raise BadRequest('"obj_bbox" must be [[x1, y1], [x2, y2]]', "invalid_box")
        (x1, y1), (x2, y2) = bbox
        box = parse_box([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)])
        return OutlineRequest(None, body["image"], None, box, parse_clicks(_clicks(positive, negative)))
    if len(positive) < 4:
        raise BadRequest("give four positive points on the object's extreme points, or a box", "invalid_points")
    return OutlineRequest(None, body["image"], parse_points(positive[:4]), None, parse_clicks(_clicks(positive[4:], negative)))


def _points(value: object, name: str) -> list[list[float]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise BadRequest(f'"{name}" must be a list of [x, y] points', "invalid_points")
    return value


def _clicks(positive: list, negative: list) -> list[list]:
    return [[*p, 1] for p in positive] + [[*p, 0] for p in negative]


def answer(polygons: list, mask: np.ndarray) -> dict:
    """Return CVAT's answer: the largest polygon and the full-image mask (0/255)."""
    return {"points": [[float(x), float(y)] for x, y in polygons[0]] if polygons else [], "mask": (mask * 255).astype(np.uint8).tolist()}
