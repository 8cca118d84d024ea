"""Correction clicks on the labeling page (issue 15, item 6), in a real browser against the real
worker: the model's outline from four extreme points or an AI box waits in place, each click asks
again with every click so far, Enter accepts it, Esc drops it; a low score is a visible warning,
and the canvas pans and zooms while a request runs.
"""
from __future__ import annotations

import contextlib
import re
import secrets

import pytest
from playwright.sync_api import Error, expect

from .canvas import canvas_point, click_image, expect_objects
from .test_labeling_day import jpeg, wait_for_job

pytestmark = pytest.mark.e2e

HEAD_EXTREME_POINTS = [(226.0, 16.0), (226.0, 186.0), (152.0, 95.0), (302.0, 95.0)]  # astronaut.jpg, 512x512
HEAD_BOX = ((150.0, 12.0), (305.0, 190.0))
STATUS = "Left click adds, right click or Shift+click removes, Enter accepts, Esc drops"
INFER = "**/api/v1/samples/*/infer"


@pytest.fixture(scope="module")
def ai(stack):
    """A dataset of three photos (the astronaut twice: one for the test that saves), made through the API and synchronized."""
    from skimage import data

    store, bucket = stack.store(), f"ai-{secrets.token_hex(4)}"
    store.ensure_bucket(bucket)
    for key, loader in (("ai/astronaut.jpg", data.astronaut), ("ai/face.jpg", data.astronaut), ("ai/cat.jpg", data.chelsea)):
        store.put(bucket, key, jpeg(loader()), content_type="image/jpeg")
    token = stack.token()
    created = stack.api("POST", "/datasets", token, json={
        "name": f"ai-{secrets.token_hex(3)}", "input_path": f"s3://{bucket}/ai/", "labels": [{"name": "person"}, {"name": "cat"}],
    })
    assert created.status_code == 201, created.text
    dataset_id = created.json()["id"]
    wait_for_job(stack, token, stack.api("POST", f"/datasets/{dataset_id}/sync", token).json()["id"])
    listed = stack.api("GET", f"/datasets/{dataset_id}/samples?limit=10", token).json()["items"]
    return {"url": f"/datasets/{dataset_id}", "token": token, "samples": {s["key"].split("/")[-1]: s["id"] for s in listed}}


def open_image(page, ai, name: str) -> None:
    page.goto(f"{ai['url']}/samples/{ai['samples'][name]}")
    page.wait_for_selector("#canvas[data-ready=true]")


def flat(rows) -> list[float]:
    return [value for row in rows for value in row]


def is_infer(request) -> bool:
    return request.method == "POST" and request.url.endswith("/infer")


def outline_of(page) -> list:
    """The pending outline as drawn, once the page has its answer."""
    expect(page.locator("#canvas")).to_have_attribute("data-correction", "ready", timeout=60_000)
    return page.locator("#canvas").evaluate("(c) => JSON.parse(c.dataset.outline)")


def parts_of(page) -> list:
    """The parts kept as drawn (the outline first, then each other part a positive click is in)."""
    expect(page.locator("#canvas")).to_have_attribute("data-correction", "ready", timeout=60_000)
    return page.locator("#canvas").evaluate("(c) => JSON.parse(c.dataset.parts)")


def click_points(page, points, button: str = "left"):
    """Click image points; return the infer request the last click sends."""
    *first, last = points
    for p in first:
        click_image(page, *p)
    with page.expect_request(is_infer) as sent:
        page.mouse.click(*canvas_point(page, *last), button=button)
    return sent.value


def inside(polygon, point) -> bool:
    """Even-odd rule, as the page's geometry.js."""
    x, y = point
    result = False
    for (xi, yi), (xj, yj) in zip(polygon, polygon[-1:] + polygon[:-1]):
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            result = not result
    return result


