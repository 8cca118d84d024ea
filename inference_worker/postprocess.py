"""DEXTR post-processing: paste the crop's mask back into the image, threshold, trace contours."""

from __future__ import annotations

import cv2
import numpy as np

from inference_worker.preprocess import box_window, crop_transform

THRESHOLD = 0.5  # probability above which a pixel is the object
MIN_REGION_AREA_PX = 4.0  # outer contours smaller than this are specks, not the object
# Outlines a person can edit: each contour is simplified with the largest Douglas-Peucker
# tolerance whose polygon still covers the traced region with this IoU, its vertices moved onto
# lines fitted to the contour, which also smooths the pixel staircase (chosen on davis345: median
# 38 vertices, see MODEL_CARD.md).
MIN_OUTLINE_IOU = 0.9825
EPSILONS_PX = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0)

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


def mask_to_polygons(
    mask: np.ndarray, offset: tuple[int, int] = (0, 0), min_iou: float = MIN_OUTLINE_IOU, clicks: np.ndarray | None = None,
) -> list[list[list[float]]]:
    """Return the outer contours of a 0/1 mask as economical [[x, y], ...] polygons, largest first.

    Each polygon covers its traced region with at least `min_iou` (1: the exact pixel contour).
    With `clicks` (x, y, 1|0 in the image frame, already obeyed by the mask), a polygon that
    would contradict one of them once drawn is given as its exact contour instead."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE, offset=offset)
    contours = [c for c in contours if cv2.contourArea(c) >= MIN_REGION_AREA_PX or len(contours) == 1 or _holds_a_click(c, clicks)]
    contours.sort(key=cv2.contourArea, reverse=True)
    polygons = [simplify(c.reshape(-1, 2), min_iou) for c in contours]
    if clicks is not None and len(clicks):
        polygons = [p if _obeys(p, c.reshape(-1, 2), clicks) else c.reshape(-1, 2) for p, c in zip(polygons, contours)]
    return [p.astype(float).tolist() for p in polygons if len(p) >= 3]


def simplify(contour: np.ndarray, min_iou: float = MIN_OUTLINE_IOU) -> np.ndarray:
    """Return an integer polygon for a closed pixel contour: smooth, few vertices, IoU >= min_iou with its region."""
    if min_iou >= 1.0 or len(contour) < 8:
        return contour
    x0, y0 = contour.min(axis=0) - 1
    local = contour - [x0, y0]
    shape = tuple(int(v) + 2 for v in local.max(axis=0)[::-1])
    region = _fill(local, shape)
    candidate = _largest_tolerance(local, region, min_iou)
    return contour if candidate is None else candidate + [x0, y0]


def _largest_tolerance(path: np.ndarray, region: np.ndarray, min_iou: float) -> np.ndarray | None:
    """Binary-search EPSILONS_PX for the largest tolerance whose polygon keeps `min_iou`; None if none does."""
    found, lo, hi = None, 0, len(EPSILONS_PX) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        polygon = fit_vertices(path, EPSILONS_PX[mid])
        if len(polygon) >= 3 and _iou(_fill(polygon, region.shape), region) >= min_iou:
            found, lo = polygon, mid + 1
        else:
            hi = mid - 1
    return found


def fit_vertices(path: np.ndarray, epsilon: float) -> np.ndarray:
    """Return the integer polygon of Douglas-Peucker's breakpoints, each moved to where the lines
    fitted to its two neighbouring stretches of the path meet.

    Douglas-Peucker keeps points of the path, so its chords cut every convex bend short; a line
    fitted to the stretch between two breakpoints passes through the middle of the bend instead,
    and the polygon keeps the region's area with fewer vertices."""
    path = np.asarray(path, np.float64)
    index = _breakpoints(path, epsilon)
    if len(index) < 3:
        return np.round(path[index]).astype(np.int32)
    centres, directions = _fit_lines(path, index)
    previous_c, previous_d = np.roll(centres, 1, axis=0), np.roll(directions, 1, axis=0)
    cross = previous_d[:, 0] * directions[:, 1] - previous_d[:, 1] * directions[:, 0]
    safe = np.where(np.abs(cross) < 1e-3, 1.0, cross)
    delta = centres - previous_c
    t = (delta[:, 0] * directions[:, 1] - delta[:, 1] * directions[:, 0]) / safe
    meet = previous_c + t[:, None] * previous_d
    # where the lines are near parallel or meet far off (a sharp spike), the breakpoint stays
    keep = (np.abs(cross) >= 1e-3) & (np.hypot(*(meet - path[index]).T) <= 2 * epsilon + 1)
    return np.round(np.where(keep[:, None], meet, path[index])).astype(np.int32)


