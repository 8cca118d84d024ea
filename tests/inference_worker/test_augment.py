"""Training-sample augmentation: copy-paste onto another background keeps the object and its mask."""
from __future__ import annotations

import numpy as np

from inference_worker.augment import paste_onto, training_sample
from inference_worker.preprocess import INPUT_SIZE


def test_paste_keeps_the_object_and_replaces_the_background():
    image = np.full((40, 60, 3), 200, np.uint8)
    mask = np.zeros((40, 60), np.uint8)
    mask[10:30, 20:40] = 1
    background = np.zeros((80, 50, 3), np.uint8)  # another size: resized to the image's frame
    background[..., 2] = 90
    out, out_mask = paste_onto(image, mask, background, np.random.default_rng(0))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out_mask, mask)
    assert (out[15:25, 25:35] == 200).all()  # inside the object: untouched
    assert (out[0:5, 0:5] == [0, 0, 90]).all()  # far outside: the new background
    edge = out[10, 30]
    assert 0 < int(edge[0]) < 200  # the border is feathered, not a hard cut


def test_a_pasted_object_still_makes_a_valid_training_sample():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:44, 16:48] = 1
    pasted, pasted_mask = paste_onto(image, mask, rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), rng)
    x, y = training_sample(pasted, pasted_mask, rng)
    assert x.shape == (4, INPUT_SIZE, INPUT_SIZE) and y.shape == (1, INPUT_SIZE, INPUT_SIZE)
    assert 0.1 < float(y.mean()) < 0.9
