"""Distinct label colours."""
from __future__ import annotations

import colorsys
import re

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
GOLDEN_RATIO = 0.618033988749895


def distinct_color(index: int) -> str:
    """Return the index-th colour of a sequence whose neighbours differ clearly in hue."""
    hue = (0.12 + index * GOLDEN_RATIO) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return "#{:02x}{:02x}{:02x}".format(round(red * 255), round(green * 255), round(blue * 255))


def to_rgb(color: str) -> tuple[int, int, int]:
    """Turn '#rrggbb' into an RGB triple."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
