"""Extreme points of a mask, as DEXTR takes them: leftmost, rightmost, topmost, bottommost."""

from __future__ import annotations

import numpy as np

TRAIN_JITTER_PX = 4  # DEXTR jitters the simulated clicks by a few pixels when training


def extreme_points(mask: np.ndarray, rng: np.random.Generator, jitter: float = 0.0) -> np.ndarray:
    """Return [left, right, top, bottom] as a (4, 2) float array of (x, y); ties broken at random."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        raise ValueError("the mask is empty")
    points = np.array([
        _pick(xs, ys, xs == xs.min(), rng),
        _pick(xs, ys, xs == xs.max(), rng),
        _pick(xs, ys, ys == ys.min(), rng),
        _pick(xs, ys, ys == ys.max(), rng),
    ], dtype=np.float64)
    if jitter > 0:
        points = _jitter(points, mask.shape, rng, jitter)
    return points


def _pick(xs: np.ndarray, ys: np.ndarray, ties: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """Pick one of the tied pixels at random."""
    i = rng.choice(np.flatnonzero(ties))
    return xs[i], ys[i]


def _jitter(points: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator, jitter: float) -> np.ndarray:
    """Move each point by up to `jitter` pixels, staying on the image."""
    h, w = shape[:2]
    moved = points + rng.uniform(-jitter, jitter, size=points.shape)
    return np.clip(np.round(moved), 0, [w - 1, h - 1])
