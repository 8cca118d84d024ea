"""Shape rules every side obeys (the reader, the writer, a save through the API): how many points
each shape has, that it lies within the image, and how a shape goes onto the whole-pixel grid of
the files we write.

Points lie within the image when 0 <= x <= width and 0 <= y <= height: the right and bottom
edges are allowed, because an outline that hugs the last pixel column ends at x == width.

The grid (`on_grid`), the rule for every coordinate we write: each coordinate is rounded to the
nearest whole pixel, halves up (2.5 -> 3), which keeps a point of 0..width within 0..width. Then,
per shape: a polygon drops a point equal to the one before it and a last point equal to the
first, and needs 3 distinct points left (else it is smaller than a pixel); a box whose min and
max round to the same pixel is widened by one pixel (to the right or down, else to the left or
up), so min < max stays true; a circle's radius is rounded too, at least 1, and shrunk to the
nearest edge if rounding moved the circle over it. Points, lines, polylines and dashed lines
keep every point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from storage.annotations.model import BadGeometry, Box, Malformed, Point, Shape

# Points a shape needs (at least, at most; None: no limit); a polygon's are counted distinct.
POINT_COUNTS: dict[str, tuple[int, int | None]] = {
    "polygon": (3, None), "polyline": (2, None), "dashed": (2, None), "line": (2, 2), "point": (1, 1), "bndbox": (4, 4), "circle": (1, 1),
}
AREA_SHAPES = ("polygon", "bndbox", "circle")
CIRCLE_VERTICES = 32


def number_text(value: float) -> str:
    """Format a coordinate for a message: an integer when whole, else at most 2 decimals."""
    rounded = round(float(value), 2)
    if rounded.is_integer():
        return str(int(rounded))
    return f"{rounded:.2f}".rstrip("0")


def check_shape(shape: Shape, width: int, height: int) -> None:
    """Raise BadGeometry unless the shape has the points its kind needs and lies within a width x height image."""
    if shape.shape not in POINT_COUNTS:
        raise Malformed(f"unknown shape {shape.shape!r} (expected {', '.join(POINT_COUNTS)})")
    points = list(shape.points)
    _check_count(shape.shape, points)
    for x, y in points:
        check_point(x, y, width, height)
    if shape.shape == "bndbox":
        box_of(points)
    elif shape.shape == "line" and points[0] == points[1]:
        raise BadGeometry("line has its two points at one place")
    elif shape.shape == "circle":
        check_circle(points[0], shape.radius, width, height)
    if shape.shape != "circle" and shape.radius is not None:
        raise BadGeometry(f"only a circle has a radius, not a {shape.shape}")


def _check_count(shape: str, points: list[Point]) -> None:
    low, high = POINT_COUNTS[shape]
    if shape == "polygon":
        if points != open_polygon(points):
            raise BadGeometry("polygon repeats a point right after itself or its first point as its last; leave them out")
        count, what = len(set(points)), "distinct points"
    else:
        count, what = len(points), "points"
    if count < low or (high is not None and count > high):
        wanted = f"exactly {low}" if high == low else f"at least {low}"
        raise BadGeometry(f"{shape} has {count} {what}, {wanted} needed")


def check_point(x: float, y: float, width: int, height: int) -> None:
    """Raise BadGeometry unless (x, y) is a finite point within the image, edges included,
    naming the coordinate and the limit it passes."""
    if not (math.isfinite(x) and math.isfinite(y)):
        raise BadGeometry(f"point ({x}, {y}) is not finite")
    where = f"point ({number_text(x)}, {number_text(y)})"
    if x < 0 or y < 0:
        raise BadGeometry(f"{where} has a negative coordinate ({'x' if x < 0 else 'y'} < 0)")
    if x > width:
        raise BadGeometry(f"{where} is outside the {width}x{height} image (x > {width})")
    if y > height:
        raise BadGeometry(f"{where} is outside the {width}x{height} image (y > {height})")


def check_circle(center: Point, radius: float | None, width: int, height: int) -> None:
    """Raise BadGeometry unless the circle has a positive radius and lies within the image."""
    cx, cy = center
    if radius is None or not math.isfinite(radius) or radius <= 0:
        raise BadGeometry(f"circle radius must be a positive number, got {radius}")
    if cx - radius < 0 or cy - radius < 0 or cx + radius > width or cy + radius > height:
        raise BadGeometry(f"circle at ({number_text(cx)}, {number_text(cy)}) with radius {number_text(radius)} "
                          f"extends outside the {width}x{height} image")


def box_corners(xmin: float, ymin: float, xmax: float, ymax: float) -> list[Point]:
    """Return a box's corners clockwise from the top left, refusing an empty or inverted box."""
    if not (xmin < xmax and ymin < ymax):
        raise BadGeometry(
            f"bndbox is empty or inverted (xmin={number_text(xmin)}, xmax={number_text(xmax)}, "
            f"ymin={number_text(ymin)}, ymax={number_text(ymax)}): min must be less than max"
        )
    return [(xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax)]


