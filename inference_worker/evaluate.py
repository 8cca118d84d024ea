"""Score the model and GrabCut from four extreme points: `python -m inference_worker.evaluate`.

Default set: davis345, one merged mask per frame (every object id > 0; id 255 is void and not
scored). `--instances` scores each object on its own instead (the other objects count as
background), closer to single-object sets such as the GrabCut photos. `--set DIR` scores any
folder laid out the same way (`images/*.jpg|png`, `masks/<stem>.png`, grey masks with the
object > 127 or palette masks with object ids), e.g. a held-out set of your own.
Extreme points are taken from each mask with a fixed seed; every method gets the same points.
GrabCut gets the points' box as its rectangle and the four points as sure foreground.
The model is scored on the polygons it answers, drawn back into a mask, as a client sees them:
loaded here from its weights, or, with `--url`, a running worker asked over HTTP.
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import requests
import torch

from inference_worker import data
from inference_worker.extreme_points import extreme_points
from inference_worker.predictor import DEFAULT_WEIGHTS, Predictor
from inference_worker.preprocess import points_bbox
from inference_worker.refine import RefineSettings
from inference_worker.runtime import RUNTIMES
from inference_worker.train import DEFAULT_DATA

POINTS_SEED = 0
GRABCUT_ITERATIONS = 5
HTTP_TIMEOUT_S = 60.0

Segmenter = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (RGB image, 4 points) -> 0/1 mask


def frames(folder: Path, limit: int | None = None, instances: bool = False) -> Iterator[tuple]:
    """Yield (image, mask, void, points) per image of a set folder (or per object with
    `instances`), points from a fixed seed."""
    rng = np.random.default_rng(POINTS_SEED)
    for pair in data.pairs(folder)[:limit]:
        masks, void = data.read_masks(pair.mask, instances)
        image = data.read_rgb(pair.image)
        for mask in masks:
            if mask.any():
                yield image, mask, void, extreme_points(mask, rng)


def model_mask(predictor: Predictor, image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Return the full-frame 0/1 mask of the polygons the worker answers (what a client draws:
    outer contours only, simplified to about a pixel), not of the network's raw mask."""
    pred = predictor.predict([image], [points])[0]
    return polygons_mask(pred.polygons, image.shape)


def http_segmenter(url: str, session: requests.Session | None = None) -> Segmenter:
    """Return a segmenter asking a running worker (`url` is its base URL) over its HTTP API."""
    session = session or requests.Session()
    endpoint = url.rstrip("/") + "/v1/extreme-points"

    def segment(image: np.ndarray, points: np.ndarray) -> np.ndarray:
        png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()
        body = {"image": {"base64": base64.b64encode(png).decode()}, "points": points.tolist()}
        response = session.post(endpoint, json=body, timeout=HTTP_TIMEOUT_S)
        if response.status_code != 200:
            raise RuntimeError(f"{endpoint} answered {response.status_code}: {response.text[:300]}")
        return polygons_mask(response.json()["polygons"], image.shape)

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
    """Return the mIoU (in %) of the segmenter and of GrabCut, and the segmenter's seconds per object."""
    scores: dict[str, list[float]] = {"model": [], "grabcut": []}
    model_seconds = 0.0
    for image, mask, void, points in samples:
        started = time.perf_counter()
        scores["model"].append(data.iou(segment(image, points), mask, void))
        model_seconds += time.perf_counter() - started
        if with_grabcut:
            scores["grabcut"].append(data.iou(grabcut_mask(image, points), mask, void))
    result = {name: 100 * float(np.mean(v)) for name, v in scores.items() if v}
    result["frames"] = len(scores["model"])
    result["model_s_per_frame"] = model_seconds / max(1, len(scores["model"]))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the segmentation data root (for davis345)")
    parser.add_argument("--set", type=Path, help="score this folder (images/, masks/) instead of davis345")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--url", help="score a running worker at this base URL over HTTP instead of loading weights")
    parser.add_argument("--limit", type=int, help="only the first N images (a quick look)")
    parser.add_argument("--no-grabcut", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--flip-tta", action="store_true", help="average with the mirrored crop (the worker's default)")
    parser.add_argument("--refine", action="store_true", help="refine the outline on the image with GrabCut seeded by the network (the worker's default)")
    parser.add_argument("--refine-max-pixels", type=int, default=RefineSettings.max_pixels, help="the refinement's working size (WORKER_REFINE_MAX_PIXELS)")
    parser.add_argument("--instances", action="store_true", help="score each object on its own, not merged masks")
    parser.add_argument("--runtime", default="auto", choices=RUNTIMES, help="where the network runs (auto: ONNX Runtime on the CPU, as the worker)")
    parser.add_argument("--input-size", type=int, help="crop side to serve at instead of the one the weights record")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cv2.setRNGSeed(POINTS_SEED)  # GrabCut's k-means (baseline and refinement): the same figures on every run
    if args.url:
        segment, name = http_segmenter(args.url), f"the worker at {args.url}"
    else:
        refine = RefineSettings(max_pixels=args.refine_max_pixels) if args.refine else None
        predictor = Predictor.from_weights(args.weights, flip_tta=args.flip_tta, refine=refine, runtime=args.runtime, threads=args.threads)
        predictor.input_size = args.input_size or predictor.input_size
        segment = lambda image, points: model_mask(predictor, image, points)  # noqa: E731
        name = (f"model {predictor.name} at {predictor.input_size} px{' + flip TTA' if args.flip_tta else ''}"
                f"{' + GrabCut refinement' if args.refine else ''}")
    folder = args.set or args.data / "davis345"
    result = evaluate(segment, frames(folder, args.limit, args.instances), not args.no_grabcut)
    what = "objects, each on its own" if args.instances else "images, objects merged"
    print(f"{folder.name}: {result['frames']} {what}, extreme points seed {POINTS_SEED}")
    print(f"{name}: mIoU {result['model']:.2f}  ({1000 * result['model_s_per_frame']:.0f} ms/object)")
    if "grabcut" in result:
        print(f"OpenCV GrabCut ({GRABCUT_ITERATIONS} iterations, same points): mIoU {result['grabcut']:.2f}")


if __name__ == "__main__":
    main()
