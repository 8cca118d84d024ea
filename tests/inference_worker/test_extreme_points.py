import numpy as np
import pytest

from inference_worker.extreme_points import extreme_points


def test_extreme_points_are_left_right_top_bottom():
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 8:22] = 1
    left, right, top, bottom = extreme_points(mask, np.random.default_rng(0))
    assert left[0] == 8 and right[0] == 21 and top[1] == 5 and bottom[1] == 14
    assert all(mask[int(y), int(x)] for x, y in (left, right, top, bottom))


def test_ties_are_broken_at_random_with_a_seed():
    mask = np.zeros((40, 40), np.uint8)
    mask[5:35, 5:35] = 1
    picks = {tuple(extreme_points(mask, np.random.default_rng(s))[0]) for s in range(10)}
    assert len(picks) > 1
    again = extreme_points(mask, np.random.default_rng(3)), extreme_points(mask, np.random.default_rng(3))
    assert np.array_equal(*again)


def test_jitter_moves_points_a_little_and_keeps_them_in_the_image():
    mask = np.zeros((20, 20), np.uint8)
    mask[0:20, 0:20] = 1
    plain = extreme_points(mask, np.random.default_rng(1))
    moved = extreme_points(mask, np.random.default_rng(1), jitter=4)
    assert np.abs(moved - plain).max() <= 4
    assert moved.min() >= 0 and moved.max() <= 19


def test_empty_mask_is_refused():
    with pytest.raises(ValueError):
        extreme_points(np.zeros((5, 5), np.uint8), np.random.default_rng(0))
