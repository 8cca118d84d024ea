"""Files other tools wrote (tests/storage/fixtures/: LabelImg, PASCAL VOC 2012 with parts, CVAT's VOC
export, ModelArts) go through the labeling page losslessly (issue 12, "Done when"): each is
synchronized, one of its objects is edited in a real browser and saved, and the file read back
holds the edited object as edited and every other object, and the file's own fields, equal in
meaning to what the file had."""
from __future__ import annotations

import dataclasses
import io
import math
import secrets
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from storage.annotations import AnnotatedObject, Annotation, read_annotation
from tests.storage.test_annotations_roundtrip import integer_reader

from .canvas import canvas_point
from .test_labeling_day import wait_for_job
from .test_shapes_page import ATTRIBUTION, FROM_THE_LABEL, api_attribution, attribution, drag

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).parents[1] / "storage" / "fixtures"
# What the object list says about each file's objects once synchronized (a closed polygon is shown open).
LISTED = {
    "labelimg.xml": ["box", "box"],
    "voc2012_parts.xml": ["point", "box"],
    "cvat_voc.xml": ["box", "box"],
    "modelarts.xml": ["polygon · 3 pts", "box", "point", "line", "dashed line · 2 pts", "polyline · 3 pts", "circle"],
}


def on_grid(value: float) -> int:
    """A coordinate as the writer puts it on the pixel grid: the nearest pixel, halves up."""
    return math.floor(value + 0.5)


def meaning(o: AnnotatedObject) -> tuple:
    """What a PASCAL-VOC reader takes from an object but its attribution: label, shape and coordinates
    on the grid, pose and flags, confidence, properties, parts, extra shapes, kept extension elements."""
    fields = {k: v for k, v in dataclasses.asdict(o).items() if k not in ATTRIBUTION + FROM_THE_LABEL}
    fields["points"] = [(on_grid(x), on_grid(y)) for x, y in o.points]
    fields["properties"] = sorted(o.properties.items())  # a map: the order of its keys means nothing
    fields["radius"] = None if o.radius is None else on_grid(o.radius)
    fields["parts"] = [(p.name, tuple(on_grid(v) for v in p.box)) for p in o.parts]
    fields["extra_shapes"] = [(s.shape, [(on_grid(x), on_grid(y)) for x, y in s.points], s.radius) for s in o.extra_shapes]
    return tuple(sorted((k, repr(v)) for k, v in fields.items()))


def file_fields(a: Annotation) -> dict:
    return {"filename": a.filename, "size": (a.width, a.height), "folder": a.folder, "source": a.source, "segmented": a.segmented,
            "depth": a.depth, "attributes": a.attributes, "extensions": a.extensions}


