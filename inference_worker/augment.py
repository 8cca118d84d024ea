"""Training samples: augmentation of whole images and of crops, and the DEXTR sample recipe."""

from __future__ import annotations

import cv2
import numpy as np

from inference_worker.extreme_points import TRAIN_JITTER_PX, extreme_points
from inference_worker.preprocess import (
    INPUT_SIZE,
    RELAX_FRACTION,
    crop_resize,
    network_input,
    point_heatmap,
    points_bbox,
    points_to_crop,
    relax_box,
)

MAX_ROTATION_DEG = 15.0
SCALE_RANGE = (0.75, 1.25)  # whole-image zoom: changes how much detail the crop holds
RELAX_JITTER = 0.05  # the crop margin varies by this much around RELAX_FRACTION
BRIGHTNESS = 0.25
CONTRAST = 0.25
SATURATION = 0.3


def flip(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mirror image and mask left-right half of the time."""
    if rng.random() < 0.5:
        return image[:, ::-1].copy(), mask[:, ::-1].copy()
    return image, mask


def rotate_scale(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Rotate and zoom image and mask by a random small amount about the mask's centre."""
    ys, xs = np.nonzero(mask)
    centre = (float(xs.mean()), float(ys.mean()))
    angle = rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)
    matrix = cv2.getRotationMatrix2D(centre, angle, rng.uniform(*SCALE_RANGE))
    h, w = mask.shape
    image = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    mask = cv2.warpAffine(mask, matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    return image, mask


def jitter_colour(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomly change brightness, contrast and saturation of an RGB uint8 crop."""
    x = crop.astype(np.float32)
    grey = x.mean(axis=2, keepdims=True)
    x = grey + (x - grey) * (1 + rng.uniform(-SATURATION, SATURATION))
    x = (x - x.mean()) * (1 + rng.uniform(-CONTRAST, CONTRAST)) + x.mean()
    x = x * (1 + rng.uniform(-BRIGHTNESS, BRIGHTNESS))
    return np.clip(x, 0, 255).astype(np.uint8)


def paste_onto(image: np.ndarray, mask: np.ndarray, background: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Paste the masked object onto `background` (resized to the image's frame), edges feathered.

    The target stays the object's own mask; whatever the background holds is background.
    """
    h, w = mask.shape
    if rng.random() < 0.5:
        background = background[:, ::-1]
    back = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    alpha = cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0)[..., None]
    out = image.astype(np.float32) * alpha + back.astype(np.float32) * (1 - alpha)
    return np.clip(out, 0, 255).astype(np.uint8), mask


def training_sample(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Return (4 x size x size network input, 1 x size x size soft target) for one object."""
    image, mask = flip(image, mask, rng)
    moved_image, moved_mask = rotate_scale(image, mask, rng)
    if moved_mask.any():  # the object can rotate out of the frame
        image, mask = moved_image, moved_mask
    points = extreme_points(mask, rng, jitter=TRAIN_JITTER_PX)
    relax = RELAX_FRACTION + rng.uniform(-RELAX_JITTER, RELAX_JITTER)
    box = relax_box(points_bbox(points), relax_fraction=relax)
    crop = jitter_colour(crop_resize(image, box, size), rng)
    target = crop_resize(mask.astype(np.float32), box, size)
    heat = point_heatmap(points_to_crop(points, box, size), size)
    return network_input(crop, heat), target[None]