def box_of(points: Sequence[Point]) -> Box:
    """Return (xmin, ymin, xmax, ymax) of points that are exactly a box's `box_corners`."""
    (xmin, ymin), (xmax, ymax) = points[0], points[2]
    if list(points) != box_corners(xmin, ymin, xmax, ymax):
        raise BadGeometry("bndbox points must be the corners clockwise from the top left")
    return xmin, ymin, xmax, ymax


def box_from_corners(points: Sequence[Point]) -> list[Point]:
    """Return the 4 corners of a box given as two opposite corners or as its 4 corners in any order."""
    xs, ys = sorted({x for x, _ in points}), sorted({y for _, y in points})
    corners = {(x, y) for x in xs for y in ys}
    if len(points) not in (2, 4) or len(xs) != 2 or len(ys) != 2 or (len(points) == 4 and set(points) != corners):
        raise BadGeometry("bndbox needs two opposite corners, or its four corners, of a box whose min is less than its max")
    return box_corners(xs[0], ys[0], xs[1], ys[1])


def open_polygon(points: Sequence[Point]) -> list[Point]:
    """Drop each point equal to the one before it, and a last point equal to the first."""
    out: list[Point] = []
    for point in points:
        if not out or out[-1] != point:
            out.append(point)
    while len(out) > 1 and out[-1] == out[0]:
        out.pop()
    return out


def open_on_grid(points: Sequence[Point]) -> list[Point]:
    """Open a polygon as a client sends it: drop repeats of the point before, and a last point on
    the first one's pixel (a ring closed as the file writes coordinates)."""
    out = open_polygon(points)
    if len(out) > 2 and (pixel(out[-1][0]), pixel(out[-1][1])) == (pixel(out[0][0]), pixel(out[0][1])):
        out.pop()
    return out


def outline(shape: str, points: Sequence[Point], radius: float | None = None) -> list[Point]:
    """Return the polygon that encloses a shape's pixels (a circle as a 32-gon); [] for shapes without area."""
    if shape in ("polygon", "bndbox"):
        return list(points)
    if shape == "circle" and points and radius:
        (cx, cy), steps = points[0], [2 * math.pi * i / CIRCLE_VERTICES for i in range(CIRCLE_VERTICES)]
        return [(cx + radius * math.cos(a), cy + radius * math.sin(a)) for a in steps]
    return []


# --- the whole-pixel grid of the files we write (see the module's docstring) ---


def pixel(value: float) -> int:
    """Round a coordinate to the nearest whole pixel, halves up."""
    if not math.isfinite(value):
        raise BadGeometry(f"coordinate {value} is not finite")
    return math.floor(value + 0.5)


def writable(shape: Shape, width: int, height: int) -> Shape:
    """Return the shape on the grid, checked before and after: what the writer writes, or
    BadGeometry saying why it cannot."""
    raw = Shape(shape.shape, open_polygon(shape.points), shape.radius) if shape.shape == "polygon" else shape
    check_shape(raw, width, height)
    grid = on_grid(shape, width, height)
    check_shape(grid, width, height)
    return grid


def on_grid(shape: Shape, width: int, height: int) -> Shape:
    """Return the shape as we write it, in whole pixels, still valid and within the image; raise
    BadGeometry when it does not survive (a polygon or circle smaller than a pixel)."""
    if shape.shape not in POINT_COUNTS:
        raise Malformed(f"unknown shape {shape.shape!r} (expected {', '.join(POINT_COUNTS)})")
    _check_count(shape.shape, open_polygon(shape.points) if shape.shape == "polygon" else list(shape.points))
    points = [(pixel(x), pixel(y)) for x, y in shape.points]
    if shape.shape == "polygon":
        points = open_polygon(points)
        if len(set(points)) < 3:
            raise BadGeometry("polygon is smaller than a pixel: fewer than 3 distinct whole-pixel points")
    elif shape.shape == "bndbox":
        xmin, ymin, xmax, ymax = box_of(shape.points)
        (x0, x1), (y0, y1) = _widened(pixel(xmin), pixel(xmax), width), _widened(pixel(ymin), pixel(ymax), height)
        points = box_corners(x0, y0, x1, y1)
    elif shape.shape == "circle":
        return Shape("circle", points, _grid_radius(points[0], shape.radius, width, height))
    return Shape(shape.shape, points)


def _widened(low: int, high: int, limit: int) -> tuple[int, int]:
    """Keep low < high after rounding: a box edge pair that met is one pixel apart again."""
    if low < high:
        return low, high
    return (low, low + 1) if low + 1 <= limit else (low - 1, low)


def _grid_radius(center: Point, radius: float | None, width: int, height: int) -> int:
    cx, cy = center
    room = min(cx, cy, width - cx, height - cy)
    whole = min(max(pixel(radius or 0), 1), room)
    if whole < 1:
        raise BadGeometry("circle is smaller than a pixel, or its centre lies on the image's edge")
    return int(whole)


def part_box(box: Box, width: int, height: int) -> Box:
    """Check a part's box against the image and return it as the 4 numbers it is."""
    corners = box_corners(*box)
    for x, y in corners:
        check_point(x, y, width, height)
    return box


def part_on_grid(box: Box, width: int, height: int) -> Box:
    """Return a part's box in whole pixels (the rule of `on_grid` for boxes)."""
    return box_of(writable(Shape("bndbox", box_corners(*box)), width, height).points)
