"""evaluate scores what a client gets: the answered polygons drawn back into a mask."""
from __future__ import annotations

import numpy as np

from inference_worker import data
from inference_worker.evaluate import polygons_mask
from inference_worker.postprocess import mask_to_polygons

from .conftest import disc_image


def test_polygon_vertices_are_pixel_centres_and_their_pixels_count():
    mask = polygons_mask([[[2, 2], [5, 2], [5, 5], [2, 5]]], (8, 8, 3))
    assert mask.sum() == 16 and mask[2, 2] == 1 and mask[5, 5] == 1 and mask[6, 6] == 0


def test_outlines_of_a_mask_draw_back_to_nearly_the_same_mask():
    _, mask = disc_image(200, 160, (90, 80), 50)
    ring = mask.copy()
    ring[75:85, 85:95] = 0  # a hole: the answer holds outer contours only, so it comes back filled
    drawn = polygons_mask(mask_to_polygons(ring, (0, 0)), mask.shape)
    assert data.iou(drawn, mask) > 0.99
    assert drawn[80, 90] == 1
