"""A labeler's whole day on the labeling and dataset pages (issue 16), in a real browser: clicks
that are not swallowed, Space that pans whatever has focus, a chooser beside its shape, the
filmstrip and previous/next, labels managed on the pages, a layout that fits small windows, and
wording and feedback that say what happened.
"""
from __future__ import annotations

import io
import json
import re
import secrets
import time

import pytest
from PIL import Image
from playwright.sync_api import expect

from dataset_service.models import Job
from dataset_service.schemas import JobOut
from storage.annotations import AnnotatedObject, Annotation, read_annotation, write_annotation
from storage.errors import ObjectNotFound

from .canvas import canvas_point, click_image, expect_objects
from .conftest import log_in

pytestmark = pytest.mark.e2e

CUP = [(182.0, 62.0), (402.0, 52.0), (398.0, 252.0), (204.0, 276.0)]  # in coffee.jpg, 600x400
FAKE_OUTLINE = {"polygons": [[[150, 40], [420, 40], [420, 290], [150, 290]]], "bbox": [150, 40, 420, 290], "score": 1.0,
                "model": "fake", "inference_ms": 1.0}
KEYS = ("day/a/cup.jpg", "day/a/rocket.jpg", "day/b/astronaut.jpg", "day/b/cat.jpg", "day/c/labels.jpg")


def jpeg(pixels) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def day(stack):
    """A dataset of five photos made through the API and synchronized; the cup comes with its XML."""
    from skimage import data

    store, bucket = stack.store(), f"day-{secrets.token_hex(4)}"
    store.ensure_bucket(bucket)
    for key, loader in zip(KEYS, (data.coffee, data.rocket, data.astronaut, data.chelsea, data.astronaut)):
        store.put(bucket, key, jpeg(loader()), content_type="image/jpeg")
    cup = Annotation(filename="cup.jpg", width=600, height=400, objects=[AnnotatedObject(label="cup", points=CUP)])
    store.put(bucket, "day/a/cup.xml", write_annotation(cup), content_type="application/xml")
    token = stack.token()
    created = stack.api("POST", "/datasets", token, json={
        "name": f"day-{secrets.token_hex(3)}", "input_path": f"s3://{bucket}/day/",
        "labels": [{"name": "cup"}, {"name": "spoon"}],
    })
    assert created.status_code == 201, created.text
    dataset_id = created.json()["id"]
    wait_for_job(stack, token, stack.api("POST", f"/datasets/{dataset_id}/sync", token).json()["id"])
    listed = stack.api("GET", f"/datasets/{dataset_id}/samples?limit=100", token).json()["items"]
    return {"id": dataset_id, "url": f"/datasets/{dataset_id}", "bucket": bucket, "store": store, "token": token,
            "samples": {s["key"].split("/")[-1]: s["id"] for s in listed}}


def wait_for_job(stack, token: str, job_id: int) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = stack.api("GET", f"/jobs/{job_id}", token).json()
        if job["status"] in ("completed", "failed"):
            assert job["status"] == "completed", job
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish")


def label_page(page, day, name: str, query: str = "") -> None:
    page.goto(f"{day['url']}/samples/{day['samples'][name]}{query}")
    page.wait_for_selector("#canvas[data-ready=true]")


def view_of(page) -> dict:
    canvas = page.locator("#canvas")
    return {name: float(canvas.get_attribute(f"data-{name}")) for name in ("scale", "offset-x", "offset-y")}


def point_counts(page) -> list[str]:
    return page.locator("#objects li .muted").all_inner_texts()


def stored_labels(day, key: str) -> list[str]:
    """The labels of a sibling XML's objects; none when there is no file (a sample without objects)."""
    try:
        return [o.label for o in read_annotation(day["store"].get(day["bucket"], key), key).objects]
    except ObjectNotFound:
        return []