def _breakpoints(path: np.ndarray, epsilon: float) -> np.ndarray:
    """Return the indices of the path's points Douglas-Peucker keeps, in order."""
    kept = cv2.approxPolyDP(path.astype(np.float32).reshape(-1, 1, 2), epsilon, closed=True).reshape(-1, 2)
    keys = path[:, 0] * 1e6 + path[:, 1]
    order = np.argsort(keys, kind="stable")
    found = order[np.searchsorted(keys[order], kept[:, 0].astype(np.float64) * 1e6 + kept[:, 1])]
    return np.unique(found)


def _fit_lines(path: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the centre and unit direction of the least-squares line through each stretch of the
    closed path from one breakpoint to the next (both included), from running sums of moments."""
    n = len(path)
    doubled = np.concatenate([path, path])
    x, y = doubled[:, 0], doubled[:, 1]
    sums = np.vstack([np.zeros(6), np.cumsum(np.column_stack([np.ones(2 * n), x, y, x * x, y * y, x * y]), axis=0)])
    stop = np.roll(index, -1)
    stop = np.where(stop <= index, stop + n, stop) + 1  # exclusive end, going round once
    m = sums[stop] - sums[index]
    cx, cy = m[:, 1] / m[:, 0], m[:, 2] / m[:, 0]
    sxx, syy, sxy = m[:, 3] / m[:, 0] - cx * cx, m[:, 4] / m[:, 0] - cy * cy, m[:, 5] / m[:, 0] - cx * cy
    angle = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    return np.column_stack([cx, cy]), np.column_stack([np.cos(angle), np.sin(angle)])


def _fill(polygon: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Rasterise a polygon (vertices at pixel centres) as a client draws it."""
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.asarray(polygon, np.int32)], 1)
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def _holds_a_click(contour: np.ndarray, clicks: np.ndarray | None) -> bool:
    """Say whether a positive click lies in the contour's region (such a speck is kept)."""
    if clicks is None:
        return False
    return any(p and cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0 for x, y, p in np.asarray(clicks).reshape(-1, 3))


def _obeys(polygon: np.ndarray, contour: np.ndarray, clicks: np.ndarray) -> bool:
    """Say whether the polygon, drawn as a client draws it, agrees with the exact contour at every click."""
    points = np.round(np.asarray(clicks, dtype=np.float64).reshape(-1, 3)[:, :2]).astype(int)
    return bool(np.array_equal(_drawn_at(polygon, points), _drawn_at(contour, points)))


def _drawn_at(polygon: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Return 1 where a point's pixel is filled when the polygon is drawn (fillPoly, vertices at pixel centres), else 0."""
    x0, y0 = polygon.min(axis=0)
    x1, y1 = polygon.max(axis=0)
    drawn = _fill(polygon - [x0, y0], (int(y1 - y0) + 1, int(x1 - x0) + 1))
    inside = (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)
    out = np.zeros(len(points), np.uint8)
    out[inside] = drawn[points[inside, 1] - y0, points[inside, 0] - x0]
    return out


def polygons_bbox(polygons: list[list[list[float]]]) -> list[float] | None:
    """Return [xmin, ymin, xmax, ymax] over all polygon vertices, or None when there are none."""
    if not polygons:
        return None
    points = np.concatenate([np.asarray(p) for p in polygons])
    return [*points.min(axis=0).tolist(), *points.max(axis=0).tolist()]


def full_mask(window: np.ndarray, offset: tuple[int, int], shape: tuple[int, ...]) -> np.ndarray:
    """Place a window's 0/1 mask into an image-sized mask (evaluation and tests)."""
    out = np.zeros(shape[:2], dtype=np.uint8)
    x0, y0 = offset
    out[y0:y0 + window.shape[0], x0:x0 + window.shape[1]] = window
    return out
