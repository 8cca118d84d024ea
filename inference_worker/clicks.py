"""Correction clicks: the standard next-click protocol, and honouring every click in a mask.

A click is (x, y, positive) in image pixels: positive (1) means "this pixel is the object",
negative (0) "it is not". Pure numpy/OpenCV functions, shared by the worker, the evaluation and
training.
"""

from __future__ import annotations

import cv2
import numpy as np

HONOUR_RADIUS_PX = 2  # a click the mask disagrees with is forced with a disc of this radius
MIN_ERROR_DEPTH_PX = 1.0  # an error region thinner than this has no point worth clicking


def error_depth(error: np.ndarray) -> np.ndarray:
    """Return each error pixel's distance to the nearest pixel outside the error (image edges count as outside)."""
    padded = np.pad(error.astype(np.uint8), 1)
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]


def next_click(pred: np.ndarray, truth: np.ndarray, void: np.ndarray | None = None, rng: np.random.Generator | None = None) -> tuple[int, int, int] | None:
    """Return the next corrective click (x, y, 1|0) for a predicted 0/1 mask, or None when nothing is left to fix.

    The standard protocol (as in RITM and f-BRS): the click goes to the point of the error farthest
    from the error's border, positive on a missed part, negative on a false part, whichever is
    deeper. With `rng` (training) it is drawn among the points at least half as deep, so the
    model also sees the clicks of a less careful person.
    """
    keep = np.ones(pred.shape, bool) if void is None else ~void.astype(bool)
    pred, truth = pred.astype(bool), truth.astype(bool)
    missed, false = error_depth(truth & ~pred & keep), error_depth(pred & ~truth & keep)
    depth, positive = (missed, 1) if missed.max() >= false.max() else (false, 0)
    deepest = float(depth.max())
    if deepest < MIN_ERROR_DEPTH_PX:
        return None
    if rng is None:
        y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    else:
        ys, xs = np.nonzero(depth >= deepest / 2)
        i = int(rng.integers(len(xs)))
        y, x = ys[i], xs[i]
    return int(x), int(y), positive


def honour(mask: np.ndarray, clicks: np.ndarray, offset: tuple[int, int] = (0, 0), radius: int = HONOUR_RADIUS_PX) -> np.ndarray:
    """Return the 0/1 window mask with every click obeyed, even where the network disagrees.

    A positive click on a background pixel adds a small disc there, a negative click on an object
    pixel removes one (in the order made, so a later disc wins); then each click's own pixel is
    set, and a negative click left inside the object (a hole, which an outer outline would fill)
    is joined to the background by a 1-pixel cut. Clicks outside the window are the caller's
    (the predictor grows the window to hold every positive click).
    """
    out = mask.astype(np.uint8).copy()
    inside = [(cx, cy, int(p)) for cx, cy, p in _window_clicks(clicks, offset) if 0 <= cx < out.shape[1] and 0 <= cy < out.shape[0]]
    for cx, cy, positive in inside:
        if out[cy, cx] != positive:
            cv2.circle(out, (cx, cy), radius, positive, -1)
    for cx, cy, positive in inside:
        out[cy, cx] = positive
    for cx, cy, positive in inside:
        if not positive and out[cy, cx] == 0:  # a later positive click on the same pixel won
            _open_hole(out, cx, cy)
    return out


def _window_clicks(clicks: np.ndarray, offset: tuple[int, int]) -> list[tuple[int, int, int]]:
    """Return the clicks as integer (x, y, positive) in the window's frame."""
    x0, y0 = offset
    return [(int(round(x)) - x0, int(round(y)) - y0, int(p)) for x, y, p in np.asarray(clicks, dtype=np.float64).reshape(-1, 3)]


def _open_hole(mask: np.ndarray, cx: int, cy: int) -> None:
    """Cut a 1-pixel path from background pixel (cx, cy) to the background around the object, when it is enclosed."""
    padded = np.pad(1 - mask, 1, constant_values=1)
    _, labels = cv2.connectedComponents(padded, connectivity=4)
    if labels[cy + 1, cx + 1] == labels[0, 0]:
        return
    h, w = mask.shape
    ys, xs = np.nonzero(labels == labels[0, 0])  # the padded frame: the window's edge is background too
    nearest = int(np.argmin((xs - 1 - cx) ** 2 + (ys - 1 - cy) ** 2))
    tx, ty = int(np.clip(xs[nearest] - 1, 0, w - 1)), int(np.clip(ys[nearest] - 1, 0, h - 1))
    cv2.line(mask, (cx, cy), (tx, ty), 0, 1, lineType=4)  # 4-connected, so the background joins up as outlines see it


def disagreements(mask: np.ndarray, clicks: np.ndarray, offset: tuple[int, int] = (0, 0)) -> int:
    """Return how many clicks a full-frame or window 0/1 mask does not obey (tests and checks)."""
    x0, y0 = offset
    wrong = 0
    for x, y, positive in np.asarray(clicks, dtype=np.float64).reshape(-1, 3):
        cx, cy = int(round(x)) - x0, int(round(y)) - y0
        inside = 0 <= cx < mask.shape[1] and 0 <= cy < mask.shape[0]
        wrong += int((int(mask[cy, cx]) if inside else 0) != int(positive))
    return wrong


def grow_to_hold(windows: list[np.ndarray], offset: tuple[int, int], clicks: np.ndarray, shape: tuple[int, ...]) -> tuple[list[np.ndarray], tuple[int, int]]:
    """Return same-frame window arrays padded with zeros so every positive click lies inside them, and the new offset."""
    x0, y0 = offset
    h, w = windows[0].shape[:2]
    positive = np.asarray(clicks, dtype=np.float64).reshape(-1, 3)
    positive = np.round(positive[positive[:, 2] > 0, :2]).astype(int)
    if not len(positive):
        return windows, offset
    nx0, ny0 = min(x0, int(positive[:, 0].min())), min(y0, int(positive[:, 1].min()))
    nx1, ny1 = max(x0 + w, int(positive[:, 0].max()) + 1), max(y0 + h, int(positive[:, 1].max()) + 1)
    nx0, ny0, nx1, ny1 = max(0, nx0), max(0, ny0), min(shape[1], nx1), min(shape[0], ny1)
    if (nx0, ny0, nx1, ny1) == (x0, y0, x0 + w, y0 + h):
        return windows, offset
    pads = ((y0 - ny0, ny1 - y0 - h), (x0 - nx0, nx1 - x0 - w))
    return [np.pad(a, pads) for a in windows], (nx0, ny0)
