"""Every VOC shape on the labeling page (issue 12, item 6), in a real browser: drawn and edited as
itself, a Box tool, the attributes panel; a save rewrites the sibling XML with every object the
labeler did not touch equal in meaning (shape, coordinates, attributes, attribution)."""
from __future__ import annotations

import dataclasses
import secrets

import numpy as np
import pytest
from playwright.sync_api import expect

from storage.annotations import AnnotatedObject, Annotation, read_annotation, write_annotation
from storage.annotations.model import Part

from .canvas import canvas_point
from .test_labeling_day import jpeg, wait_for_job

pytestmark = pytest.mark.e2e

W, H = 400, 300
OBJECTS = [
    AnnotatedObject(label="car", shape="bndbox", points=[(40, 30), (140, 30), (140, 110), (40, 110)], pose="Left", truncated=True,
                    confidence=0.75, properties={"颜色": "红色", "plate": "B-123"}, parts=[Part("wheel", (50, 90, 70, 110))]),
    AnnotatedObject(label="sign", shape="point", points=[(300, 40)], difficult=True),
    AnnotatedObject(label="lane", shape="line", points=[(20, 280), (200, 200)], occluded=True),
    AnnotatedObject(label="lane", shape="dashed", points=[(220, 280), (260, 240), (380, 230)]),
    AnnotatedObject(label="road", shape="polygon", points=[(160, 150), (260, 140), (280, 220), (170, 230)], properties={"surface": "asphalt"}),
    AnnotatedObject(label="wheel", shape="circle", points=[(330, 150)], radius=30),
]


ATTRIBUTION = ("created_by", "created_at", "updated_by", "updated_at")
# Written from the service's label (its colour), not from the object: the file gains it on any write.
FROM_THE_LABEL = ("mask_color",)


def meaning(o: AnnotatedObject) -> tuple:
    """What a PASCAL-VOC reader takes from an object but its attribution: shape, coordinates, attributes."""
    fields = {k: v for k, v in dataclasses.asdict(o).items() if k not in ATTRIBUTION + FROM_THE_LABEL}
    fields["points"] = [tuple(p) for p in o.points]
    fields["parts"] = [(p.name, tuple(p.box)) for p in o.parts]
    return tuple(sorted((k, repr(v)) for k, v in fields.items()))


@pytest.fixture(scope="module")
def shapes(stack):
    """A dataset with one image whose sibling XML holds every kind of shape, synchronized."""
    store, bucket = stack.store(), f"shapes-{secrets.token_hex(4)}"
    store.ensure_bucket(bucket)
    pixels = np.full((H, W, 3), 90, np.uint8)
    pixels[::20] = 140  # stripes: the canvas shows where the image is
    store.put(bucket, "s/street.jpg", jpeg(pixels), content_type="image/jpeg")
    annotation = Annotation(filename="street.jpg", width=W, height=H, objects=OBJECTS)
    store.put(bucket, "s/street.xml", write_annotation(annotation), content_type="application/xml")
    token = stack.token()
    created = stack.api("POST", "/datasets", token, json={"name": f"shapes-{secrets.token_hex(3)}", "input_path": f"s3://{bucket}/s/"})
    assert created.status_code == 201, created.text
    dataset_id = created.json()["id"]
    wait_for_job(stack, token, stack.api("POST", f"/datasets/{dataset_id}/sync", token).json()["id"])
    sample = stack.api("GET", f"/datasets/{dataset_id}/samples?limit=10", token).json()["items"][0]
    return {"store": store, "bucket": bucket, "token": token, "url": f"/datasets/{dataset_id}/samples/{sample['id']}", "sample": sample["id"]}


def attribution(o: AnnotatedObject) -> tuple:
    return (o.created_by, o.created_at and o.created_at.isoformat(), o.updated_by, o.updated_at and o.updated_at.isoformat())


def api_attribution(o: dict) -> tuple:
    return (o["created_by"], o["created_at"], o["updated_by"], o["updated_at"])


def stored(shapes) -> list[AnnotatedObject]:
    return read_annotation(shapes["store"].get(shapes["bucket"], "s/street.xml"), "street.xml").objects


def drag(page, start, end) -> None:
    page.mouse.move(*canvas_point(page, *start))
    page.mouse.down()
    page.mouse.move(*canvas_point(page, *end), steps=4)
    page.mouse.up()