def holds(polygon, point, tolerance: float = 1.0) -> bool:
    """Inside, or within `tolerance` of an edge: as the page tells a part that holds a click."""
    if inside(polygon, point):
        return True
    x, y = point
    for (ax, ay), (bx, by) in zip(polygon, polygon[1:] + polygon[:1]):
        dx, dy = bx - ax, by - ay
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        if ((x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2) ** 0.5 <= tolerance:
            return True
    return False


def colored_pixels(page, point, kind: str, half: int = 6) -> int:
    """Count the pixels of one colour (the correction dots' green or red, the outline's orange or blue) around an image point."""
    box = page.locator("#canvas").bounding_box()
    sx, sy = canvas_point(page, *point)
    return page.evaluate(
        """([x, y, half, kind]) => {
            const d = document.getElementById("canvas").getContext("2d").getImageData(x - half, y - half, 2 * half + 1, 2 * half + 1).data;
            const want = { green: (r, g, b) => g > 170 && r < 110 && b < 140, red: (r, g, b) => r > 220 && g < 110 && b < 110,
                           orange: (r, g, b) => r > 230 && g > 130 && g < 190 && b < 60,
                           blue: (r, g, b) => r < 90 && g > 100 && g < 170 && b > 200 }[kind];
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (want(d[i], d[i + 1], d[i + 2])) n++;
            return n;
        }""",
        [round(sx - box["x"]), round(sy - box["y"]), half, kind],
    )


def test_clicks_correct_the_outline_in_place_and_enter_accepts_it(admin_page, ai, stack, screenshots):
    page = admin_page
    open_image(page, ai, "astronaut.jpg")
    page.keyboard.press("e")
    first = click_points(page, HEAD_EXTREME_POINTS)
    assert set(first.post_data_json) == {"points"}
    assert flat(first.post_data_json["points"]) == pytest.approx(flat(HEAD_EXTREME_POINTS), abs=1)
    outline = outline_of(page)
    assert len(outline) >= 3
    expect(page.locator("#label-chooser")).to_be_hidden()  # the outline waits for clicks, not for a label
    expect(page.locator("#hint")).to_contain_text(STATUS)
    expect(page.locator("#infer-status")).to_be_hidden()

    # A negative click inside the outline (right button), then a positive one outside it: each
    # request carries the prompt and every click so far, in order; the outline obeys each.
    minus = next((p for p in [(226, 100), (226, 80), (220, 120), (200, 100)] if inside(outline, p)), None)
    assert minus, outline
    sent = click_points(page, [minus], button="right")
    assert sent.post_data_json["points"] == first.post_data_json["points"]
    assert flat(sent.post_data_json["clicks"]) == pytest.approx([*minus, 0], abs=1)
    after_minus = outline_of(page)
    assert after_minus != outline and not inside(after_minus, minus)
    xs, ys = zip(*after_minus)
    plus = (round((min(xs) + max(xs)) / 2), min(511, round(max(ys)) + 12))
    assert not inside(after_minus, plus)
    sent = click_points(page, [plus])
    assert flat(sent.post_data_json["clicks"]) == pytest.approx([*minus, 0, *plus, 1], abs=1)
    after_plus = outline_of(page)
    assert after_plus != after_minus
    kept = parts_of(page)  # a far positive click may make a part of its own: it is kept, never dropped
    assert kept[0] == after_plus and any(holds(part, plus) for part in kept), (plus, kept)
    assert colored_pixels(page, minus, "red") >= 10 and colored_pixels(page, plus, "green") >= 10  # the clicks, as dots
    expect(page.locator("#hint")).to_contain_text("2 click(s)")
    page.screenshot(path=screenshots / "correction-clicks.png")

    # Shift+click is negative too; Ctrl+Z takes it back (and asks again with the two clicks).
    shift_point = (minus[0] + 6, minus[1] + 6)
    page.keyboard.down("Shift")
    sent = click_points(page, [shift_point])
    page.keyboard.up("Shift")
    assert [c[2] for c in sent.post_data_json["clicks"]] == [0, 1, 0]
    outline_of(page)
    with page.expect_request(is_infer) as undone:
        page.keyboard.press("Control+z")
    assert flat(undone.value.post_data_json["clicks"]) == pytest.approx([*minus, 0, *plus, 1], abs=1)
    accepted = parts_of(page)

    page.keyboard.press("Enter")
    expect(page.locator("#label-chooser")).to_be_visible()
    expect(page.locator("#canvas")).not_to_have_attribute("data-correction", "ready")
    page.click("#chooser-list button[data-label=person]")
    expect_objects(page, ["person"] * len(accepted))  # each part kept is an object
    page.keyboard.press("Control+s")
    page.wait_for_selector("#save-status[data-state=clean]")
    saved = stack.api("GET", f"/samples/{ai['samples']['astronaut.jpg']}/annotation", ai["token"]).json()["objects"]
    assert len(saved) == len(accepted)
    for part, object_ in zip(accepted, saved):
        assert (object_["shape"], object_["source"], object_["label"]) == ("polygon", "extreme_points", "person")
        assert flat(object_["points"]) == pytest.approx(flat(part), abs=0.01)

    # A revision of History shown: read-only, the outline being corrected is dropped, no tool starts one.
    page.keyboard.press("e")
    click_points(page, HEAD_EXTREME_POINTS)
    outline_of(page)
    page.click("#history-section > summary")
    page.click("#revisions li[data-revision='1']")
    expect(page.locator("#canvas")).to_have_attribute("data-shown", "revision 1")
    expect(page.locator("#canvas")).not_to_have_attribute("data-correction", "ready")
    expect(page.locator("[data-action=tool-aibox]")).to_be_disabled()
    requests = []
    page.on("request", lambda r: is_infer(r) and requests.append(r))
    page.keyboard.press("a")
    page.mouse.move(*canvas_point(page, *HEAD_BOX[0]))
    page.mouse.down()
    page.mouse.move(*canvas_point(page, *HEAD_BOX[1]), steps=4)
    page.mouse.up()
    page.wait_for_timeout(300)
    assert requests == [] and not page.locator("#canvas").get_attribute("data-correction")


def test_esc_drops_the_outline_and_its_clicks(admin_page, ai):
    page = admin_page
    open_image(page, ai, "cat.jpg")
    page.keyboard.press("e")
    click_points(page, [(150, 40), (170, 280), (30, 170), (390, 150)])
    outline = outline_of(page)
    assert len(outline) >= 3
    click_points(page, [(200, 150)], button="right")
    outline_of(page)
    page.keyboard.press("Escape")
    expect(page.locator("#canvas")).not_to_have_attribute("data-correction", "ready")
    expect(page.locator("#label-chooser")).to_be_hidden()
    expect(page.locator("#hint")).to_contain_text("(0 of 4)")  # the tool again, ready for four new points
    expect_objects(page, [])
    expect(page.locator("#save-status")).to_have_attribute("data-state", "clean")


def test_the_ai_box_sends_a_box_and_its_outline_is_corrected_the_same_way(admin_page, ai):
    page = admin_page
    open_image(page, ai, "face.jpg")
    page.keyboard.press("a")
    expect(page.locator("[data-action=tool-aibox]")).to_have_attribute("aria-pressed", "true")
    assert page.get_attribute("[data-action=tool-aibox]", "title") == "AI box (the model outlines the object in a box) (A)"
    assert page.get_attribute("[data-action=tool-box]", "title") == "Box (B)"  # the plain Box tool stays
    expect(page.locator("#hint")).to_contain_text("AI box: drag a box around the object")
    page.mouse.move(*canvas_point(page, *HEAD_BOX[0]))
    page.mouse.down()
    page.mouse.move(*canvas_point(page, 230, 100), steps=3)
    with page.expect_request(is_infer) as sent:
        page.mouse.move(*canvas_point(page, *HEAD_BOX[1]), steps=3)
        page.mouse.up()
    assert set(sent.value.post_data_json) == {"box"}
    assert sent.value.post_data_json["box"] == pytest.approx([*HEAD_BOX[0], *HEAD_BOX[1]], abs=1)
    outline = outline_of(page)
    expect(page.locator("#hint")).to_contain_text(STATUS)
    minus = next((p for p in [(226, 100), (226, 80), (220, 120)] if inside(outline, p)), None)
    assert minus, outline
    clicked = click_points(page, [minus], button="right")
    assert set(clicked.post_data_json) == {"box", "clicks"} and clicked.post_data_json["clicks"][0][2] == 0
    outline_of(page)
    page.keyboard.press("Enter")
    page.click("#chooser-list button[data-label=person]")
    expect_objects(page, ["person"])
    expect(page.locator("#objects li .muted")).to_contain_text(re.compile(r"^polygon · \d+ pts · AI box$"))
    page.keyboard.press("Control+z")  # the object goes again: the page stays clean for the other tests
    expect_objects(page, [])


def fake_outline(points, score: float, low: bool) -> dict:
    xs, ys = zip(*points)
    return {"polygons": [[list(p) for p in points]], "bbox": [min(xs), min(ys), max(xs), max(ys)], "score": score,
            "low_confidence": low, "model": "fake", "inference_ms": 1.0}


UNSURE = fake_outline([(160, 30), (290, 30), (290, 180), (160, 180)], 0.12, True)
SURE = fake_outline([(170, 20), (300, 40), (280, 185), (150, 170)], 0.93, False)


def test_a_low_score_is_a_visible_warning(admin_page, ai, screenshots):
    page = admin_page
    answers = [UNSURE, SURE]
    page.route(INFER, lambda route: route.fulfill(json=answers.pop(0)))
    open_image(page, ai, "face.jpg")
    page.keyboard.press("e")
    region = (225, 30)  # on the unsure outline's top edge
    before = colored_pixels(page, region, "orange", half=12)
    click_points(page, HEAD_EXTREME_POINTS)
    outline_of(page)
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message")).to_have_text("Low confidence: the model sees no clear object here — add clicks or draw by hand.")
    expect(page.locator("#canvas")).to_have_attribute("data-confidence", "low")
    expect(page.locator("#hint")).to_contain_text("score 0.12")
    page.wait_for_timeout(100)
    assert colored_pixels(page, region, "orange", half=12) - before >= 8  # the outline in the warning colour
    page.screenshot(path=screenshots / "correction-low-confidence.png")
    click_points(page, [(230, 190)])  # a click the model is sure of: the warning goes
    expect(page.locator("#canvas")).to_have_attribute("data-confidence", "ok")
    expect(page.locator("#message")).to_be_hidden()
    assert outline_of(page) == SURE["polygons"][0]
    page.keyboard.press("Escape")
    expect_objects(page, [])


def square(centre, half: float) -> list[list[float]]:
    x, y = centre
    return [[x - half, y - half], [x + half, y - half], [x + half, y + half], [x - half, y + half]]


def test_a_positive_click_that_makes_a_part_of_its_own_becomes_an_object_of_its_own(admin_page, ai, screenshots):
    """The worker honours a positive click the network disagrees with as a small disc: a part of
    its own. The page keeps it (besides the largest part) and Enter makes each kept part an object
    with the one label chosen, in one undo step; a part no positive click is in is noise, dropped."""
    page = admin_page
    far, noise = (420.0, 420.0), (80.0, 440.0)  # far from the head; the noise part holds no click
    split = {**SURE, "polygons": [SURE["polygons"][0], square(noise, 6), square(far, 10)]}
    page.route(INFER, lambda route: route.fulfill(json=split if route.request.post_data_json.get("clicks") else SURE))
    open_image(page, ai, "face.jpg")
    page.keyboard.press("e")
    click_points(page, HEAD_EXTREME_POINTS)
    assert outline_of(page) == SURE["polygons"][0]
    expect(page.locator("#hint")).not_to_contain_text("parts")
    before = {p: colored_pixels(page, p, "blue", half=16) for p in (far, noise)}
    sent = click_points(page, [far])
    assert flat(sent.post_data_json["clicks"]) == pytest.approx([*far, 1], abs=1)
    assert outline_of(page) == SURE["polygons"][0]  # the largest part is still the outline
    parts = page.locator("#canvas").evaluate("(c) => JSON.parse(c.dataset.parts)")
    assert parts == [SURE["polygons"][0], square(far, 10)]  # the clicked part kept, the noise not
    expect(page.locator("#hint")).to_contain_text("2 parts: each becomes an object")
    page.wait_for_timeout(100)
    assert colored_pixels(page, far, "blue", half=16) - before[far] >= 8  # the kept part is drawn as the pending outline
    assert colored_pixels(page, noise, "blue", half=16) - before[noise] < 3  # the noise is not
    page.screenshot(path=screenshots / "correction-parts.png")

    page.keyboard.press("Enter")
    expect(page.locator("#label-chooser")).to_be_visible()
    page.click("#chooser-list button[data-label=person]")
    expect_objects(page, ["person", "person"])  # one label, chosen once, for both parts
    expect(page.locator("#objects li .muted")).to_have_text(["polygon · 4 pts · extreme points"] * 2)
    expect(page.locator("#objects li.selected")).to_have_attribute("data-index", "0")  # the main part
    expect(page.locator("#canvas")).not_to_have_attribute("data-correction", "ready")
    page.keyboard.press("Control+z")  # one step takes both back
    expect_objects(page, [])
    expect(page.locator("#save-status")).to_have_attribute("data-state", "clean")
    page.keyboard.press("Control+y")  # and one step brings both back
    expect_objects(page, ["person", "person"])
    page.keyboard.press("Control+z")
    expect_objects(page, [])

    # Only a negative click in the answer: its parts hold no positive click, the largest is kept.
    page.keyboard.press("e")
    click_points(page, HEAD_EXTREME_POINTS)
    outline_of(page)
    click_points(page, [(230, 100)], button="right")
    outline_of(page)
    expect(page.locator("#hint")).to_contain_text("3 parts, the largest kept")
    assert page.locator("#canvas").evaluate("(c) => JSON.parse(c.dataset.parts)") == [SURE["polygons"][0]]
    page.keyboard.press("Enter")
    page.click("#chooser-list button[data-label=person]")
    expect_objects(page, ["person"])
    page.keyboard.press("Control+z")
    expect_objects(page, [])


def test_the_canvas_pans_and_zooms_while_the_model_answers_and_a_newer_click_wins(admin_page, ai, screenshots):
    page = admin_page
    held = []
    page.route(INFER, lambda route: held.append(route))  # answered below, when the test says so
    open_image(page, ai, "face.jpg")
    page.keyboard.press("e")
    click_points(page, HEAD_EXTREME_POINTS)
    tag = page.locator("#infer-status")
    expect(tag).to_be_visible()
    expect(tag).to_have_text("Outlining…")
    box, stage = tag.bounding_box(), page.locator("#stage").bounding_box()
    assert box["width"] < 200 and box["height"] < 40 and box["width"] * box["height"] < stage["width"] * stage["height"] / 50
    expect(page.locator("#hint")).to_contain_text("Inferring the outline")

    canvas = page.locator("#canvas")
    scale, offset = canvas.get_attribute("data-scale"), canvas.get_attribute("data-offset-x")
    page.mouse.move(*canvas_point(page, 300, 300))
    page.mouse.wheel(0, -240)  # zoom
    expect(canvas).not_to_have_attribute("data-scale", scale)
    offset = canvas.get_attribute("data-offset-x")
    page.mouse.down(button="middle")  # and pan
    page.mouse.move(*canvas_point(page, 250, 300), steps=3)
    page.mouse.up(button="middle")
    expect(canvas).not_to_have_attribute("data-offset-x", offset)
    page.keyboard.press("0")  # fit again, for the clicks below
    expect(tag).to_be_visible()

    page.wait_for_timeout(50)
    assert len(held) == 1
    held.pop().fulfill(json=UNSURE)
    expect(tag).to_be_hidden()
    outline_of(page)

    # Two clicks in a row: the first request is aborted by the second, whose answer is drawn.
    failed = []
    page.on("requestfailed", lambda r: failed.append(r))
    click_points(page, [(230, 100)], button="right")
    expect(tag).to_have_text("Updating…")
    expect(canvas).to_have_attribute("data-correction", "waiting")
    page.screenshot(path=screenshots / "correction-updating.png")
    click_points(page, [(230, 195)])
    page.wait_for_timeout(50)
    assert len(held) == 2
    older, newer = held
    assert [c[2] for c in newer.request.post_data_json["clicks"]] == [0, 1]
    newer.fulfill(json=SURE)
    with contextlib.suppress(Error):  # the page gave up on it: nothing is left to answer
        older.fulfill(json=UNSURE)
    assert outline_of(page) == SURE["polygons"][0]
    expect(tag).to_be_hidden()
    assert older.request in failed or older.request.failure is not None
    page.wait_for_timeout(100)
    assert canvas.evaluate("(c) => JSON.parse(c.dataset.outline)") == SURE["polygons"][0]  # the older answer never shows
    page.keyboard.press("Escape")
