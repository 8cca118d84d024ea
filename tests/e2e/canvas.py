"""Driving the labeling page's canvas: image pixels to page coordinates, clicks, the object list."""
from __future__ import annotations

from playwright.sync_api import expect


def canvas_point(page, x: float, y: float) -> tuple[float, float]:
    """Turn image pixels into page coordinates through the canvas's current zoom and pan."""
    canvas = page.locator("#canvas")
    scale, ox, oy = (float(canvas.get_attribute(f"data-{name}")) for name in ("scale", "offset-x", "offset-y"))
    box = canvas.bounding_box()
    return box["x"] + ox + x * scale, box["y"] + oy + y * scale


def click_image(page, x: float, y: float) -> None:
    page.mouse.click(*canvas_point(page, x, y))


def open_sample(page, dataset, file_name: str) -> None:
    page.goto(dataset["url"])
    page.click(f".tile:has(.tile-name:text-is('{file_name}')) a")
    page.wait_for_selector("#canvas[data-ready=true]")


def expect_objects(page, labels: list[str]) -> None:
    """Wait until the object list shows these labels, in order."""
    expect(page.locator("#objects .object-name")).to_have_text([f"{i}. {label}" for i, label in enumerate(labels, 1)])


def relative(page, point) -> dict:
    box = page.locator("#canvas").bounding_box()
    x, y = canvas_point(page, *point)
    return {"x": x - box["x"], "y": y - box["y"]}
