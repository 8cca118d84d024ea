"""Reading the segmentation sets in ../shared/data/segmentation (coco_mval, davis345)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

DAVIS_VOID = 255  # label of pixels that count neither as object nor as background


@dataclass(frozen=True)
class Pair:
    """An image file and its mask file."""

    image: Path
    mask: Path


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def pairs(root: Path) -> list[Pair]:
    """List the (image, mask) pairs of one set folder (`images/`, `masks/<stem>.png`), by file name."""
    images = sorted(p for p in (root / "images").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return [Pair(p, root / "masks" / (p.stem + ".png")) for p in images]


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as HxWx3 uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_object_mask(path: Path) -> np.ndarray:
    """Read a coco_mval mask (0 background, 255 object) as uint8 0/1."""
    return (np.asarray(Image.open(path).convert("L")) > 127).astype(np.uint8)


def read_merged_mask(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a davis345 palette mask as (every object id merged to 0/1, void 0/1)."""
    ids = np.asarray(Image.open(path))  # palette indices, not colours
    void = ids == DAVIS_VOID
    return ((ids > 0) & ~void).astype(np.uint8), void.astype(np.uint8)


def read_instance_masks(path: Path) -> tuple[list[np.ndarray], np.ndarray]:
    """Read a davis345 palette mask as (one 0/1 mask per object id, in id order; void 0/1)."""
    ids = np.asarray(Image.open(path))
    void = ids == DAVIS_VOID
    objects = [(ids == k).astype(np.uint8) for k in sorted(set(np.unique(ids).tolist()) - {0, DAVIS_VOID})]
    return objects, void.astype(np.uint8)


def read_masks(path: Path, instances: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """Read any set's mask file as (objects, void): a palette file holds object ids (davis345:
    merged into one object unless `instances`, 255 void); a grey one is a single object (> 127)."""
    with Image.open(path) as image:
        palette = image.mode == "P"
    if palette and instances:
        return read_instance_masks(path)
    if palette:
        mask, void = read_merged_mask(path)
        return [mask], void
    mask = read_object_mask(path)
    return [mask], np.zeros_like(mask)


def iou(pred: np.ndarray, truth: np.ndarray, void: np.ndarray | None = None) -> float:
    """Return the intersection over union of two 0/1 masks, ignoring void pixels."""
    pred, truth = pred.astype(bool), truth.astype(bool)
    if void is not None:
        keep = ~void.astype(bool)
        pred, truth = pred & keep, truth & keep
    union = np.count_nonzero(pred | truth)
    return np.count_nonzero(pred & truth) / union if union else 1.0
