"""The click head: zero at the start (the four-point answer kept), click maps where the clicks are."""
from __future__ import annotations

import numpy as np
import torch

from inference_worker.clicknet import ClickHead, click_maps
from inference_worker.memo import Memo, image_key, points_key


def test_an_untrained_head_answers_the_base_logits():
    torch.manual_seed(0)
    features, logits = torch.randn(2, 64, 16, 16), torch.randn(2, 1, 64, 64)
    maps = click_maps(features, [np.array([[10, 20, 1]]), np.zeros((0, 3))], 64)
    out = ClickHead(64)(features, logits, (logits > 0).float(), maps)
    assert torch.equal(out, logits)


def test_click_maps_peak_at_the_clicks_and_likeness_is_one_there():
    features = torch.randn(1, 8, 16, 16)
    maps = click_maps(features, [np.array([[34.0, 10.0, 1], [2.0, 60.0, 0]])], 64)
    assert maps.shape == (1, 4, 16, 16)
    assert np.unravel_index(int(maps[0, 0].argmax()), (16, 16)) == (2, 8)  # row 2, column 8 at stride 4
    assert np.unravel_index(int(maps[0, 1].argmax()), (16, 16)) == (15, 0)
    assert abs(float(maps[0, 2, 2, 8]) - 1) < 1e-5 and float(maps[0, 2].max()) <= 1 + 1e-5


def test_the_memo_keeps_the_most_recently_used():
    memo = Memo(2)
    memo.put("a", 1), memo.put("b", 2), memo.get("a"), memo.put("c", 3)
    assert memo.get("b") is None and memo.get("a") == 1 and memo.get("c") == 3
    image = np.zeros((4, 5, 3), np.uint8)
    other = image.copy()
    other[0, 0, 0] = 1
    assert image_key(image) == image_key(image.copy()) != image_key(other)
    assert points_key([[1.001, 2]]) == points_key(np.array([1.0, 2.0])) == (1.0, 2.0)