def white_pixels(page, x: float, y: float, half: int = 5) -> int:
    """Count the near-white pixels of the canvas in a square around image point (x, y)."""
    box = page.locator("#canvas").bounding_box()
    sx, sy = canvas_point(page, x, y)
    return page.evaluate(
        """([x, y, half]) => {
            const data = document.getElementById("canvas").getContext("2d").getImageData(x - half, y - half, 2 * half + 1, 2 * half + 1).data;
            let n = 0;
            for (let i = 0; i < data.length; i += 4) if (data[i] > 240 && data[i + 1] > 240 && data[i + 2] > 240) n++;
            return n;
        }""",
        [round(sx - box["x"]), round(sy - box["y"]), half],
    )


def test_a_drawing_tool_places_points_on_and_beside_other_objects(admin_page, day):
    page = admin_page
    page.route("**/api/v1/samples/*/infer", lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(FAKE_OUTLINE)))
    label_page(page, day, "cup.jpg")
    expect_objects(page, ["cup"])
    page.keyboard.press("v")
    click_image(page, 300, 150)  # inside the cup: selected, its vertices editable
    expect(page.locator("#objects li.selected")).to_have_count(1)
    page.keyboard.press("e")
    hint = page.locator("#hint")
    # Beside a vertex, on an edge, on another vertex, inside: each click is an extreme point.
    for i, (x, y) in enumerate([(CUP[0][0] + 2, CUP[0][1] + 2), (292, 57.5), (CUP[2][0] - 1, CUP[2][1]), (300, 160)], 1):
        click_image(page, x, y)
        if i < 4:
            expect(hint).to_contain_text(f"({i} of 4)")
    page.wait_for_selector("#canvas[data-correction=ready]")
    page.keyboard.press("Enter")  # the outline accepted as the model drew it
    page.wait_for_selector("#label-chooser:not([hidden])")
    assert point_counts(page) == ["polygon · 4 pts"] and page.get_attribute("#save-status", "data-state") == "clean"
    page.keyboard.press("Escape")

    page.keyboard.press("p")  # the polygon's first click on the selected object's vertex starts a polygon
    click_image(page, *CUP[1])
    expect(hint).to_contain_text("Polygon: 1 point(s)")
    page.keyboard.press("Escape")
    assert page.get_attribute("#save-status", "data-state") == "clean"

    # Shift held with a drawing tool edits instead, as the '?' list says.
    page.keyboard.down("Shift")
    page.mouse.move(*canvas_point(page, *CUP[1]))
    page.mouse.down()
    page.mouse.move(*canvas_point(page, 420, 70), steps=4)
    page.mouse.up()
    page.keyboard.up("Shift")
    expect(page.locator("#save-status")).to_have_attribute("data-state", "dirty")
    page.keyboard.press("Control+z")
    expect(page.locator("#save-status")).to_have_attribute("data-state", "clean")
    page.keyboard.press("?")
    assert "hold Shift" in page.inner_text("#help-dialog")
    page.keyboard.press("Escape")


def test_space_pans_after_a_toolbar_button_was_clicked(admin_page, day):
    page = admin_page
    label_page(page, day, "cup.jpg")
    page.keyboard.press("v")
    click_image(page, 300, 150)
    expect(page.locator("#objects li.selected")).to_have_count(1)
    fitted = page.get_attribute("#canvas", "data-scale")
    page.click("[data-action=zoom-in]")  # the button keeps the focus
    expect(page.locator("#canvas")).not_to_have_attribute("data-scale", fitted)
    page.mouse.move(*canvas_point(page, 300, 150))
    page.focus("[data-action=zoom-in]")  # Space pans whatever has the focus
    zoomed = view_of(page)
    page.keyboard.down("Space")
    page.mouse.down()
    start = canvas_point(page, 300, 150)
    page.mouse.move(start[0] + 60, start[1] + 40, steps=5)
    page.mouse.up()
    page.keyboard.up("Space")
    page.wait_for_timeout(100)
    moved = view_of(page)
    assert moved["scale"] == zoomed["scale"]  # Space did not press the Zoom in button again
    assert moved["offset-x"] == pytest.approx(zoomed["offset-x"] + 60, abs=2)
    assert moved["offset-y"] == pytest.approx(zoomed["offset-y"] + 40, abs=2)
    assert page.get_attribute("#save-status", "data-state") == "clean"  # the object did not move
    assert point_counts(page) == ["polygon · 4 pts"]
    page.mouse.move(5, 5)
    page.mouse.move(*canvas_point(page, 300, 150))
    expect(page.locator("#canvas")).to_be_focused()  # the canvas takes the focus when the pointer comes over it


