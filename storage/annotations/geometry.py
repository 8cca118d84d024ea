"""Shape rules both directions obey: point counts, image bounds, box corners, circle outlines.

Points lie within the image when 0 <= x <= width and 0 <= y <= height: the right and bottom
edges are allowed, because an outline that hugs the last pixel column ends at x == width.
"""

from __future__ import annotations

import math

from storage.annotations.model import Malformed, Point

MIN_POINTS = {"polygon": 3, "polyline": 2, "point": 1, "bndbox": 4}
MAX_POINTS = {"point": 1, "bndbox": 4}
CIRCLE_VERTICES = 32


def number_text(value: float) -> str:
    """Format a coordinate as we write it: an integer when whole, else at most 2 decimals."""
    rounded = round(float(value), 2)
    if rounded.is_integer():
        return str(int(rounded))
    return f"{rounded:.2f}".rstrip("0")


def check_points(shape: str, points: list[Point], width: int, height: int) -> None:
    """Raise Malformed unless `points` suit `shape` and lie within a width x height image."""
    low, high = MIN_POINTS[shape], MAX_POINTS.get(shape)
    if len(points) < low or (high is not None and len(points) > high):
        wanted = f"exactly {low}" if high == low else f"at least {low}"
        raise Malformed(f"{shape} has {len(points)} points, {wanted} needed")
    for x, y in points:
        check_point(x, y, width, height)
    if shape == "bndbox":
        box_of(points)


def check_point(x: float, y: float, width: int, height: int) -> None:
    """Raise Malformed unless (x, y) is a finite point within the image, edges included."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise Malformed(f"point ({x}, {y}) is not finite")
    if x < 0 or y < 0:
        raise Malformed(f"point ({number_text(x)}, {number_text(y)}) has a negative coordinate")
    if x > width or y > height:
        raise Malformed(
            f"point ({number_text(x)}, {number_text(y)}) is outside the {width}x{height} image"
        )


def box_corners(xmin: float, ymin: float, xmax: float, ymax: float) -> list[Point]:
    """Return a box's corners clockwise from the top left."""
    if not (xmin < xmax and ymin < ymax):
        raise Malformed(
            f"bndbox is empty or inverted (xmin={number_text(xmin)}, xmax={number_text(xmax)}, "
            f"ymin={number_text(ymin)}, ymax={number_text(ymax)})"
        )
    return [(xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax)]


def box_of(points: list[Point]) -> tuple[float, float, float, float]:
    """Return (xmin, ymin, xmax, ymax) of points that are exactly a box's `box_corners`."""
    (xmin, ymin), (xmax, ymax) = points[0], points[2]
    if list(points) != box_corners(xmin, ymin, xmax, ymax):
        raise Malformed("bndbox points must be the corners clockwise from the top left")
    return xmin, ymin, xmax, ymax


def circle_outline(cx: float, cy: float, r: float, width: int, height: int) -> list[Point]:
    """Approximate a circle lying within the image by a 32-vertex polygon (2 decimals)."""
    if r <= 0:
        raise Malformed(f"circle radius must be positive, got {number_text(r)}")
    if cx - r < 0 or cy - r < 0 or cx + r > width or cy + r > height:
        raise Malformed(f"circle at ({number_text(cx)}, {number_text(cy)}) with radius "
                        f"{number_text(r)} extends outside the {width}x{height} image")
    steps = [2 * math.pi * i / CIRCLE_VERTICES for i in range(CIRCLE_VERTICES)]
    return [(_clamp(cx + r * math.cos(a), width), _clamp(cy + r * math.sin(a), height)) for a in steps]


def _clamp(value: float, limit: int) -> float:
    """Round to 2 decimals and keep within 0..limit (rounding may step over an edge)."""
    return min(max(round(value, 2), 0.0), float(limit))


def open_polygon(points: list[Point]) -> list[Point]:
    """Drop a closing point that repeats the first one."""
    if len(points) > 1 and points[0] == points[-1]:
        return points[:-1]
    return points
