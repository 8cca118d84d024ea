"""Fit the answer's score (`confidence.py`): `python -m inference_worker.calibrate`.

Objects: every `--every`-th davis345 frame, each object on its own from its extreme points.
Background prompts: in the same frames, a box the size of one of its objects placed where no
object is (under 2 % of its pixels), prompted by the middles of its sides, as a person clicking
four points on nothing would. A logistic regression on `confidence.measures` is fitted on the
even frames and checked on the odd ones; the command prints the coefficients to put in
`confidence.py` and how both halves fare at LOW_SCORE.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from inference_worker import confidence, data
from inference_worker.boxes import box_midpoints
from inference_worker.extreme_points import extreme_points
from inference_worker.predictor import DEFAULT_WEIGHTS, Predictor
from inference_worker.preprocess import points_bbox
from inference_worker.refine import RefineSettings
from inference_worker.train import DEFAULT_DATA

SEED = 0
MAX_OBJECT_OVERLAP = 0.02
L2 = 1e-2


def background_box(ids: np.ndarray, size: tuple[float, float], rng: np.random.Generator) -> np.ndarray | None:
    """Return a box of `size` (w, h) over no object, or None when 50 tries find none."""
    h, w = ids.shape
    bw, bh = min(size[0], w - 2), min(size[1], h - 2)
    for _ in range(50):
        x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        window = ids[int(y0):int(y0 + bh), int(x0):int(x0 + bw)]
        if window.size and np.count_nonzero(window) <= MAX_OBJECT_OVERLAP * window.size:
            return np.array([x0, y0, x0 + bw, y0 + bh])
    return None


def samples(root: Path, every: int, predictor: Predictor) -> list[tuple[int, int, np.ndarray]]:
    """Return (frame index, 1 object | 0 background, measures) rows."""
    rng = np.random.default_rng(SEED)
    rows = []
    for index, pair in enumerate(data.pairs(root / "davis345")[::every]):
        objects, _ = data.read_instance_masks(pair.mask)
        image, ids = data.read_rgb(pair.image), np.asarray(data.read_merged_mask(pair.mask)[0])
        for mask in objects:
            if mask.sum() < 100:
                continue
            points = extreme_points(mask, rng)
            rows.append((index, 1, predictor.outline(image, points).measures))
            box = background_box(ids, tuple(np.diff(points_bbox(points).reshape(2, 2), axis=0)[0]), rng)
            if box is not None:
                rows.append((index, 0, predictor.outline(image, box_midpoints(box, image.shape)).measures))
    return rows


def fit(x: np.ndarray, y: np.ndarray, steps: int = 50) -> np.ndarray:
    """Return logistic-regression weights (intercept first) by Newton's method with a little L2."""
    a = np.column_stack([np.ones(len(x)), x])
    w = np.zeros(a.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(a @ w, -30, 30)))
        gradient = a.T @ (p - y) + L2 * np.r_[0, w[1:]]
        hessian = (a * (p * (1 - p))[:, None]).T @ a + L2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    return w


def report(name: str, scores: np.ndarray, y: np.ndarray) -> str:
    """Describe how a score separates objects from background at LOW_SCORE."""
    low = scores < confidence.LOW_SCORE
    return (f"{name}: objects flagged low {np.mean(low[y == 1]):.1%} of {np.sum(y == 1)}, background flagged low "
            f"{np.mean(low[y == 0]):.1%} of {np.sum(y == 0)}; median score objects {np.median(scores[y == 1]):.3f}, "
            f"background {np.median(scores[y == 0]):.3f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--every", type=int, default=3, help="every N-th davis345 frame")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cv2.setRNGSeed(SEED)
    predictor = Predictor.from_weights(args.weights, flip_tta=True, refine=RefineSettings(), threads=args.threads, clicks=False)
    rows = samples(args.data, args.every, predictor)
    frame = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows], dtype=np.float64)
    x = np.stack([r[2] for r in rows])
    train, test = frame % 2 == 0, frame % 2 == 1
    w = fit(x[train], y[train])
    fitted = lambda rows_x: 1 / (1 + np.exp(-np.clip(w[0] + rows_x @ w[1:], -30, 30)))  # noqa: E731
    print(f"{len(rows)} prompts on {len(set(frame.tolist()))} davis345 frames; measures {', '.join(confidence.NAMES)}")
    print(f"COEFFICIENTS = ({', '.join(f'{v:.3f}' for v in w[1:])})\nINTERCEPT = {w[0]:.3f}")
    print(report("before (mean probability inside the mask), held-out half", x[test, 0], y[test]))
    print(report("fitted score, fitting half", fitted(x[train]), y[train]))
    print(report("fitted score, held-out half", fitted(x[test]), y[test]))


if __name__ == "__main__":
    main()