def test_the_chooser_opens_beside_the_pending_shape_drawn_without_handles(admin_page, day, screenshots):
    page = admin_page
    label_page(page, day, "cup.jpg")
    shape = [(430.0, 285.0), (585.0, 290.0), (575.0, 390.0), (440.0, 385.0)]
    corner = shape[1]
    before = white_pixels(page, *corner)
    page.keyboard.press("p")
    for x, y in [*shape, shape[0]]:
        click_image(page, x, y)
    page.wait_for_selector("#label-chooser:not([hidden])")
    chooser = page.locator("#label-chooser").bounding_box()
    xs, ys = zip(*(canvas_point(page, x, y) for x, y in shape))
    overlaps = not (chooser["x"] + chooser["width"] <= min(xs) or chooser["x"] >= max(xs)
                    or chooser["y"] + chooser["height"] <= min(ys) or chooser["y"] >= max(ys))
    assert not overlaps, (chooser, (min(xs), min(ys), max(xs), max(ys)))
    assert white_pixels(page, *corner) - before <= 6  # no square handle on the pending outline
    page.screenshot(path=screenshots / "label-chooser-beside.png")
    page.click("#label-chooser button[data-label=spoon]")
    expect_objects(page, ["cup", "spoon"])
    assert white_pixels(page, *corner) - before <= 6  # selected, but a drawing tool is active: no handles
    page.keyboard.press("v")
    expect(page.locator("[data-action=tool-select]")).to_have_attribute("aria-pressed", "true")
    page.wait_for_timeout(100)
    assert white_pixels(page, *corner) - before >= 20  # the Select tool shows the handles to drag


def test_filmstrip_previous_next_and_go_to(admin_page, day, screenshots):
    page = admin_page
    page.goto(day["url"])
    page.click("[data-tab=unlabeled]")
    page.click(".tile:has(.tile-name:text-is('rocket.jpg')) a")
    page.wait_for_selector("#canvas[data-ready=true]")
    strip = page.locator("#filmstrip li")
    expect(strip).to_have_count(4)  # the Unlabeled list: rocket, astronaut, cat, labels
    expect(page.locator("#filmstrip [aria-current=page] img")).to_have_attribute("alt", "rocket.jpg")
    page.keyboard.press("p")
    for x, y in [(250, 80), (320, 80), (320, 400), (250, 400), (250, 80)]:
        click_image(page, x, y)
    page.click("#label-chooser button[data-label=spoon]")
    with page.expect_navigation():
        page.keyboard.press("f")  # F: next, saved first; the rocket leaves the Unlabeled list
    page.wait_for_selector("#canvas[data-ready=true]")
    assert "astronaut.jpg" in page.inner_text(".crumbs")
    expect(strip).to_have_count(4)  # the rocket stays in the list that was open
    expect(page.locator("#filmstrip li.labeled img")).to_have_attribute("alt", "rocket.jpg")
    page.screenshot(path=screenshots / "filmstrip.png")
    with page.expect_navigation():
        page.keyboard.press("d")  # D: previous, back to the image just labeled
    page.wait_for_selector("#canvas[data-ready=true]")
    assert "rocket.jpg" in page.inner_text(".crumbs") and "state=unlabeled" in page.url
    expect_objects(page, ["spoon"])
    with page.expect_navigation():
        page.click("#filmstrip img[alt='cat.jpg']")
    page.wait_for_selector("#canvas[data-ready=true]")
    assert "day/b/cat.jpg" in page.inner_text(".crumbs")
    with page.expect_navigation():
        page.keyboard.press("s")  # S stays the previous image too
    page.wait_for_selector("#canvas[data-ready=true]")
    assert "astronaut.jpg" in page.inner_text(".crumbs")
    page.fill("#goto-input", f"s3://{day['bucket']}/day/a/cup.jpg")
    with page.expect_navigation():
        page.press("#goto-input", "Enter")
    page.wait_for_selector("#canvas[data-ready=true]")
    assert "day/a/cup.jpg" in page.inner_text(".crumbs")
    page.fill("#goto-input", "no-such-image")
    page.press("#goto-input", "Enter")
    expect(page.locator("#message")).to_contain_text("No image of this dataset has “no-such-image”")


