"""Reading the segmentation sets' masks: merged and per-object davis masks, void pixels."""
from __future__ import annotations

import numpy as np
from PIL import Image

from inference_worker import data


def palette_mask(tmp_path, ids: np.ndarray):
    image = Image.fromarray(ids.astype(np.uint8), mode="P")
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [200, 200, 200] * 253)
    path = tmp_path / "mask.png"
    image.save(path)
    return path


def test_instance_masks_are_one_per_object_id_and_void_is_apart(tmp_path):
    ids = np.zeros((6, 8), np.uint8)
    ids[1:3, 1:3] = 1
    ids[3:5, 4:7] = 2
    ids[0, 7] = 255
    masks, void = data.read_instance_masks(palette_mask(tmp_path, ids))
    assert [int(m.sum()) for m in masks] == [4, 6]
    assert masks[0][1, 1] == 1 and masks[0][3, 4] == 0 and masks[1][3, 4] == 1
    assert int(void.sum()) == 1 and void[0, 7] == 1
    merged, merged_void = data.read_merged_mask(palette_mask(tmp_path, ids))
    assert int(merged.sum()) == 10 and np.array_equal(merged_void, void)


def test_iou_ignores_void_pixels():
    truth = np.zeros((4, 4), np.uint8)
    truth[:2, :2] = 1
    pred = truth.copy()
    pred[3, 3] = 1
    void = np.zeros_like(truth)
    void[3, 3] = 1
    assert data.iou(pred, truth) == 4 / 5
    assert data.iou(pred, truth, void) == 1.0