def image_of(width: int, height: int, name: str) -> bytes:
    """An RGB image of that size, striped (the canvas shows where it is), in the format its name says."""
    image = Image.new("RGB", (width, height), (90, 90, 90))
    for y in range(0, height, 20):
        image.paste((140, 140, 140), (0, y, width, y + 1))
    out = io.BytesIO()
    image.save(out, format="PNG" if name.endswith(".png") else "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def styles(stack):
    """One dataset holding each fixture file beside an image of the size it declares, synchronized once."""
    store, bucket = stack.store(), f"styles-{secrets.token_hex(4)}"
    store.ensure_bucket(bucket)
    files = {}
    for path in sorted(FIXTURES.glob("*.xml")):
        data = path.read_bytes()
        original = read_annotation(data, path.name)
        folder = f"styles/{path.stem}/"
        store.put(bucket, folder + original.filename, image_of(original.width, original.height, original.filename))
        xml = folder + original.filename.rsplit(".", 1)[0] + ".xml"
        store.put(bucket, xml, data, content_type="application/xml")
        files[path.name] = {"image": folder + original.filename, "xml": xml, "original": original}
    token = stack.token()
    created = stack.api("POST", "/datasets", token, json={"name": f"styles-{secrets.token_hex(3)}", "input_path": f"s3://{bucket}/styles/"})
    assert created.status_code == 201, created.text
    dataset_id = created.json()["id"]
    job = wait_for_job(stack, token, stack.api("POST", f"/datasets/{dataset_id}/sync", token).json()["id"])
    assert job["counts"].get("errors", 0) == 0, job
    ids = {s["key"]: s["id"] for s in stack.api("GET", f"/datasets/{dataset_id}/samples?limit=100", token).json()["items"]}
    for info in files.values():
        info["sample"] = ids[info["image"]]
        info["url"] = f"/datasets/{dataset_id}/samples/{info['sample']}"
    return {"store": store, "bucket": bucket, "token": token, "files": files}


def select(page, point, name: str) -> None:
    """Select the object under `point` (image pixels) with the Select tool."""
    page.keyboard.press("v")
    page.mouse.click(*canvas_point(page, *point))
    expect(page.locator("#objects li.selected .object-name")).to_have_text(name)


def edit_labelimg(page) -> None:
    """The person's box (it holds the dog's): its top-left corner dragged."""
    select(page, (300, 100), "2. person")
    drag(page, (8, 12), (20, 25))


def edit_voc2012(page) -> None:
    """The person's point (the object also has a box, three parts and <actions>): dragged."""
    select(page, (249, 108), "1. person")
    drag(page, (249, 108), (260, 120))


def edit_cvat(page) -> None:
    """The car (decimal coordinates, CVAT's <attributes>): marked difficult in the attributes panel."""
    select(page, (290, 270), "1. car")
    expect(page.locator("#attr-occluded")).to_be_checked()
    page.check("#attr-difficult")


def edit_modelarts(page) -> None:
    """The cat's polygon (closed in the file, Chinese properties): one vertex dragged."""
    select(page, (65, 66), "1. 猫")
    expect(page.locator("#attr-properties .property-key")).to_have_count(2)
    drag(page, (49, 78), (44, 84))


def moved(points, old, new) -> list:
    return [new if (on_grid(x), on_grid(y)) == old else (on_grid(x), on_grid(y)) for x, y in points]


# Per style: the object edited (its index), how, and what it is expected to become from what the file had.
EDITS = {
    "labelimg.xml": (1, edit_labelimg, lambda o: dataclasses.replace(o, points=[(20, 25), (352, 25), (352, 480), (20, 480)])),
    "voc2012_parts.xml": (0, edit_voc2012, lambda o: dataclasses.replace(o, points=[(260, 120)])),
    "cvat_voc.xml": (0, edit_cvat, lambda o: dataclasses.replace(o, difficult=True)),
    "modelarts.xml": (0, edit_modelarts, lambda o: dataclasses.replace(o, points=[(71, 48), (75, 73), (44, 84)])),
}


def test_a_file_of_each_style_keeps_everything_but_the_one_object_edited_in_the_browser(admin_page, styles, stack):
    page, store, bucket, token = admin_page, styles["store"], styles["bucket"], styles["token"]
    for style, info in styles["files"].items():
        index, edit, expected = EDITS[style]
        original: Annotation = info["original"]
        api_before = stack.api("GET", f"/samples/{info['sample']}/annotation", token).json()
        assert api_before["warning"] is None, (style, api_before["warning"])
        page.goto(info["url"])
        page.wait_for_selector("#canvas[data-ready=true]")
        expect(page.locator("#objects li .muted")).to_have_text(LISTED[style])
        edit(page)
        page.click("[data-action=save]")
        expect(page.locator("#save-status")).to_contain_text("Saved by admin")

        written = store.get(bucket, info["xml"])
        integer_reader(written)  # every coordinate a whole number
        after = read_annotation(written, info["xml"].rsplit("/", 1)[1])
        assert after.rejected == [], style
        assert [o.label for o in after.objects] == [o.label for o in original.objects], style
        for i, (old, new) in enumerate(zip(original.objects, after.objects)):
            if i == index:
                assert meaning(new) == meaning(expected(old)), (style, new)
                assert new.updated_by == "admin", style
            else:
                assert meaning(new) == meaning(old), (style, new)
                assert attribution(new) == api_attribution(api_before["objects"][i]), (style, new.label)
        depth = original.depth if original.depth is not None else 3  # a file without depth gets the image's (RGB)
        assert file_fields(after) == {**file_fields(original), "depth": depth}, style

        api_after = stack.api("GET", f"/samples/{info['sample']}/annotation", token).json()["objects"]
        assert [o for i, o in enumerate(api_after) if i != index] == [o for i, o in enumerate(api_before["objects"]) if i != index], style