def test_labels_are_renamed_recoloured_and_deleted_on_the_dataset_page(admin_page, day, screenshots):
    page = admin_page
    typo = day_label(page, day, "persn")
    spare = day_label(page, day, "spare")
    put_objects(page, day, "labels.jpg", [("persn", [(10, 10), (200, 10), (200, 200)])])
    page.goto(day["url"] + "?label=persn")
    page.click("#labels-card summary")
    row = page.locator(f"#label-list li[data-label-id='{typo['id']}']")
    expect(row.locator(".label-usage")).to_have_text("1 image")
    row.locator(".label-name").fill("person")
    row.locator(".label-name").press("Enter")
    expect(page.locator(f"#label-list li[data-label-id='{typo['id']}'] .label-name")).to_have_value("person")
    expect(page.locator("#counts")).to_contain_text("person")
    assert "label=person" in page.url  # the filter follows the new name
    expect(page.locator(".grid .tile")).to_have_count(1)
    wait_until(lambda: stored_labels(day, "day/c/labels.xml") == ["person"], "the XML names the new label")

    page.locator(f"#label-list li[data-label-id='{typo['id']}'] .label-color").fill("#ff00aa")
    expect(page.locator("#counts .chip", has_text="person")).to_have_attribute("style", re.compile("#ff00aa"))
    page.screenshot(path=screenshots / "labels.png", full_page=True)

    page.locator(f"#label-list li[data-label-id='{spare['id']}'] .delete-label").click()
    expect(page.locator("#label-delete-text")).to_have_text("No image uses it.")
    page.click("#label-delete-confirm")
    expect(page.locator(f"#label-list li[data-label-id='{spare['id']}']")).to_have_count(0)

    page.locator(f"#label-list li[data-label-id='{typo['id']}'] .delete-label").click()
    expect(page.locator("#label-delete-text")).to_contain_text("It is used on 1 image")
    page.click("#label-delete-confirm")
    expect(page.locator(f"#label-list li[data-label-id='{typo['id']}']")).to_have_count(0)
    assert "label=" not in page.url
    names = [label["name"] for label in page.context.request.get(f"/api/v1/datasets/{day['id']}").json()["labels"]]
    assert "person" not in names and "spare" not in names
    wait_until(lambda: stored_labels(day, "day/c/labels.xml") == [], "the XML lost the deleted label's object")


