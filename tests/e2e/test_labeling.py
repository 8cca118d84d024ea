"""The whole labeling loop in a real browser against the running stack: log in, create a dataset on
the S3 server, synchronize, filter, label with a polygon and with extreme points, undo and redo,
save, see the sibling XML in the object store, reload, and meet a conflict from a second browser.
"""
from __future__ import annotations

import io
import re
import secrets

import pytest
from PIL import Image
from playwright.sync_api import expect

from storage.annotations import AnnotatedObject, Annotation, read_annotation, write_annotation

from .canvas import canvas_point, click_image, expect_objects, open_sample, relative
from .conftest import log_in

pytestmark = pytest.mark.e2e

# The shapes drawn below, in image pixels.
CUP_POLYGON = [(182.0, 62.0), (402.0, 52.0), (398.0, 252.0), (204.0, 276.0)]
HEAD_EXTREME_POINTS = [(226.0, 16.0), (226.0, 186.0), (152.0, 95.0), (302.0, 95.0)]  # top, bottom, left, right
CAT_HEAD = [(20.0, 290.0), (40.0, 40.0), (380.0, 10.0), (370.0, 280.0)]


def jpeg(pixels) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def photos(stack):
    """A bucket with four photos in two folders; the cat comes with a sibling XML."""
    from skimage import data

    store, bucket = stack.store(), f"e2e-{secrets.token_hex(4)}"
    store.ensure_bucket(bucket)
    for key, loader in (("a/coffee.jpg", data.coffee), ("a/rocket.jpg", data.rocket), ("b/astronaut.jpg", data.astronaut), ("b/cat.jpg", data.chelsea)):
        store.put(bucket, f"photos/{key}", jpeg(loader()), content_type="image/jpeg")
    cat = Annotation(filename="cat.jpg", width=451, height=300, objects=[AnnotatedObject(label="cat", points=CAT_HEAD)])
    store.put(bucket, "photos/b/cat.xml", write_annotation(cat), content_type="application/xml")
    return {"bucket": bucket, "store": store}


@pytest.fixture(scope="module")
def dataset(browser, stack, photos, screenshots):
    """Create the dataset through the form and synchronize it from its page; return its URL."""
    page = log_in(browser, stack)
    page.goto("/")
    page.screenshot(path=screenshots / "datasets.png")
    page.click("text=Create dataset")
    name = f"e2e-{secrets.token_hex(3)}"
    page.fill("input[name=name]", name)
    page.fill("textarea[name=description]", "Photos for the browser tests")
    page.fill("input[name=input_path]", f"s3://{photos['bucket']}/photos/")
    page.fill("input[name=label_name]", "cup")
    page.click("#add-label")
    page.locator("input[name=label_name]").nth(1).fill("person")
    page.screenshot(path=screenshots / "create-dataset.png")
    page.click("button:has-text('Create')")
    page.wait_for_url(re.compile(r"/datasets/\d+$"))
    url = page.url
    assert page.locator("[data-count=total]").inner_text() == "0"

    page.click("#sync-button")
    page.wait_for_selector("#sync-status[data-status=completed]", timeout=60_000)
    assert "added: 4" in page.inner_text("#sync-counts")
    if stack.celery:  # run by the Celery worker that `make run` starts when REDIS_URL is set
        assert "dataset_service.run_job" in (stack.var_dir / "jobs.log").read_text()
    expect(page.locator("[data-count=total]")).to_have_text("4")  # the counts and the grid refresh
    expect(page.locator("[data-count=labeled]")).to_have_text("1")
    expect(page.locator(".grid .tile")).to_have_count(4)
    page.screenshot(path=screenshots / "dataset.png", full_page=True)
    assert not page.js_errors
    page.context.close()
    return {"url": url, "name": name, **photos}


def save(page) -> None:
    page.click("[data-action=save]")
    page.wait_for_selector("#save-status[data-state=clean]")


def flat(points) -> list[float]:
    return [value for point in points for value in point]


def stored_annotation(dataset, key: str) -> Annotation:
    return read_annotation(dataset["store"].get(dataset["bucket"], key), key)


