"""DEXTR pre-processing: crop around the extreme points, resize, add the point heatmap.

All functions are pure numpy/OpenCV on HxWx3 uint8 RGB images and (4, 2) float point arrays
in (x, y) pixel coordinates.
"""

from __future__ import annotations

import cv2
import numpy as np

INPUT_SIZE = 256  # side of the square network input, in pixels
RELAX_FRACTION = 0.10  # margin added on each side of the points' box, as a fraction of its side
RELAX_MIN_PX = 10.0  # ... but never less than this many image pixels
HEATMAP_SIGMA = 6.0  # Gaussian sigma at each point, in input pixels (DEXTR: 10 at 512)
MIN_BOX_SIDE = 2.0  # the crop box is at least this many pixels a side
PAD_VALUE = 0  # value of crop pixels that fall outside the image
IMAGE_MEAN = 127.5  # EfficientNet-Lite normalises RGB to [-1, 1]
IMAGE_SCALE = 127.5


def points_bbox(points: np.ndarray) -> np.ndarray:
    """Return the box [x0, y0, x1, y1] covering the points' pixels, in continuous coordinates.

    Pixel (i, j) covers [i, i + 1) x [j, j + 1); boxes are continuous, points are pixel indices.
    """
    points = np.asarray(points, dtype=np.float64)
    return np.concatenate([points.min(axis=0), points.max(axis=0) + 1.0])


def relax_box(box: np.ndarray, relax_fraction: float = RELAX_FRACTION, relax_min: float = RELAX_MIN_PX) -> np.ndarray:
    """Grow a box by a margin on each side; the crop may reach past the image."""
    x0, y0, x1, y1 = box
    mx = max(relax_fraction * (x1 - x0), relax_min)
    my = max(relax_fraction * (y1 - y0), relax_min)
    x0, y0, x1, y1 = x0 - mx, y0 - my, x1 + mx, y1 + my
    return np.array([x0, y0, max(x1, x0 + MIN_BOX_SIDE), max(y1, y0 + MIN_BOX_SIDE)])


def crop_box(points: np.ndarray) -> np.ndarray:
    """Return the crop box around the points, relaxed by the margin."""
    return relax_box(points_bbox(points))


def crop_transform(box: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Return the 2x3 affine map from image pixels to crop pixels."""
    x0, y0, x1, y1 = box
    sx, sy = size / (x1 - x0), size / (y1 - y0)
    # Maps pixel indices (centres at +0.5) so that the box edges land on the crop edges.
    return np.array([[sx, 0.0, (0.5 - x0) * sx - 0.5], [0.0, sy, (0.5 - y0) * sy - 0.5]])


def box_window(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Return the integer pixel window [x0, y0, x1) x [y0, y1) of the box inside the image."""
    h, w = shape[:2]
    x0, y0 = (max(0, int(np.floor(v))) for v in box[:2])
    x1, y1 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    return x0, y0, max(x0, x1), max(y0, y1)


def crop_resize(image: np.ndarray, box: np.ndarray, size: int = INPUT_SIZE, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Cut the box out of the image and resize it to size x size, padding outside the image."""
    x0, y0, x1, y1 = box_window(box, image.shape)
    window = image[y0:y1, x0:x1]
    local = np.asarray(box, dtype=np.float64) - [x0, y0, x0, y0]
    if window.size == 0:
        return np.full((size, size) + image.shape[2:], PAD_VALUE, dtype=image.dtype)
    shrink = min(size / (local[2] - local[0]), size / (local[3] - local[1]))
    if shrink < 0.5 and interpolation != cv2.INTER_NEAREST:
        # warpAffine has no area filter; shrink first so bilinear sampling does not alias.
        window, local = _area_shrink(window, local, 2.0 * shrink)
    return cv2.warpAffine(
        window, crop_transform(local, size), (size, size), flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT, borderValue=PAD_VALUE,
    )


def _area_shrink(window: np.ndarray, box: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Shrink a window by `factor` with area averaging; scale the box with it."""
    h, w = window.shape[:2]
    nw, nh = max(1, round(w * factor)), max(1, round(h * factor))
    shrunk = cv2.resize(window, (nw, nh), interpolation=cv2.INTER_AREA)
    return shrunk, box * [nw / w, nh / h, nw / w, nh / h]


def points_to_crop(points: np.ndarray, box: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Map image-frame points into crop pixel coordinates."""
    matrix = crop_transform(box, size)
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def point_heatmap(points: np.ndarray, size: int = INPUT_SIZE, sigma: float = HEATMAP_SIGMA) -> np.ndarray:
    """Return a size x size float32 map in [0, 1]: the maximum of a Gaussian at each point."""
    grid = np.arange(size, dtype=np.float32)
    heat = np.zeros((size, size), dtype=np.float32)
    for x, y in np.asarray(points, dtype=np.float32):
        gx = np.exp(-((grid - x) ** 2) / (2 * sigma**2))
        gy = np.exp(-((grid - y) ** 2) / (2 * sigma**2))
        np.maximum(heat, np.outer(gy, gx), out=heat)
    return heat


def network_input(crop: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """Stack the normalised RGB crop and the heatmap into a 4 x H x W float32 array."""
    rgb = (crop.astype(np.float32) - IMAGE_MEAN) / IMAGE_SCALE
    heat = heatmap * 2.0 - 1.0  # the same [-1, 1] range as the colour channels
    return np.concatenate([rgb.transpose(2, 0, 1), heat[None]], axis=0)


def prepare(image: np.ndarray, points: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Return the network input for one image and its four points, and the crop box used."""
    box = crop_box(points)
    crop = crop_resize(image, box, size)
    heat = point_heatmap(points_to_crop(points, box, size), size)
    return network_input(crop, heat), box
