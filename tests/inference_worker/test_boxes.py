"""The box prompt: the sides' middles first, then where the object touches each side."""
from __future__ import annotations

import numpy as np

from inference_worker import boxes


def test_midpoints_and_touching_points_of_a_box():
    box = np.array([10.0, 20.0, 61.0, 81.0])
    assert boxes.box_midpoints(box, (100, 100)).tolist() == [[10, 50], [60, 50], [35, 20], [35, 80]]
    prob = np.zeros((100, 100), np.float32)
    prob[20:81, 10:61] = 0.2
    prob[70, 10], prob[25, 60], prob[20, 15], prob[80, 55] = 0.9, 0.9, 0.9, 0.9  # where the object touches
    window = prob[5:95, 5:95]
    assert boxes.touching_points(window, (5, 5), box, (100, 100)).tolist() == [[10, 70], [60, 25], [15, 20], [55, 80]]


def test_a_box_past_the_image_is_clipped_to_its_pixels():
    assert boxes.box_pixels(np.array([-5.0, -5.0, 300.0, 50.5]), (40, 100)) == (0, 0, 99, 39)
