"""Edge refinement: GrabCut seeded by the network's probabilities snaps the outline to colour edges.

The network sees the object through a fixed-size crop, so on large objects its outline is only
as sharp as the crop. GrabCut (OpenCV) works on the image's own pixels: pixels the network is
sure about are fixed as object or background, the uncertain band in between is decided by
colour models of both and the image's edges. It runs on the crop window, shrunk to at most
`max_pixels` so its cost stays bounded whatever the object's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inference_worker.postprocess import threshold


@dataclass(frozen=True)
class RefineSettings:
    """How the probabilities seed GrabCut, and how much work it may do."""

    sure_background: float = 0.1  # below this the network's "background" is kept as is
    sure_object: float = 0.9  # above this its "object" is kept as is
    iterations: int = 2
    max_pixels: int = 80_000  # the window is shrunk to at most this many pixels first
    click_radius_px: int = 3  # a correction click fixes a disc of this radius (working pixels) as sure object or background


def seeds(prob: np.ndarray, settings: RefineSettings) -> np.ndarray:
    """Return GrabCut's label map: sure and probable object/background from the probabilities."""
    labels = np.where(prob > 0.5, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[prob > settings.sure_object] = cv2.GC_FGD
    labels[prob < settings.sure_background] = cv2.GC_BGD
    return labels


def refine(image: np.ndarray, prob: np.ndarray, settings: RefineSettings = RefineSettings(), clicks: np.ndarray | None = None) -> np.ndarray:
    """Return the 0/1 mask of the object over the window, the network's `prob` refined on `image`.

    `image` is the RGB window the probabilities cover (same height and width); `clicks` (x, y,
    1|0 in the window's pixels) are sure object or background, in the order made. When GrabCut
    has nothing to learn from (no sure object or no sure background pixels, or a window too
    small), the plain thresholded mask is returned.
    """
    height, width = prob.shape
    plain = threshold(prob)
    scale = min(1.0, (settings.max_pixels / max(1, height * width)) ** 0.5)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if min(size) < 8:
        return plain
    bgr = np.ascontiguousarray(image[..., ::-1])
    small_prob = prob
    if scale < 1.0:
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        small_prob = cv2.resize(prob, size, interpolation=cv2.INTER_LINEAR)
    labels = seeds(small_prob, settings)
    for x, y, positive in np.asarray(clicks if clicks is not None else np.zeros((0, 3)), dtype=np.float64).reshape(-1, 3):
        centre = (int(round(x * scale)), int(round(y * scale)))
        cv2.circle(labels, centre, settings.click_radius_px, cv2.GC_FGD if positive else cv2.GC_BGD, -1)
    if not (labels == cv2.GC_FGD).any() or not (labels == cv2.GC_BGD).any():
        return plain
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(bgr, labels, None, background, foreground, settings.iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # e.g. a colour model it cannot fit: keep the network's answer
        return plain
    decided = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    if scale < 1.0:
        decided = cv2.resize(decided, (width, height), interpolation=cv2.INTER_LINEAR)
    return (decided > 0.5).astype(np.uint8)
