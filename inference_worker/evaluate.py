"""Score the model and GrabCut from four extreme points: `python -m inference_worker.evaluate`.

Default set: davis345, one merged mask per frame (every object id > 0; id 255 is void and not
scored). `--instances` scores each object on its own instead (the other objects count as
background), closer to single-object sets such as the GrabCut photos. `--set DIR` scores any
folder laid out the same way (`images/*.jpg|png`, `masks/<stem>.png`, grey masks with the
object > 127 or palette masks with object ids), e.g. a held-out set of your own.
Extreme points are taken from each mask with a fixed seed; every method gets the same points.
GrabCut gets the points' box as its rectangle and the four points as sure foreground.
The model is scored on the polygons it answers, drawn back into a mask, as a client sees them:
loaded here from its weights, or, with `--url`, a running worker asked over HTTP. Loaded here, it
is also scored on its unsimplified mask, and the polygons' vertices are counted.

`--clicks N` adds correction clicks after the four points, as the standard protocol simulates a
person (RITM, f-BRS): each next click at the point of the largest error region farthest from its
border, positive on a missed part, negative on a false part; it prints the mIoU after 0..N
corrections and NoC@85 / NoC@90, the corrections needed to reach that IoU (at most `--noc-max`,
20; an object that never gets there counts 20).
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import requests
import torch

from inference_worker import data
from inference_worker.clicks import next_click
from inference_worker.extreme_points import extreme_points
from inference_worker.postprocess import full_mask
from inference_worker.predictor import DEFAULT_WEIGHTS, Predictor
from inference_worker.preprocess import points_bbox
from inference_worker.refine import RefineSettings
from inference_worker.runtime import RUNTIMES
from inference_worker.train import DEFAULT_DATA

POINTS_SEED = 0
GRABCUT_ITERATIONS = 5
HTTP_TIMEOUT_S = 60.0
NOC_THRESHOLDS = (0.85, 0.90)
NOC_MAX = 20


@dataclass(frozen=True)
class Answer:
    """One answer as scored: the polygons drawn back, the unsimplified mask (in-process only), vertices per polygon."""

    mask: np.ndarray
    raw: np.ndarray | None
    vertices: list[int]
    outline: np.ndarray | None = None  # the raw mask's outer contours, holes filled, not simplified


Segmenter = Callable[..., Answer]  # (RGB image, 4 points, clicks (K, 3) or None) -> Answer


def frames(folder: Path, limit: int | None = None, instances: bool = False, every: int = 1) -> Iterator[tuple]:
    """Yield (image, mask, void, points) per image of a set folder (or per object with
    `instances`), points from a fixed seed; with `every`, only every N-th image."""
    rng = np.random.default_rng(POINTS_SEED)
    for pair in data.pairs(folder)[::every][:limit]:
        masks, void = data.read_masks(pair.mask, instances)
        image = data.read_rgb(pair.image)
        for mask in masks:
            if mask.any():
                yield image, mask, void, extreme_points(mask, rng)


def model_segmenter(predictor: Predictor) -> Segmenter:
    """Return a segmenter running the predictor in this process, as the worker does (same cache)."""

    def segment(image: np.ndarray, points: np.ndarray, clicks: np.ndarray | None = None) -> Answer:
        pred = predictor.outline(image, points, clicks=clicks)
        raw = full_mask(pred.mask, pred.offset, image.shape)
        return Answer(polygons_mask(pred.polygons, image.shape), raw, [len(p) for p in pred.polygons], filled(raw))

    return segment


def filled(mask: np.ndarray) -> np.ndarray:
    """Return the mask's outer contours filled: what an exact outline without holes draws."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    out = np.zeros_like(mask)
    cv2.drawContours(out, contours, -1, 1, -1)
    return out


def http_segmenter(url: str, session: requests.Session | None = None) -> Segmenter:
    """Return a segmenter asking a running worker (`url` is its base URL) over its HTTP API."""
    session = session or requests.Session()
    endpoint = url.rstrip("/") + "/v1/extreme-points"
    encoded: dict[int, str] = {}

    def segment(image: np.ndarray, points: np.ndarray, clicks: np.ndarray | None = None) -> Answer:
        if id(image) not in encoded:  # the same frame is sent again with each click: encode it once
            encoded.clear()
            png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()
            encoded[id(image)] = base64.b64encode(png).decode()
        body = {"image": {"base64": encoded[id(image)]}, "points": points.tolist()}
        if clicks is not None and len(clicks):
            body["clicks"] = [[float(x), float(y), int(p)] for x, y, p in clicks]
        response = session.post(endpoint, json=body, timeout=HTTP_TIMEOUT_S)
        if response.status_code != 200:
            raise RuntimeError(f"{endpoint} answered {response.status_code}: {response.text[:300]}")
        polygons = response.json()["polygons"]
        return Answer(polygons_mask(polygons, image.shape), None, [len(p) for p in polygons])

    return segment


