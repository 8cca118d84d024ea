"""The box prompt: four extreme points for the object in a box [xmin, ymin, xmax, ymax].

An object fills its tight box, so it touches each side somewhere; where is unknown. A first pass
of the four-point networks from the middles of the sides gives the object's probabilities; on
each side, the point the object most surely touches (highest probability in a thin band along
that side) becomes that side's extreme point for the real pass.
"""

from __future__ import annotations

import numpy as np

SIDE_BAND_FRACTION = 0.04  # the band along each side searched for the touching point, as a fraction of the box's other side
MIN_BAND_PX = 2


def box_pixels(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Return the first and last pixel columns and rows the box covers, inside the image."""
    h, w = shape[:2]
    x0, y0, x1, y1 = np.asarray(box, dtype=np.float64)
    left, top = int(np.clip(np.floor(x0), 0, w - 1)), int(np.clip(np.floor(y0), 0, h - 1))
    right, bottom = int(np.clip(np.ceil(x1) - 1, left, w - 1)), int(np.clip(np.ceil(y1) - 1, top, h - 1))
    return left, top, right, bottom


def box_midpoints(box: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Return the middles of the box's left, right, top and bottom sides as (4, 2) pixel points."""
    left, top, right, bottom = box_pixels(box, shape)
    cx, cy = (left + right) // 2, (top + bottom) // 2
    return np.array([[left, cy], [right, cy], [cx, top], [cx, bottom]], dtype=np.float64)


def touching_points(window: np.ndarray, offset: tuple[int, int], box: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Return, per side, the pixel on that side where the probabilities near it are highest."""
    left, top, right, bottom = box_pixels(box, shape)
    full = np.zeros(shape[:2], np.float32)
    x0, y0 = offset
    full[y0:y0 + window.shape[0], x0:x0 + window.shape[1]] = window
    inner = full[top:bottom + 1, left:right + 1]
    bx = max(MIN_BAND_PX, round(SIDE_BAND_FRACTION * inner.shape[1]))
    by = max(MIN_BAND_PX, round(SIDE_BAND_FRACTION * inner.shape[0]))
    rows_left, rows_right = inner[:, :bx].max(axis=1), inner[:, -bx:].max(axis=1)
    cols_top, cols_bottom = inner[:by].max(axis=0), inner[-by:].max(axis=0)
    return np.array([
        [left, top + _middle_of_best(rows_left)], [right, top + _middle_of_best(rows_right)],
        [left + _middle_of_best(cols_top), top], [left + _middle_of_best(cols_bottom), bottom],
    ], dtype=np.float64)


def _middle_of_best(values: np.ndarray) -> int:
    """Return the index in the middle of the run of values nearest the maximum (ties: the middle one)."""
    best = np.flatnonzero(values >= values.max() - 1e-3)
    return int(best[len(best) // 2])
