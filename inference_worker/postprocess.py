"""DEXTR post-processing: paste the crop's mask back into the image, threshold, trace contours."""

from __future__ import annotations

import cv2
import numpy as np

from inference_worker.preprocess import box_window, crop_transform

THRESHOLD = 0.5  # probability above which a pixel is the object
SIMPLIFY_EPSILON_PX = 1.0  # Douglas-Peucker tolerance of the returned outlines
MIN_REGION_AREA_PX = 4.0  # outer contours smaller than this are specks, not the object


def paste_back(prob: np.ndarray, box: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, int]]:
    """Resample the crop's probabilities onto the image pixels the box covers.

    Returns the probabilities over the box's window inside the image and the window's (x, y)
    offset; pixels outside the window are background, so they are never materialised.
    """
    x0, y0, x1, y1 = box_window(box, shape)
    local = np.asarray(box, dtype=np.float64) - [x0, y0, x0, y0]
    size = prob.shape[0]
    window = cv2.warpAffine(
        prob.astype(np.float32), crop_transform(local, size), (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
    ) if x1 > x0 and y1 > y0 else np.zeros((y1 - y0, x1 - x0), np.float32)
    return window, (x0, y0)


def threshold(prob: np.ndarray, level: float = THRESHOLD) -> np.ndarray:
    """Return the uint8 0/1 mask of the pixels above the threshold."""
    return (prob > level).astype(np.uint8)


def mask_to_polygons(mask: np.ndarray, offset: tuple[int, int] = (0, 0), epsilon: float = SIMPLIFY_EPSILON_PX) -> list[list[list[float]]]:
    """Return the simplified outer contours of a 0/1 mask as [[x, y], ...] lists, largest first."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE, offset=offset)
    contours = [c for c in contours if cv2.contourArea(c) >= MIN_REGION_AREA_PX or len(contours) == 1]
    contours.sort(key=cv2.contourArea, reverse=True)
    simplified = (cv2.approxPolyDP(c, epsilon, closed=True).reshape(-1, 2) for c in contours)
    return [p.astype(float).tolist() for p in simplified if len(p) >= 3]


def polygons_bbox(polygons: list[list[list[float]]]) -> list[float] | None:
    """Return [xmin, ymin, xmax, ymax] over all polygon vertices, or None when there are none."""
    if not polygons:
        return None
    points = np.concatenate([np.asarray(p) for p in polygons])
    return [*points.min(axis=0).tolist(), *points.max(axis=0).tolist()]


def mask_score(prob: np.ndarray, mask: np.ndarray) -> float:
    """Return the mean confidence of the pixel decisions inside the predicted mask (0 if empty)."""
    inside = prob[mask.astype(bool)]
    return float(inside.mean()) if inside.size else 0.0


def full_mask(window: np.ndarray, offset: tuple[int, int], shape: tuple[int, ...]) -> np.ndarray:
    """Place a window's 0/1 mask into an image-sized mask (evaluation and tests)."""
    out = np.zeros(shape[:2], dtype=np.uint8)
    x0, y0 = offset
    out[y0:y0 + window.shape[0], x0:x0 + window.shape[1]] = window
    return out
