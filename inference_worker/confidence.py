"""The answer's score: how sure the worker is that the prompt outlines a clear object.

The mean probability inside the mask alone reads 0.93 for four clicks on empty background: the
network always paints some blob. What tells a blob from an object is how decided the network is
around it: a real object has a thin band of uncertain pixels along a sharp edge, a blob a wide
soft one. The score is a logistic model of a few such measures of the crop's probabilities,
fitted by `python -m inference_worker.calibrate` on objects of davis345 against prompts on its
background (figures in MODEL_CARD.md); below LOW_SCORE the answer says `low_confidence`.
"""

from __future__ import annotations

import numpy as np

# Fitted by inference_worker.calibrate (see MODEL_CARD.md); the order is that of `measures`.
COEFFICIENTS = (7.047, 18.657, -0.053, -8.132)
INTERCEPT = -18.973
LOW_SCORE = 0.5
UNSURE = (0.1, 0.9)  # a probability between these is undecided
NAMES = ("inside", "decided", "band", "fill")


def measures(prob: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return the score's inputs for a window of probabilities and its 0/1 mask.

    inside: mean probability of the mask's pixels; decided: mean |2p - 1| over the window;
    band: undecided pixels per pixel of the mask's outline (the edge's softness, in pixels);
    fill: the mask's share of the window."""
    inside = mask.astype(bool)
    if not inside.any():
        return np.array([0.0, float(np.abs(2 * prob - 1).mean()) if prob.size else 0.0, 10.0, 0.0])
    undecided = np.count_nonzero((prob > UNSURE[0]) & (prob < UNSURE[1]))
    outline = np.count_nonzero(inside ^ _eroded(inside))
    return np.array([
        float(prob[inside].mean()), float(np.abs(2 * prob - 1).mean()), undecided / max(1, outline), float(inside.mean()),
    ])


def score(values: np.ndarray) -> float:
    """Return the calibrated probability that the answer outlines a clear object."""
    z = INTERCEPT + float(np.dot(COEFFICIENTS, values))
    return float(1 / (1 + np.exp(-np.clip(z, -30, 30))))


def is_low(value: float) -> bool:
    """Say whether a score means "no clear object here"."""
    return value < LOW_SCORE


def _eroded(mask: np.ndarray) -> np.ndarray:
    """Return the mask without its outermost pixels (4-neighbourhood)."""
    out = mask.copy()
    out[1:] &= mask[:-1]
    out[:-1] &= mask[1:]
    out[:, 1:] &= mask[:, :-1]
    out[:, :-1] &= mask[:, 1:]
    return out