def test_every_shape_is_edited_as_itself_and_the_others_stay_as_they_were(admin_page, shapes, stack, screenshots):
    page = admin_page
    before = stored(shapes)
    api_before = stack.api("GET", f"/samples/{shapes['sample']}/annotation", shapes["token"]).json()["objects"]
    page.goto(shapes["url"])
    page.wait_for_selector("#canvas[data-ready=true]")
    page.uncheck("#autosave")  # this test saves on purpose
    expect(page.locator("#objects li .muted")).to_have_text(["box", "point", "line", "dashed line · 3 pts", "polygon · 4 pts", "circle"])

    # The box: selected, its bottom-right corner dragged, its attributes shown and edited.
    page.keyboard.press("v")
    page.mouse.click(*canvas_point(page, 90, 60))
    expect(page.locator("#objects li.selected .object-name")).to_have_text("1. car")
    expect(page.locator("#attr-pose")).to_have_value("Left")
    expect(page.locator("#attr-truncated")).to_be_checked()
    expect(page.locator("#attr-confidence")).to_have_value("0.75")
    expect(page.locator("#attr-properties .property-key")).to_have_text(["颜色", "plate"])  # in the file's order
    expect(page.locator("#attr-parts")).to_have_text("wheel: 50,90 – 70,110")
    drag(page, (140, 110), (160, 120))
    page.check("#attr-occluded")
    page.fill("#attr-add-property input[name=key]", "状态")
    page.fill("#attr-add-property input[name=value]", "停着")
    page.press("#attr-add-property input[name=value]", "Enter")
    page.screenshot(path=str(screenshots / "shapes-attributes.png"))
    page.click("[data-action=save]")
    expect(page.locator("#save-status")).to_contain_text("Saved by admin")

    after = stored(shapes)
    assert len(after) == len(before)
    for old, new, known in zip(before[1:], after[1:], api_before[1:]):
        assert meaning(new) == meaning(old), new.label
        assert attribution(new) == api_attribution(known), new.label  # who made it and when, as the service knew it
    car = after[0]
    assert (car.shape, car.points) == ("bndbox", [(40, 30), (160, 30), (160, 120), (40, 120)])
    assert (car.pose, car.truncated, car.occluded, car.difficult, car.confidence) == ("Left", True, True, False, 0.75)
    assert car.properties == {"颜色": "红色", "plate": "B-123", "状态": "停着"}
    assert [(p.name, tuple(p.box)) for p in car.parts] == [("wheel", (50, 90, 70, 110))]
    api_after = stack.api("GET", f"/samples/{shapes['sample']}/annotation", shapes["token"]).json()["objects"]
    assert api_after[1:] == api_before[1:]  # every field of the untouched objects as before, attribution too
    assert api_after[0]["updated_by"] == "admin" and api_after[0]["created_at"] == api_before[0]["created_at"]

    # A line's end and a circle's rim dragged, a box drawn with the Box tool: each stays its shape.
    page.mouse.click(*canvas_point(page, 110, 240))  # on the line
    expect(page.locator("#objects li.selected .object-name")).to_have_text("3. lane")
    drag(page, (200, 200), (210, 190))
    page.mouse.click(*canvas_point(page, 330, 150))
    expect(page.locator("#objects li.selected .object-name")).to_have_text("6. wheel")
    drag(page, (360, 150), (370, 150))
    page.click("[data-action=tool-box]")
    drag(page, (10, 150), (60, 190))
    expect(page.locator("#label-chooser")).to_be_visible()
    page.click("#chooser-list button[data-label=car]")
    page.screenshot(path=str(screenshots / "shapes-edited.png"))
    page.click("[data-action=save]")
    expect(page.locator("#save-status")).to_contain_text("Saved by admin")
    final = stored(shapes)
    assert (final[2].shape, final[2].points) == ("line", [(20, 280), (210, 190)])
    assert (final[5].shape, final[5].points, final[5].radius) == ("circle", [(330, 150)], 40)
    assert (final[6].shape, final[6].label, final[6].points) == ("bndbox", "car", [(10, 150), (60, 150), (60, 190), (10, 190)])
    assert [meaning(o) for i, o in enumerate(final[:6]) if i not in (2, 5)] == [meaning(o) for i, o in enumerate(after) if i not in (2, 5)]
