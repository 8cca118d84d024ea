"""Edge refinement: GrabCut seeded by the network's probabilities snaps the outline to colour edges.

The network sees the object through a fixed-size crop, so on large objects its outline is only
as sharp as the crop. GrabCut (OpenCV) works on the image's own pixels: pixels the network is
sure about are fixed as object or background, the uncertain band in between is decided by
colour models of both and the image's edges. It runs on the crop window, shrunk to at most
`max_pixels` so its cost stays bounded whatever the object's size; the colour models' first
clustering (k-means, a third of GrabCut's time at full size) runs on the window shrunk further,
to `init_pixels`, and the iterations then learn them from every pixel. A correction click on the
same object starts from the colour models its four-point answer ended with, so it skips the
clustering altogether, and works on a smaller copy (`click_share` of the pixels): it runs on
every click (davis345 figures in MODEL_CARD.md).
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
    iterations: int = 1  # GrabCut iterations for a four-point answer (2 read 0.04 mIoU higher on davis345, within noise, for 25 ms more)
    click_iterations: int = 2  # ... and for a correction, which starts from the four-point answer's colour models
    max_pixels: int = 80_000  # the window is shrunk to at most this many pixels first
    init_pixels: int = 20_000  # the colour models' k-means starts on at most this many (0: on all)
    click_share: float = 0.75  # a correction click's refinement works on this share of max_pixels (it runs on every click)
    click_radius_px: int = 3  # a correction click fixes a disc of this radius (working pixels) as sure object or background


def seeds(prob: np.ndarray, settings: RefineSettings) -> np.ndarray:
    """Return GrabCut's label map: sure and probable object/background from the probabilities."""
    labels = np.where(prob > 0.5, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[prob > settings.sure_object] = cv2.GC_FGD
    labels[prob < settings.sure_background] = cv2.GC_BGD
    return labels


@dataclass(frozen=True)
class ColourModels:
    """GrabCut's colour models (Gaussian mixtures of the background's and the object's colours)."""

    background: np.ndarray  # (1, 65) float64, OpenCV's layout
    foreground: np.ndarray


def refine(image: np.ndarray, prob: np.ndarray, settings: RefineSettings = RefineSettings(), clicks: np.ndarray | None = None) -> np.ndarray:
    """Return the 0/1 mask of the object over the window, the network's `prob` refined on `image`.

    `image` is the RGB window the probabilities cover (same height and width); `clicks` (x, y,
    1|0 in the window's pixels) are sure object or background, in the order made. When GrabCut
    has nothing to learn from (no sure object or no sure background pixels, or a window too
    small), the plain thresholded mask is returned.
    """
    return refine_with_models(image, prob, settings, clicks)[0]


def refine_with_models(
    image: np.ndarray, prob: np.ndarray, settings: RefineSettings = RefineSettings(), clicks: np.ndarray | None = None,
    models: ColourModels | None = None,
) -> tuple[np.ndarray, ColourModels | None]:
    """Return `refine`'s mask and the colour models GrabCut ended with (None when it did not run);
    with `models` (e.g. those of the object's four-point answer) GrabCut starts from them instead
    of clustering the window's colours."""
    height, width = prob.shape
    plain = threshold(prob)
    clicks = np.asarray(clicks if clicks is not None else np.zeros((0, 3)), dtype=np.float64).reshape(-1, 3)
    budget = settings.max_pixels * (settings.click_share if len(clicks) else 1.0)
    iterations = settings.click_iterations if len(clicks) else settings.iterations
    scale = min(1.0, (budget / max(1, height * width)) ** 0.5)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if min(size) < 8:
        return plain, None
    bgr = np.ascontiguousarray(image[..., ::-1])
    small_prob = prob
    if scale < 1.0:
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        small_prob = cv2.resize(prob, size, interpolation=cv2.INTER_LINEAR)
    labels = seeds(small_prob, settings)
    for x, y, positive in clicks:
        centre = (int(round(x * scale)), int(round(y * scale)))
        cv2.circle(labels, centre, settings.click_radius_px, cv2.GC_FGD if positive else cv2.GC_BGD, -1)
    if not (labels == cv2.GC_FGD).any() or not (labels == cv2.GC_BGD).any():
        return plain, None
    try:
        learned = grabcut(bgr, labels, iterations, settings.init_pixels, models)
    except cv2.error:  # e.g. a colour model it cannot fit: keep the network's answer
        return plain, None
    decided = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    if scale < 1.0:
        decided = cv2.resize(decided, (width, height), interpolation=cv2.INTER_LINEAR)
    return (decided > 0.5).astype(np.uint8), learned


def grabcut(bgr: np.ndarray, labels: np.ndarray, iterations: int, init_pixels: int = 0, models: ColourModels | None = None) -> ColourModels:
    """Run GrabCut's iterations on the label map in place and return its final colour models:
    from `models` when given, else clustered first (on a smaller copy of the window when it is
    larger than `init_pixels`)."""
    if models is not None:
        background, foreground = models.background.copy(), models.foreground.copy()
        cv2.grabCut(bgr, labels, None, background, foreground, iterations, cv2.GC_EVAL)
        return ColourModels(background, foreground)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    height, width = labels.shape
    scale = (init_pixels / (height * width)) ** 0.5 if init_pixels else 1.0
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
        try:  # too few pixels of a kind to cluster in the small copy: cluster them all below
            cv2.grabCut(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), small, None, background, foreground, 0, cv2.GC_INIT_WITH_MASK)
        except cv2.error:
            pass
        else:
            cv2.grabCut(bgr, labels, None, background, foreground, iterations, cv2.GC_EVAL)
            return ColourModels(background, foreground)
    cv2.grabCut(bgr, labels, None, background, foreground, iterations, cv2.GC_INIT_WITH_MASK)
    return ColourModels(background, foreground)