def test_labels_are_renamed_and_deleted_from_the_labeling_page(admin_page, day):
    page = admin_page
    typo = day_label(page, day, "spon")
    other = day_label(page, day, "fork")
    put_objects(page, day, "labels.jpg", [("spon", [(10, 10), (200, 10), (200, 200)]), ("fork", [(300, 300), (400, 300), (400, 400)])])
    label_page(page, day, "labels.jpg")
    expect_objects(page, ["spon", "fork"])
    row = page.locator(f"#label-list li[data-label-id='{typo['id']}']")
    row.locator(".label-name").fill("spoon-2")
    row.locator(".label-name").press("Enter")
    expect_objects(page, ["spoon-2", "fork"])
    expect(page.locator("#save-status")).to_have_attribute("data-state", "clean")  # the server renamed it too
    page.keyboard.press("p")
    for x, y in [(250, 20), (350, 20), (350, 120), (250, 20)]:
        click_image(page, x, y)
    page.click("#label-chooser button[data-label='spoon-2']")
    page.keyboard.press("Control+s")
    expect(page.locator("#save-status")).to_have_attribute("data-state", "clean")
    assert page.locator("#message").is_hidden(), page.inner_text("#message")
    assert stored_labels(day, "day/c/labels.xml") == ["spoon-2", "fork", "spoon-2"]

    page.locator(f"#label-list li[data-label-id='{other['id']}'] .delete-label").click()
    expect(page.locator("#label-delete-text")).to_contain_text("It is used on 1 image")
    page.click("#label-delete-confirm")
    expect_objects(page, ["spoon-2", "spoon-2"])
    expect(page.locator("#save-status")).to_have_attribute("data-state", "clean")
    page.keyboard.press("Control+z")  # the undo history forgot the deleted label's object too
    expect_objects(page, ["spoon-2"])


def day_label(page, day, name: str) -> dict:
    response = page.context.request.post(f"/api/v1/datasets/{day['id']}/labels", data={"name": name},
                                         headers={"Authorization": f"Bearer {day['token']}"})
    assert response.status == 201, response.text()
    return response.json()


def put_objects(page, day, name: str, objects) -> None:
    url = f"/api/v1/samples/{day['samples'][name]}/annotation"
    auth = {"Authorization": f"Bearer {day['token']}"}
    revision = page.context.request.get(url, headers=auth).json()["revision"]
    body = {"revision": revision, "objects": [{"label": label, "points": points} for label, points in objects]}
    response = page.context.request.put(url, data=body, headers=auth)
    assert response.status == 200, response.text()


def wait_until(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.3)


@pytest.mark.parametrize("width, height", [(900, 700), (1280, 720)])
def test_the_page_fits_small_windows(browser, stack, day, screenshots, width, height):
    page = log_in(browser, stack)
    try:
        page.set_viewport_size({"width": width, "height": height})
        long_label = "a very long label name that would wrap the object row " * 2

        def with_long_label(route):
            if route.request.method != "GET":
                return route.continue_()
            annotation = route.fetch().json()
            annotation["objects"].append({**annotation["objects"][0], "id": 10**9, "label": long_label})
            route.fulfill(json=annotation)

        page.route("**/api/v1/samples/*/annotation", with_long_label)
        label_page(page, day, "cup.jpg")
        canvas = page.locator("#canvas").bounding_box()
        assert canvas["width"] >= 0.6 * width, canvas
        hidden = page.evaluate("""() => [...document.querySelectorAll(".toolbar button")].filter((b) => {
            const r = b.getBoundingClientRect();
            const inside = r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
            return !inside || !b.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
        }).map((b) => b.dataset.action)""")
        assert hidden == [], f"toolbar buttons not visible at {width}x{height}: {hidden}"
        rows = page.locator("#objects li")
        expect(rows).to_have_count(2)
        heights = [rows.nth(i).bounding_box()["height"] for i in range(2)]
        assert max(heights) <= heights[0] + 1 and max(heights) < 40, heights  # one line each, the long name cut short
        assert page.get_attribute("#objects li:nth-child(2) .object-name", "title") == long_label
        if width < 1000:
            names = page.evaluate("[...document.querySelectorAll('.toolbar button')].map((b) => b.textContent.trim())")
            assert "Extreme points" in " ".join(names)  # icon-only, but still named for screen readers
            page.click("#panel-toggle")  # the side panel folds away: the canvas takes its room
            expect(page.locator("#side-content")).to_be_hidden()
            expect(page.locator("#canvas")).to_have_attribute("width", str(round(canvas["width"] + 220 - 36)), timeout=5000)
            page.click("#panel-toggle")
        page.screenshot(path=screenshots / f"labeling-{width}x{height}.png")
        assert not page.js_errors, page.js_errors
    finally:
        page.context.close()


