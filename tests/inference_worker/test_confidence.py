"""The score: a clear object scores high, four clicks on plain background low."""
from __future__ import annotations

import numpy as np

from inference_worker import confidence
from inference_worker.extreme_points import extreme_points

from .conftest import disc_image


def test_measures_of_a_sharp_and_of_a_soft_answer():
    sharp = np.zeros((100, 100), np.float32)
    sharp[30:70, 30:70] = 0.99
    soft = np.full((100, 100), 0.45, np.float32)
    soft[35:65, 35:65] = 0.6
    hard, vague = confidence.measures(sharp, sharp > 0.5), confidence.measures(soft, soft > 0.5)
    assert hard[0] > 0.98 and hard[1] > 0.95 and hard[2] == 0
    assert vague[1] < 0.3 and vague[2] > 1
    assert confidence.score(hard) > confidence.LOW_SCORE > confidence.score(vague)
    assert confidence.measures(soft, np.zeros_like(soft, bool))[0] == 0


def test_an_object_is_not_flagged_and_plain_background_is(predictor):
    image, mask = disc_image()
    found = predictor.outline(image, extreme_points(mask, np.random.default_rng(0)))
    nothing = predictor.outline(image, np.array([[20.0, 420.0], [120.0, 420.0], [70.0, 380.0], [70.0, 470.0]]))
    assert not found.low_confidence and nothing.low_confidence
    assert found.score > nothing.score
