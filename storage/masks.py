"""Segmentation masks: polygons rasterised into 8-bit PNGs, and the label map that explains them.

A mask holds one index per pixel, 0 for the background: a class mask the label's index in the
version's label list (1-based), an object mask the object's number on its image (1-based).
Objects are drawn in the order given, later ones over earlier ones. Only shapes with an area
(polygons and boxes) are drawn; points and polylines are not.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from PIL import Image, ImageDraw

Point = Sequence[float]
Color = tuple[int, int, int]

MAX_INDEX = 255  # what an 8-bit pixel holds
AREA_SHAPES = ("polygon", "bndbox")


def has_area(shape: str, points: Sequence[Point]) -> bool:
    """Tell whether a shape encloses pixels (a polygon or box of 3 points or more)."""
    return shape in AREA_SHAPES and len(points) >= 3


def draw_mask(width: int, height: int, shapes: Iterable[tuple[int, Sequence[Point]]]) -> Image.Image:
    """Return an 8-bit mask ("L") with each polygon filled with its index (1-255), in order."""
    mask = Image.new("L", (width, height), 0)
    pen = ImageDraw.Draw(mask)
    for index, points in shapes:
        if not 0 < index <= MAX_INDEX:
            raise ValueError(f"a mask index must be 1-{MAX_INDEX}, got {index}")
        pen.polygon([(float(x), float(y)) for x, y in points], fill=index, outline=index)
    return mask


def png_bytes(mask: Image.Image, palette: Sequence[Color] | None = None) -> bytes:
    """Encode a mask as PNG: grayscale, or a palette PNG whose colour i is palette[i]."""
    image = mask
    if palette is not None:
        image = mask.copy()
        image.putpalette(palette_bytes(palette), rawmode="RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def palette_bytes(palette: Sequence[Color]) -> list[int]:
    """Return a 256-colour palette as Pillow takes it, unused entries black."""
    colors = list(palette)[:256] + [(0, 0, 0)] * (256 - min(len(palette), 256))
    return [channel for color in colors for channel in color]


def voc_colormap(n: int = 256) -> list[Color]:
    """Return PASCAL VOC's colour map: index 0 black, then colours made from the index's bits."""
    colors = []
    for index in range(n):
        red = green = blue = 0
        value = index
        for shift in range(7, -1, -1):
            red |= ((value >> 0) & 1) << shift
            green |= ((value >> 1) & 1) << shift
            blue |= ((value >> 2) & 1) << shift
            value >>= 3
        colors.append((red, green, blue))
    return colors


def labelmap_text(labels: Sequence[tuple[str, Color]]) -> str:
    """Write the label map beside masks, as CVAT's and VOC tools read it: one line per index, background first."""
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    lines += [f"{name}:{red},{green},{blue}::" for name, (red, green, blue) in labels]
    return "\n".join(lines) + "\n"