def test_filter_errors_use_the_page_words_and_a_pasted_s3_folder_is_understood(admin_page, day):
    page = admin_page
    page.goto(day["url"] + "?created=range&created_from=2026-03-02&created_to=2026-03-01")
    expect(page.locator("[data-testid=filter-error]")).to_have_text("Created from: must not be after Created to")
    page.goto(day["url"])
    page.fill("input[name=path]", f"s3://{day['bucket']}/day/b/")
    page.click("button:has-text('Apply')")
    expect(page.locator(".tile-name")).to_have_text(["astronaut.jpg", "cat.jpg"])
    page.fill("input[name=path]", "s3://another-bucket/day/b/")
    page.click("button:has-text('Apply')")
    expect(page.locator("[data-testid=filter-error]")).to_contain_text("File name or path: s3://another-bucket/day/b/ is not in this dataset's bucket")


def test_the_sync_progress_bar_is_true_in_every_step(admin_page, day, screenshots):
    """The page follows the job's typed progress (dumped here by the API's own schema): no value
    while the listing's end is unknown, the running step's fraction after, full only when done."""
    page = admin_page

    def dumped(status: str, stage: str | None, **progress: int) -> dict:
        job = Job(id=99999999, kind="sync", dataset_id=day["id"], status=status, stage=stage, progress=progress,
                  counts={"added": 4000} if status == "completed" else {}, errors=[])
        return JobOut().dump(job)

    states = iter([
        dumped("running", "listing", listed=1000),
        dumped("running", "importing", listed=4000, xml_found=200, xml_read=50),
        dumped("running", "reading image sizes", listed=4000, xml_found=200, xml_read=200, to_size=3800, size_read=950),
        dumped("completed", None, listed=4000, xml_found=200, xml_read=200, to_size=3800, size_read=3800),
    ])
    page.route("**/api/v1/datasets/*/sync", lambda route: route.fulfill(status=202, json=dumped("queued", None)))
    page.route("**/api/v1/jobs/99999999", lambda route: route.fulfill(json=next(states)))
    page.goto(day["url"])
    page.click("#sync-button")
    status, bar, stage = page.locator("#sync-status"), page.locator("#sync-progress"), page.locator("#sync-stage")
    expect(page.locator("#sync-text")).to_have_text("Synchronizing: listing…")
    expect(stage).to_have_text("step 1 of 3 · 1,000 so far")
    assert bar.get_attribute("value") is None  # no end known: no fraction shown
    expect(status).to_have_attribute("data-stage", "importing")
    expect(stage).to_have_text("step 2 of 3 · 50 of 200")
    assert float(bar.get_attribute("value")) == pytest.approx(0.25)
    status.screenshot(path=str(screenshots / "sync-progress.png"))
    expect(status).to_have_attribute("data-stage", "reading image sizes")
    expect(stage).to_have_text("step 3 of 3 · 950 of 3,800")
    assert float(bar.get_attribute("value")) == pytest.approx(0.25)
    expect(status).to_have_attribute("data-status", "completed")
    assert float(bar.get_attribute("value")) == 1


NEW_OBJECT_FIELDS = {"id", "label", "shape", "points", "source", "pose", "truncated", "occluded", "difficult", "confidence", "properties"}