def polygons_mask(polygons: list[list[list[float]]], shape: tuple[int, ...]) -> np.ndarray:
    """Rasterise outlines in the image's pixel frame (vertices at pixel centres) to a 0/1 mask."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(np.asarray(p)).astype(np.int32) for p in polygons], 1)
    return mask


def grabcut_mask(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Return GrabCut's 0/1 mask seeded by the points' box, with the points as sure foreground."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = points_bbox(points).astype(int)
    seeds = np.full((h, w), cv2.GC_BGD, np.uint8)
    seeds[max(0, y0):min(h, y1), max(0, x0):min(w, x1)] = cv2.GC_PR_FGD
    for x, y in points.astype(int):
        seeds[y, x] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, seeds, None, bgd, fgd, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    return np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)


def evaluate(segment: Segmenter, samples: Iterator[tuple], with_grabcut: bool) -> dict[str, float]:
    """Return the mIoU (in %) of the segmenter's polygons, of its unsimplified masks (when known)
    and of GrabCut, the polygons' vertex counts, and the segmenter's seconds per object."""
    scores: dict[str, list[float]] = {"model": [], "raw": [], "outline": [], "grabcut": []}
    vertices: list[int] = []
    model_seconds = 0.0
    for image, mask, void, points in samples:
        started = time.perf_counter()
        answer = segment(image, points)
        model_seconds += time.perf_counter() - started
        scores["model"].append(data.iou(answer.mask, mask, void))
        if answer.raw is not None:
            scores["raw"].append(data.iou(answer.raw, mask, void))
            scores["outline"].append(data.iou(answer.outline, mask, void))
        vertices.extend(answer.vertices)
        if with_grabcut:
            scores["grabcut"].append(data.iou(grabcut_mask(image, points), mask, void))
    result = {name: 100 * float(np.mean(v)) for name, v in scores.items() if v}
    result["frames"] = len(scores["model"])
    result["model_s_per_frame"] = model_seconds / max(1, len(scores["model"]))
    if vertices:
        result["vertices_median"], result["vertices_mean"] = float(np.median(vertices)), float(np.mean(vertices))
    return result


def click_ious(segment: Segmenter, image: np.ndarray, mask: np.ndarray, void: np.ndarray, points: np.ndarray, clicks_n: int, noc_max: int) -> list[float]:
    """Return the IoU after 0, 1, ... corrections: at least `clicks_n` of them, and on to `noc_max`
    until the object reaches the highest NoC threshold (stopping early when nothing is left to fix)."""
    clicks: list[tuple[int, int, int]] = []
    answer = segment(image, points)
    ious = [data.iou(answer.mask, mask, void)]
    while len(clicks) < max(clicks_n, noc_max):
        if len(clicks) >= clicks_n and ious[-1] >= max(NOC_THRESHOLDS):
            break
        click = next_click(answer.mask, mask, void)
        if click is None:
            break
        clicks.append(click)
        answer = segment(image, points, np.array(clicks, dtype=np.float64))
        ious.append(data.iou(answer.mask, mask, void))
    return ious


def evaluate_clicks(segment: Segmenter, samples: Iterator[tuple], clicks_n: int, noc_max: int = NOC_MAX) -> dict:
    """Return the mIoU (in %) after 0..clicks_n corrections and the mean NoC at each threshold."""
    curves, nocs = [], {t: [] for t in NOC_THRESHOLDS}
    started = time.perf_counter()
    requests_n = 0
    for image, mask, void, points in samples:
        ious = click_ious(segment, image, mask, void, points, clicks_n, noc_max)
        requests_n += len(ious)
        curves.append([ious[min(k, len(ious) - 1)] for k in range(clicks_n + 1)])
        for t in NOC_THRESHOLDS:
            nocs[t].append(next((k for k, v in enumerate(ious) if v >= t), noc_max))
    return {
        "frames": len(curves), "miou": (100 * np.mean(curves, axis=0)).tolist(),
        "noc": {t: float(np.mean(v)) for t, v in nocs.items()}, "noc_max": noc_max,
        "s_per_request": (time.perf_counter() - started) / max(1, requests_n),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the segmentation data root (for davis345)")
    parser.add_argument("--set", type=Path, help="score this folder (images/, masks/) instead of davis345")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--url", help="score a running worker at this base URL over HTTP instead of loading weights")
    parser.add_argument("--limit", type=int, help="only the first N images (a quick look)")
    parser.add_argument("--every", type=int, default=1, help="only every N-th image (a sample across the whole set)")
    parser.add_argument("--no-grabcut", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--flip-tta", action="store_true", help="average with the mirrored crop (the worker's default)")
    parser.add_argument("--refine", action="store_true", help="refine the outline on the image with GrabCut seeded by the network (the worker's default)")
    parser.add_argument("--refine-max-pixels", type=int, default=RefineSettings.max_pixels, help="the refinement's working size (WORKER_REFINE_MAX_PIXELS)")
    parser.add_argument("--instances", action="store_true", help="score each object on its own, not merged masks")
    parser.add_argument("--runtime", default="auto", choices=RUNTIMES, help="where the network runs (auto: ONNX Runtime on the CPU, as the worker)")
    parser.add_argument("--no-int8", action="store_true", help="run ONNX Runtime in float32, not int8 as the worker does (WORKER_INT8=false)")
    parser.add_argument("--input-size", type=int, help="crop side to serve at instead of the one the weights record")
    parser.add_argument("--clicks", type=int, default=0, help="simulate N correction clicks after the four points (mIoU after 0..N, NoC@85/90)")
    parser.add_argument("--noc-max", type=int, default=NOC_MAX, help="the most corrections counted for NoC")
    parser.add_argument("--no-click-head", action="store_true", help="obey clicks by post-processing alone, without the click head")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cv2.setRNGSeed(POINTS_SEED)  # GrabCut's k-means (baseline and refinement): the same figures on every run
    if args.url:
        segment, name = http_segmenter(args.url), f"the worker at {args.url}"
    else:
        refine = RefineSettings(max_pixels=args.refine_max_pixels) if args.refine else None
        predictor = Predictor.from_weights(
            args.weights, flip_tta=args.flip_tta, refine=refine, runtime=args.runtime, threads=args.threads, clicks=not args.no_click_head,
            int8=not args.no_int8)
        predictor.input_size = args.input_size or predictor.input_size
        segment = model_segmenter(predictor)
        name = (f"model {predictor.name} at {predictor.input_size} px{' + flip TTA' if args.flip_tta else ''}"
                f"{' + GrabCut refinement' if args.refine else ''}, {predictor.runner.name} {predictor.runner.precision}")
    folder = args.set or args.data / "davis345"
    what = "objects, each on its own" if args.instances else "images, objects merged"
    if args.clicks:
        print_clicks(evaluate_clicks(segment, frames(folder, args.limit, args.instances, args.every), args.clicks, args.noc_max), folder, what, name)
        return
    result = evaluate(segment, frames(folder, args.limit, args.instances, args.every), not args.no_grabcut)
    print(f"{folder.name}: {result['frames']} {what}, extreme points seed {POINTS_SEED}")
    print(f"{name}: mIoU {result['model']:.2f}  ({1000 * result['model_s_per_frame']:.0f} ms/object)")
    if "raw" in result:
        print(f"  unsimplified masks: mIoU {result['raw']:.2f}; their exact outer outlines (holes filled) {result['outline']:.2f}; "
              f"the polygons lose {result['raw'] - result['model']:.2f} to the mask, {result['outline'] - result['model']:.2f} to simplification")
    if "vertices_median" in result:
        print(f"  vertices per polygon: median {result['vertices_median']:.0f}, mean {result['vertices_mean']:.1f}")
    if "grabcut" in result:
        print(f"OpenCV GrabCut ({GRABCUT_ITERATIONS} iterations, same points): mIoU {result['grabcut']:.2f}")


def print_clicks(result: dict, folder: Path, what: str, name: str) -> None:
    """Print the correction-click figures."""
    print(f"{folder.name}: {result['frames']} {what}, extreme points seed {POINTS_SEED}, clicks by the standard protocol")
    curve = "  ".join(f"{k}: {v:.2f}" for k, v in enumerate(result["miou"]))
    print(f"{name}: mIoU after 0..{len(result['miou']) - 1} corrections  {curve}")
    noc = ", ".join(f"NoC@{round(100 * t)} {v:.2f}" for t, v in result["noc"].items())
    print(f"  {noc} (at most {result['noc_max']})  ({1000 * result['s_per_request']:.0f} ms/request)")


if __name__ == "__main__":
    main()
