"""Correction clicks: the simulated person's next click, and every click obeyed by the answer."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference_worker import clicks
from inference_worker.evaluate import polygons_mask
from inference_worker.postprocess import mask_to_polygons


def square(x0, y0, x1, y1, shape=(100, 120)):
    mask = np.zeros(shape, np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def test_the_next_click_goes_to_the_middle_of_the_largest_error():
    truth = square(10, 10, 90, 60)
    missed = truth.copy()
    missed[10:60, 50:90] = 0  # the right part is missing: 40 x 50
    x, y, positive = clicks.next_click(missed, truth)
    assert positive == 1 and 69 <= x <= 70 and 29 <= y <= 40  # 20 px from the region's every side
    false = truth | square(95, 70, 115, 95)  # a 20 x 25 false part beside the object
    x, y, positive = clicks.next_click(false, truth)
    assert positive == 0 and 104 <= x <= 105 and 79 <= y <= 85
    assert clicks.next_click(truth, truth) is None


def test_void_pixels_are_no_error_and_image_edges_count_as_borders():
    truth = square(0, 0, 30, 100)  # touches the left edge
    pred = np.zeros_like(truth)
    x, y, positive = clicks.next_click(pred, truth)
    assert positive == 1 and 14 <= x <= 15 and 14 <= y <= 85  # the middle of the strip, not its left edge
    assert clicks.next_click(pred, truth, void=truth) is None


def test_training_clicks_are_drawn_from_the_deep_part_of_the_error():
    truth = square(10, 10, 90, 60)
    drawn = {clicks.next_click(np.zeros_like(truth), truth, rng=np.random.default_rng(seed))[:2] for seed in range(20)}
    depth = clicks.error_depth(truth.astype(bool))
    assert len(drawn) > 5 and all(depth[y, x] >= depth.max() / 2 for x, y in drawn)


@pytest.mark.parametrize("made", [
    [[60, 35, 0]],  # a negative click in the middle of the object: a hole the outline must open
    [[110, 90, 1]],  # a positive click far from it: a part of its own
    [[60, 35, 0], [60, 35, 1]],  # the same pixel both ways: the later click wins
    [[20, 20, 0], [22, 22, 1], [90, 50, 0], [100, 95, 1]],
])
def test_every_click_is_obeyed_by_the_drawn_outline(made):
    mask = square(10, 10, 90, 60)
    made = np.array(made, dtype=np.float64)
    obeyed = clicks.honour(mask, made)
    drawn = polygons_mask(mask_to_polygons(obeyed, clicks=made), mask.shape)
    last = {(x, y): p for x, y, p in made.tolist()}  # per pixel, the latest click
    final = np.array([[x, y, p] for (x, y), p in last.items()])
    assert clicks.disagreements(drawn, final) == 0
    assert abs(int(drawn.sum()) - int(mask.sum())) < 0.05 * mask.sum()  # the rest of the object stays


def test_a_window_grows_to_hold_a_positive_click_outside_it():
    window = np.ones((10, 10), np.uint8)
    (grown,), offset = clicks.grow_to_hold([window], (20, 30), np.array([[5.0, 45.0, 1.0], [0.0, 0.0, 0.0]]), (100, 100))
    assert offset == (5, 30) and grown.shape == (16, 25) and grown.sum() == 100
    assert clicks.grow_to_hold([window], (20, 30), np.zeros((0, 3)), (100, 100))[1] == (20, 30)


def test_an_opened_hole_reaches_the_background_four_connected():
    mask = square(10, 10, 90, 60)
    opened = clicks.honour(mask, np.array([[40.0, 30.0, 0.0]]))
    background = np.pad(1 - opened, 1, constant_values=1)
    _, labels = cv2.connectedComponents(background, connectivity=4)
    assert labels[31, 41] == labels[0, 0]
