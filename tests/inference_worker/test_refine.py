"""Edge refinement: GrabCut seeded by the network's probabilities moves a blurry outline onto the edge."""
from __future__ import annotations

import cv2
import numpy as np

from inference_worker import data
from inference_worker.postprocess import threshold
from inference_worker.refine import RefineSettings, refine, refine_with_models, seeds

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


def test_the_colour_models_are_clustered_on_a_small_copy_and_learned_on_every_pixel():
    image, mask = disc_image(400, 300, (200, 150), 100)
    prob = blurry_guess(mask, 10, 6)
    small_start = refine(image, prob, RefineSettings(init_pixels=5_000))
    full_start = refine(image, prob, RefineSettings(init_pixels=0))
    assert data.iou(small_start, mask) > 0.97 and data.iou(small_start, full_start) > 0.99


def test_a_correction_starts_from_the_colour_models_of_the_four_point_answer():
    image, mask = disc_image(200, 160, (100, 80), 50)
    prob = blurry_guess(mask, 6, 4)
    first, models = refine_with_models(image, prob)
    assert models is not None and models.background.shape == models.foreground.shape == (1, 65)
    clicks = np.array([[100.0, 80.0, 1.0], [10.0, 10.0, 0.0]])
    kept = models.background.copy(), models.foreground.copy()
    again, learned = refine_with_models(image, prob, clicks=clicks, models=models)
    assert data.iou(again, mask) > 0.97 and again[80, 100] == 1 and again[10, 10] == 0
    assert learned is not None and np.array_equal(models.background, kept[0]) and np.array_equal(models.foreground, kept[1])  # kept for the next click
    assert refine_with_models(image, np.where(mask > 0, 0.7, 0.3).astype(np.float32))[1] is None  # GrabCut did not run


def test_a_correction_works_on_a_smaller_copy_than_the_four_point_answer(monkeypatch):
    sizes = []
    real = cv2.grabCut
    monkeypatch.setattr(cv2, "grabCut", lambda image, *args: (sizes.append(image.shape[0] * image.shape[1]), real(image, *args))[1])
    image, mask = disc_image(800, 600, (400, 300), 200)
    prob = blurry_guess(mask, 12, 8)
    settings = RefineSettings(max_pixels=40_000, init_pixels=0)
    refine(image, prob, settings)
    refine(image, prob, settings, clicks=np.array([[400.0, 300.0, 1.0]]))
    assert abs(sizes[0] - 40_000) < 1_000 and abs(sizes[1] - 0.75 * 40_000) < 1_000