def test_an_unsaved_object_goes_back_as_it_came(admin_page, day):
    page = admin_page

    def with_more_fields(route):
        if route.request.method != "GET":
            return route.continue_()
        annotation = route.fetch().json()
        for o in annotation["objects"]:
            o["future_field"] = {"kept": True}
        route.fulfill(json=annotation)

    page.route("**/api/v1/samples/*/annotation", with_more_fields)
    label_page(page, day, "astronaut.jpg")
    page.keyboard.press("p")
    for x, y in [(20, 20), (120, 20), (120, 120), (20, 20)]:
        click_image(page, x, y)
    page.click("#label-chooser button[data-label=cup]")
    with page.expect_request(lambda r: r.method == "PUT") as first:
        page.keyboard.press("Control+s")
    sent = first.value.post_data_json["objects"]
    assert set(sent[0]) == NEW_OBJECT_FIELDS
    expect(page.locator("#save-status")).to_have_attribute("data-state", "clean")
    page.reload()
    page.wait_for_selector("#canvas[data-ready=true]")
    page.keyboard.press("p")
    for x, y in [(220, 220), (320, 220), (320, 320), (220, 220)]:
        click_image(page, x, y)
    page.click("#label-chooser button[data-label=spoon]")
    with page.expect_request(lambda r: r.method == "PUT") as second:
        page.keyboard.press("Control+s")
    kept, new = second.value.post_data_json["objects"]
    assert kept["future_field"] == {"kept": True} and kept["created_by"] == "admin"  # every field it came with
    assert set(new) == NEW_OBJECT_FIELDS


