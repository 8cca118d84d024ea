"""Edge refinement: GrabCut seeded by the network's probabilities moves a blurry outline onto the edge."""
from __future__ import annotations

import cv2
import numpy as np

from inference_worker import data
from inference_worker.postprocess import threshold
from inference_worker.refine import RefineSettings, refine, seeds

from .conftest import disc_image


def blurry_guess(mask: np.ndarray, shift: int, blur: int) -> np.ndarray:
    """A network-like probability map: the object shifted by `shift` px and blurred."""
    moved = np.roll(mask.astype(np.float32), shift, axis=1)
    return cv2.GaussianBlur(moved, (0, 0), blur)


def test_seeds_fix_sure_pixels_and_leave_the_band_probable():
    prob = np.array([[0.02, 0.3, 0.6, 0.97]], np.float32)
    assert seeds(prob, RefineSettings()).tolist() == [[cv2.GC_BGD, cv2.GC_PR_BGD, cv2.GC_PR_FGD, cv2.GC_FGD]]


def test_a_shifted_blurry_guess_is_pulled_onto_the_objects_edge():
    image, mask = disc_image(200, 160, (100, 80), 50)
    prob = blurry_guess(mask, 6, 4)
    before = data.iou(threshold(prob), mask)
    after = refine(image, prob)
    assert after.shape == mask.shape and after.dtype == np.uint8
    assert data.iou(after, mask) > before + 0.03
    assert data.iou(after, mask) > 0.97


def test_a_large_window_is_refined_on_a_shrunk_copy_and_answered_at_full_size():
    image, mask = disc_image(1200, 900, (600, 450), 300)
    prob = blurry_guess(mask, 25, 12)
    after = refine(image, prob, RefineSettings(max_pixels=20_000))
    assert after.shape == mask.shape
    assert data.iou(after, mask) > data.iou(threshold(prob), mask) + 0.02


def test_nothing_sure_to_learn_from_keeps_the_thresholded_guess():
    image, mask = disc_image(120, 100, (60, 50), 30)
    unsure = np.where(mask > 0, 0.7, 0.3).astype(np.float32)  # no pixel is sure either way
    assert np.array_equal(refine(image, unsure), threshold(unsure))
    tiny = refine(image[:5, :5], np.full((5, 5), 0.95, np.float32))
    assert tiny.tolist() == np.ones((5, 5), np.uint8).tolist()
