"""Label Studio's ML backend protocol: `/predict` with an interactive `context`, answered as PolygonLabels.

Label Studio sends `{"tasks": [...], "label_config": "<View>...", "params": {"context": {"result": [...]}}}`;
each context item is what the person drew, in percent of the image: KeyPointLabels (with
`is_positive`) or a RectangleLabels box. Four keypoints and no box are the four extreme points
(later keypoints are correction clicks); with a box, every keypoint is a correction click. The
answer is one prediction per task, a PolygonLabels region in percent with a score and model version.
Images are read by the worker itself, so a task's image must be an `s3://` URI (Label Studio's
cloud storage on the worker's bucket) or a `data:` URL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lxml import etree

from inference_worker.errors import BadRequest
from inference_worker.schemas import OutlineRequest, parse_box, parse_clicks, parse_points

MAX_CONFIG_BYTES = 1_000_000


@dataclass(frozen=True)
class Interaction:
    """One task's image and what the person drew on it, in percent of the image."""

    image: dict  # the worker's {"uri": ...} or {"base64": ...}
    keypoints: list[tuple[float, float, int]]  # x %, y %, 1 positive | 0 negative, in order
    box: tuple[float, float, float, float] | None  # x %, y %, width %, height %
    label: str | None
    size: tuple[int, int]  # original width, height


def interaction(body: object) -> Interaction | None:
    """Return the interaction of a `/predict` body's first task, or None when there is no context."""
    if not isinstance(body, dict) or not isinstance(body.get("tasks"), list) or not body["tasks"]:
        raise BadRequest('the body must hold "tasks": [{"data": {...}}]', "invalid_tasks")
    context = (body.get("params") or {}).get("context") or body.get("context") or {}
    items = context.get("result") if isinstance(context, dict) else None
    if not items:
        return None
    keypoints, box, label = [], None, None
    for item in items:
        kind, value = item.get("type"), item.get("value") or {}
        label = (value.get(kind) or [label])[0]
        if kind == "keypointlabels":
            keypoints.append((float(value["x"]), float(value["y"]), int(bool(item.get("is_positive", True)))))
        elif kind == "rectanglelabels":
            box = (float(value["x"]), float(value["y"]), float(value["width"]), float(value["height"]))
    size = (int(items[0]["original_width"]), int(items[0]["original_height"]))
    return Interaction(_image(body["tasks"][0]), keypoints, box, label, size)


def _image(task: object) -> dict:
    """Return the task's image as the worker reads it: an s3:// URI or an inline data: URL."""
    data = task.get("data") if isinstance(task, dict) else None
    value = next((v for v in (data or {}).values() if isinstance(v, str)), None)
    if value and value.startswith("s3://"):
        return {"uri": value}
    if value and value.startswith("data:"):
        return {"base64": value}
    raise BadRequest("the task's image must be an s3:// URI (Label Studio cloud storage on the worker's bucket) or a data: URL", "unsupported_image")


def outline_request(found: Interaction) -> OutlineRequest | None:
    """Return the worker's request for an interaction, or None while it is not a prompt yet (under four points, no box)."""
    w, h = found.size
    pixels = [[x * w / 100, y * h / 100, p] for x, y, p in found.keypoints]
    uri, b64 = found.image.get("uri"), found.image.get("base64")
    if found.box is not None:
        x, y, bw, bh = found.box
        box = parse_box([x * w / 100, y * h / 100, (x + bw) * w / 100, (y + bh) * h / 100])
        return OutlineRequest(uri, b64, None, np.clip(box, 0, [w, h, w, h]), parse_clicks(pixels))
    if len(pixels) < 4:
        return None
    points = parse_points([p[:2] for p in pixels[:4]])
    return OutlineRequest(uri, b64, points, None, parse_clicks(pixels[4:]))


def polygon_tag(label_config: object) -> tuple[str, str]:
    """Return (from_name, to_name) of the labeling config's PolygonLabels tag."""
    if not isinstance(label_config, str) or len(label_config.encode()) > MAX_CONFIG_BYTES:
        raise BadRequest("label_config must be the project's labeling config (XML)", "invalid_label_config")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(label_config.encode(), parser)
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"label_config is not XML: {exc}", "invalid_label_config") from None
    tag = next(iter(root.iter("PolygonLabels")), None)
    if tag is None:
        raise BadRequest("the labeling config needs a <PolygonLabels> tag for the outlines", "invalid_label_config")
    return tag.get("name"), tag.get("toName")


def prediction(answer: dict, found: Interaction, tags: tuple[str, str]) -> dict:
    """Return one Label Studio prediction: the largest polygon as PolygonLabels in percent."""
    w, h = found.size
    result = []
    if answer["polygons"]:
        points = [[round(100 * x / w, 4), round(100 * y / h, 4)] for x, y in answer["polygons"][0]]
        value = {"points": points, "closed": True, "polygonlabels": [found.label] if found.label else []}
        result.append({
            "from_name": tags[0], "to_name": tags[1], "type": "polygonlabels", "value": value,
            "original_width": w, "original_height": h, "image_rotation": 0, "score": answer["score"], "readonly": False,
        })
    return {"result": result, "score": answer["score"], "model_version": answer["model"]}