def test_login_rejects_a_wrong_password_and_logs_out(browser, stack, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack.url)
    page = context.new_page()
    page.goto("/")
    assert "/login" in page.url  # pages send an anonymous visitor to log in
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not-the-password")
    page.screenshot(path=screenshots / "login.png")
    page.click("button[type=submit]")
    assert "Wrong username or password" in page.inner_text("[role=alert]")
    page.fill("input[name=password]", stack.admin_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")
    assert page.inner_text("[data-testid=viewer]") == "admin"
    demo = page.locator("[data-testid=datasets] tr:has-text('demo-photos') td.num").all_inner_texts()
    assert demo == ["5", "3", "2"]  # `make run` seeded the demo: 5 photos, 3 labeled
    page.click("text=demo-photos")
    page.click(".tile:has(.tile-name:text-is('coins.jpg')) a")
    page.wait_for_selector("#canvas[data-ready=true]")
    assert page.locator("#objects li").count() >= 20
    page.screenshot(path=screenshots / "labeling-demo.png")
    page.click("text=Log out")
    page.wait_for_url(re.compile("/login"))
    page.goto("/")
    assert "/login" in page.url
    context.close()


def test_tabs_and_filters_keep_their_state_in_the_url(admin_page, dataset):
    page = admin_page
    page.goto(dataset["url"])
    page.click("[data-tab=labeled]")
    page.wait_for_url(re.compile(r"state=labeled"))
    expect(page.locator(".grid .tile")).to_have_count(1)  # waits for the page the tab loads
    page.fill("input[name=path]", "a/")
    page.click("button:has-text('Apply')")
    page.wait_for_url(re.compile(r"path=a%2F"))
    assert "state=labeled" in page.url and page.locator("[data-testid=grid-empty]").count() == 1
    page.click("[data-tab=all]")
    assert "path=a%2F" in page.url and "state=" not in page.url
    assert sorted(page.locator(".tile-name").all_inner_texts()) == ["coffee.jpg", "rocket.jpg"]
    page.goto(dataset["url"] + "?label=cat")
    assert page.locator(".tile-name").all_inner_texts() == ["cat.jpg"]
    page.goto(dataset["url"] + "?labeled_by=nobody-here")
    assert "unknown user" in page.inner_text("[data-testid=filter-error]")


def test_polygon_undo_redo_save_xml_and_reload(admin_page, dataset, screenshots):
    page = admin_page
    open_sample(page, dataset, "coffee.jpg")
    page.click("[data-action=tool-polygon]")
    for x, y in CUP_POLYGON:
        click_image(page, x, y)
    click_image(page, *CUP_POLYGON[0])  # the first point closes the polygon
    page.wait_for_selector("#label-chooser:not([hidden])")
    page.screenshot(path=screenshots / "label-chooser.png")
    page.click("#label-chooser button[data-label=cup]")
    expect_objects(page, ["cup"])

    page.keyboard.press("Control+z")
    expect_objects(page, [])
    page.click("[data-action=redo]")
    expect_objects(page, ["cup"])
    page.click("[data-action=undo]")
    page.keyboard.press("Control+y")
    expect_objects(page, ["cup"])

    save(page)
    assert "Saved by admin" in page.inner_text("#save-status")
    stored = stored_annotation(dataset, "photos/a/coffee.xml")
    assert [o.label for o in stored.objects] == ["cup"]
    assert flat(stored.objects[0].points) == pytest.approx(flat(CUP_POLYGON), abs=0.6)
    page.screenshot(path=screenshots / "labeling.png")

    page.reload()
    page.wait_for_selector("#canvas[data-ready=true]")
    expect_objects(page, ["cup"])
    assert page.inner_text("#save-status").startswith("Saved by admin")


def test_extreme_points_infer_an_outline_with_the_real_worker(admin_page, dataset, screenshots):
    page = admin_page
    open_sample(page, dataset, "astronaut.jpg")
    page.click("[data-action=tool-extreme]")
    for x, y in HEAD_EXTREME_POINTS:
        click_image(page, x, y)
    page.wait_for_selector("#canvas[data-correction=ready]", timeout=60_000)  # the outline waits for clicks
    page.keyboard.press("Enter")  # accepted as it is
    page.wait_for_selector("#label-chooser:not([hidden])")
    assert page.locator("#message").is_hidden(), page.inner_text("#message")
    page.fill("#chooser-input", "head")  # a label that does not exist yet
    page.click("#chooser-new button")
    expect_objects(page, ["head"])
    page.screenshot(path=screenshots / "extreme-points.png")
    with page.expect_navigation():
        page.keyboard.press("f")  # the next image: saved first
    page.wait_for_selector("#canvas[data-ready=true]")
    assert "cat.jpg" in page.inner_text(".crumbs")
    assert page.get_attribute("[data-action=tool-extreme]", "aria-pressed") == "true"  # the tool stays
    stored = stored_annotation(dataset, "photos/b/astronaut.xml")
    (head,) = stored.objects
    assert head.label == "head" and head.source == "extreme_points" and len(head.points) >= 3
    assert all(0 <= x <= 512 and 0 <= y <= 512 for x, y in head.points)

    with page.expect_navigation():
        page.keyboard.press("s")  # and back
    page.wait_for_selector("#canvas[data-ready=true]")
    assert "astronaut.jpg" in page.inner_text(".crumbs")
    expect_objects(page, ["head"])


def test_extreme_points_say_clearly_when_the_worker_fails(admin_page, dataset):
    page = admin_page
    open_sample(page, dataset, "rocket.jpg")
    page.route("**/api/v1/samples/*/infer", lambda route: route.fulfill(
        status=503, content_type="application/json",
        body='{"error": "unavailable", "message": "The inference worker is not reachable; try again later.", "fields": {}}',
    ))
    page.click("[data-action=tool-extreme]")
    for x, y in [(320, 100), (320, 400), (290, 300), (350, 300)]:
        click_image(page, x, y)
    page.wait_for_selector("#message:not([hidden])")
    assert "Extreme points failed: The inference worker is not reachable" in page.inner_text("#message")
    expect_objects(page, [])
    assert page.locator("#infer-status").is_hidden()


def test_editing_tools_and_shortcut_titles(admin_page, dataset, screenshots):
    page = admin_page
    open_sample(page, dataset, "cat.jpg")
    expect_objects(page, ["cat"])  # imported from the sibling XML by the sync
    assert page.get_attribute("[data-action=tool-polygon]", "title") == "Polygon (P)"
    assert page.get_attribute("[data-action=undo]", "title") == "Undo (Ctrl+Z)"
    for button in page.locator(".toolbar button").all():
        assert re.search(r"\(.+\)$", button.get_attribute("title")), button.get_attribute("title")
    page.keyboard.press("?")
    assert page.locator("#help-dialog").is_visible()
    assert "Extreme points" in page.inner_text("#shortcut-table")
    page.screenshot(path=screenshots / "shortcuts.png")
    page.keyboard.press("Escape")

    fitted = page.get_attribute("#canvas", "data-scale")
    page.keyboard.press("+")
    expect(page.locator("#canvas")).not_to_have_attribute("data-scale", fitted)
    assert float(page.get_attribute("#canvas", "data-scale")) > float(fitted)
    page.click("[data-action=fit]")
    expect(page.locator("#canvas")).to_have_attribute("data-scale", fitted)

    page.keyboard.press("v")  # select the object, drag a vertex, then the whole shape
    page.locator("#objects li").first.click()
    start = canvas_point(page, *CAT_HEAD[2])
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*canvas_point(page, 350, 40), steps=4)
    page.mouse.up()
    page.dblclick("#canvas", position=relative(page, CAT_HEAD[0]))  # a vertex: deleted
    expect(page.locator("#objects li .muted")).to_have_text("polygon · 3 pts")
    page.click("[data-action=undo]")
    expect(page.locator("#objects li .muted")).to_have_text("polygon · 4 pts")
    page.dblclick("#canvas", position=relative(page, (30, 165)))  # an edge: a vertex added
    expect(page.locator("#objects li .muted")).to_have_text("polygon · 5 pts")
    page.keyboard.press("Control+z")
    page.mouse.move(*canvas_point(page, 200, 150))  # the whole shape
    page.mouse.down()
    page.mouse.move(*canvas_point(page, 210, 155), steps=4)
    page.mouse.up()
    page.select_option("#relabel", "person")
    expect_objects(page, ["person"])
    assert page.get_attribute("#objects li", "title").startswith("Made by an import")
    page.click("[data-action=toggle-objects]")
    assert page.get_attribute("[data-action=toggle-objects]", "aria-pressed") == "true"
    page.keyboard.press("h")
    item = page.locator("#objects li").first  # one object hidden from the list: not drawn, not hit
    item.locator(".toggle-object").click()
    expect(item).to_have_class(re.compile("is-hidden"))
    expect(page.locator("#objects li.selected")).to_have_count(0)
    page.click("#canvas", position=relative(page, (200, 150)))
    expect(page.locator("#objects li.selected")).to_have_count(0)
    item.locator(".object-name").click()  # choosing it in the list shows it again
    expect(item).not_to_have_class(re.compile("is-hidden"))
    expect(page.locator("#objects li.selected")).to_have_count(1)
    page.keyboard.press("Escape")
    page.click("#canvas", position=relative(page, (200, 150)))
    expect(page.locator("#objects li.selected")).to_have_count(1)
    page.click("[data-action=delete-all]")
    expect_objects(page, [])
    page.keyboard.press("Control+z")
    expect_objects(page, ["person"])
    page.keyboard.press("Control+s")
    page.wait_for_selector("#save-status[data-state=clean]")
    (head,) = stored_annotation(dataset, "photos/b/cat.xml").objects
    assert head.label == "person" and len(head.points) == 4
    assert flat(head.points) == pytest.approx(flat([(30, 295), (50, 45), (360, 45), (380, 285)]), abs=1.5)

    expect(page.locator("[data-action=reset-shape]")).to_be_disabled()  # the saved outline is the current one
    page.mouse.move(*canvas_point(page, 200, 150))
    page.mouse.down()
    page.mouse.move(*canvas_point(page, 230, 170), steps=4)
    page.mouse.up()
    expect(page.locator("#save-status")).to_have_attribute("data-state", "dirty")
    page.keyboard.press("r")  # back to the saved outline: nothing left to save
    expect(page.locator("#save-status")).to_have_attribute("data-state", "clean")
    expect(page.locator("[data-action=reset-shape]")).to_be_disabled()

    page.click("[data-action=fullscreen]")
    expect(page.locator("[data-action=fullscreen]")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("document.fullscreenElement !== null")
    page.keyboard.press("Shift+F")
    expect(page.locator("[data-action=fullscreen]")).to_have_attribute("aria-pressed", "false")


def test_a_second_browser_saving_the_same_image_meets_the_conflict(browser, stack, admin_page, dataset, screenshots):
    token = stack.token()
    password = secrets.token_urlsafe(10)
    response = stack.api("POST", "/users", token, json={"username": "lena", "password": password, "role": "labeler"})
    assert response.status_code in (201, 409), response.text
    dataset_id = dataset["url"].rstrip("/").rsplit("/", 1)[1]
    joined = stack.api("POST", f"/datasets/{dataset_id}/members", token, json={"username": "lena", "role": "labeler"})
    assert joined.status_code == 201, joined.text
    other = log_in(browser, stack, "lena", password)
    try:
        for page in (admin_page, other):
            open_sample(page, dataset, "rocket.jpg")
            page.click("[data-action=tool-polygon]")
        for x, y in [(290, 120), (350, 120), (350, 400), (290, 400), (290, 120)]:
            click_image(other, x, y)
        other.click("#label-chooser button[data-label=cup]")
        save(other)

        for x, y in [(10, 10), (100, 10), (100, 100), (10, 10)]:
            click_image(admin_page, x, y)
        admin_page.click("#label-chooser button[data-label=person]")
        admin_page.click("[data-action=save]")
        admin_page.wait_for_selector("#conflict:not([hidden])")
        assert "lena saved this image" in admin_page.inner_text("#conflict-text")
        assert admin_page.inner_text("#save-status") == "Not saved"
        admin_page.screenshot(path=screenshots / "conflict.png")
        admin_page.click("#conflict-reload")
        expect_objects(admin_page, ["cup"])
        assert admin_page.locator("#conflict").is_hidden()
        with admin_page.expect_navigation():
            admin_page.click("[data-action=next]")  # nothing to save: leaves at once
    finally:
        other.context.close()


def test_upload_reports_each_file_and_delete_asks_first(admin_page, dataset):
    page = admin_page
    page.goto(dataset["url"])
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(png, format="PNG")
    page.set_input_files("#upload-input", files=[
        {"name": "green.png", "mimeType": "image/png", "buffer": png.getvalue()},
        {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"this is not an image"},
        {"name": "readme.txt", "mimeType": "text/plain", "buffer": b"hello"},
    ])
    expect(page.locator("#upload-results li")).to_have_text([
        re.compile(r"^green\.png: added as photos/green\.png$"),
        "notes.jpg: not a JPG, PNG or BMP image.",
        "readme.txt: not a JPG, PNG or BMP file",
    ])
    expect(page.locator("[data-count=total]")).to_have_text("5")

    page.check(".tile:has(.tile-name:text-is('green.png')) .select-sample")
    assert page.inner_text("#selected-count") == "1 selected"
    page.click("#delete-button")
    page.check("#delete-source")
    assert page.locator("#delete-source-warning").is_visible()
    page.click("#delete-confirm")
    expect(page.locator("[data-count=total]")).to_have_text("4")
    assert "green.png" not in page.locator(".tile-name").all_inner_texts()
    keys = [o.key for page_ in dataset["store"].list_pages(dataset["bucket"], "photos/") for o in page_]
    assert "photos/green.png" not in keys