def test_an_upload_that_cannot_be_decoded_is_reported_as_such(admin_page, day):
    page = admin_page
    from skimage import data

    page.goto(day["url"])
    whole = jpeg(data.camera())
    page.set_input_files("#upload-input", files=[{"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": whole[: len(whole) // 2]}])
    item = page.locator("#upload-results li")
    expect(item).to_have_text(re.compile(r"^broken\.jpg: stored as day/broken\.jpg, but the image cannot be decoded \(.+\): the file may be truncated"))
    expect(item).to_have_class("error")


# What a page's text must reach against its background (WCAG AA for normal text), and a script that
# measures each visible text element of the kinds the pages use with their computed colours.
CONTRAST_MIN = 4.5
CONTRAST_JS = """(selectors) => {
  // "rgb(r, g, b)", "rgba(r, g, b, a)", or "color(srgb r g b / a)" (what color-mix() computes to, 0..1)
  const rgba = (s) => {
    const n = (s.match(/[\\d.]+/g) || []).map(Number);
    const rgb = s.startsWith("color(") ? n.slice(0, 3).map((c) => c * 255) : n.slice(0, 3);
    return rgb.concat([n.length > 3 ? n[3] : 1]);
  };
  const lum = ([r, g, b]) => [r, g, b].map((c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3])).concat([1]);
  function background(el) {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
  }
  const out = [];
  for (const el of document.querySelectorAll(selectors)) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
    if (!text || !el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
    const bg = background(el);
    const fg = over(rgba(getComputedStyle(el).color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    out.push({ text: text.slice(0, 40), ratio: (a + 0.05) / (b + 0.05), cls: el.className });
  }
  return out;
}"""
TEXT_KINDS = ".muted, .hint, a, button.link, th, .small, .status, .tabs a, .object-name, label"
ACCESSIBLE_NAMES_JS = """() => [...document.querySelectorAll("button")].filter((b) => b.getClientRects().length).map((b) => {
  const own = [...b.childNodes].filter((n) => !(n.nodeType === 1 && n.getAttribute("aria-hidden") === "true"))
    .map((n) => n.textContent).join("").trim();
  return { html: b.outerHTML.slice(0, 80), name: b.getAttribute("aria-label") || own || b.title || "" };
})"""


def low_contrast(page) -> list[dict]:
    return [t for t in page.evaluate(CONTRAST_JS, TEXT_KINDS) if t["ratio"] < CONTRAST_MIN]


def test_keyboard_selection_focus_rings_names_and_contrast(admin_page, day, screenshots):
    page = admin_page
    put_objects(page, day, "rocket.jpg", [("cup", [[50, 50], [150, 50], [150, 150]]), ("spoon", [[300, 60], [400, 60], [350, 160]]),
                                          ("cup", [[100, 250], [220, 250], [160, 350]])])
    label_page(page, day, "rocket.jpg")
    expect_objects(page, ["cup", "spoon", "cup"])
    selected = page.locator("#objects li.selected .object-name")
    page.focus("#canvas")
    ring = page.evaluate("() => { const s = getComputedStyle(document.getElementById('canvas')); return [s.outlineStyle, s.outlineWidth]; }")
    assert ring == ["solid", "3px"]
    for key, name in [("Tab", "1. cup"), ("Tab", "2. spoon"), ("Shift+Tab", "1. cup"), ("]", "2. spoon"), ("[", "1. cup"), ("[", "3. cup")]:
        page.keyboard.press(key)
        expect(selected).to_have_text(name)
    assert page.evaluate("document.activeElement.id") == "canvas"  # Tab cycled objects on the canvas
    page.keyboard.press("Tab")  # past the last object: the focus moves on, nothing traps it
    expect(page.locator("#objects li.selected")).to_have_count(0)
    assert page.evaluate("document.activeElement.id") != "canvas"

    page.focus("#canvas")
    page.keyboard.press("]")
    page.keyboard.press("l")  # the chooser for the selected object, beside it
    expect(page.locator("#label-chooser")).to_be_visible()
    page.click("#chooser-list button[data-label=spoon]")
    expect_objects(page, ["spoon", "spoon", "cup"])
    page.keyboard.press("Delete")
    expect_objects(page, ["spoon", "cup"])

    row = page.locator("#objects li[data-index='1']")
    row.focus()
    page.keyboard.press("Enter")
    expect(selected).to_have_text("2. cup")
    assert page.evaluate("document.activeElement.matches('#objects li[data-index=\"1\"]')")  # the row kept the focus
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.screenshot(path=str(screenshots / "labeling-keyboard.png"))

    unnamed = [b for b in page.evaluate(ACCESSIBLE_NAMES_JS) if not re.search(r"[A-Za-z]", b["name"])]
    assert unnamed == [], unnamed
    assert low_contrast(page) == []
    page.goto(day["url"])
    measured = page.evaluate(CONTRAST_JS, TEXT_KINDS)
    assert any(t["cls"] == "muted" for t in measured) and len(measured) > 10  # the check saw the page's texts
    assert low_contrast(page) == []


def test_autosave_after_a_pause_and_when_the_tab_closes(browser, admin_page, day):
    # A context without the tests' autosave setting: the page's default (on) holds.
    origin = "/".join(admin_page.url.split("/", 3)[:3])
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=origin,
                                  storage_state={"cookies": admin_page.context.cookies(), "origins": []})
    page = context.new_page()
    url = f"/api/v1/samples/{day['samples']['astronaut.jpg']}/annotation"
    auth = {"Authorization": f"Bearer {day['token']}"}
    try:
        put_objects(page, day, "astronaut.jpg", [])
        label_page(page, day, "astronaut.jpg")
        expect(page.locator("#autosave")).to_be_checked()
        page.keyboard.press("p")
        for x, y in [(100, 100), (200, 100), (150, 200)]:
            click_image(page, x, y)
        page.keyboard.press("Enter")
        page.click("#chooser-list button[data-label=cup]")
        expect(page.locator("#save-status")).to_contain_text("Saved by admin", timeout=15_000)  # no Save pressed
        assert [o["label"] for o in page.context.request.get(url, headers=auth).json()["objects"]] == ["cup"]

        page.keyboard.press("Delete")  # then the tab closes at once, before the pause
        page.close(run_before_unload=True)
        wait_until(lambda: admin_page.context.request.get(url, headers=auth).json()["objects"] == [], "the save sent as the tab closed")
    finally:
        context.close()
