"""The Versions and Dashboard tabs in a real browser against the running stack: publish from the
dialog, follow it in the list, compare a version with the working state, set it as current after
a confirmation that says what will change (an autosave keeps the work it replaces), export COCO and
download the zip from its link; the dashboard shows the dataset's real figures.
"""
from __future__ import annotations

import io
import json
import re
import secrets
import time
import zipfile

import pytest
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

SQUARE = [[10, 10], [40, 10], [40, 30], [10, 30]]
TRIANGLE = [[5, 5], [30, 5], [18, 25]]


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 140, 200)).save(out, format="PNG")
    return out.getvalue()


def wait_job(stack, token, job_id: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = stack.api("GET", f"/jobs/{job_id}", token).json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not end: {job}")


def save(stack, token, sample_id: int, objects, revision: int) -> None:
    body = {"revision": revision, "objects": [{"label": label, "points": points} for label, points in objects]}
    response = stack.api("PUT", f"/samples/{sample_id}/annotation", token, json=body)
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def labeled(stack):
    """A dataset of three images synchronized from the stack's S3 server, two of them labeled."""
    token, store, bucket = stack.token(), stack.store(), f"e2e-v-{secrets.token_hex(4)}"
    store.ensure_bucket(bucket)
    for name, size in (("a.png", (64, 48)), ("b.png", (80, 60)), ("c.png", (300, 200))):
        store.put(bucket, f"imgs/{name}", png(*size), content_type="image/png")
    dataset = stack.api("POST", "/datasets", token, json={
        "name": f"versions-{secrets.token_hex(3)}", "input_path": f"s3://{bucket}/imgs/", "output_path": f"s3://{bucket}/out/",
        "labels": [{"name": "cat", "color": "#ff0000"}, {"name": "dog", "color": "#0000ff"}],
    }).json()
    job = stack.api("POST", f"/datasets/{dataset['id']}/sync", token).json()
    assert wait_job(stack, token, job["id"])["status"] == "completed"
    samples = {s["key"]: s["id"] for s in stack.api("GET", f"/datasets/{dataset['id']}/samples", token).json()["items"]}
    save(stack, token, samples["imgs/a.png"], [("cat", SQUARE), ("dog", TRIANGLE)], 0)
    save(stack, token, samples["imgs/b.png"], [("cat", TRIANGLE)], 0)
    return {"dataset": dataset, "samples": samples, "token": token, "bucket": bucket}


def test_publish_compare_set_current_and_export_from_the_versions_tab(admin_page, stack, labeled, screenshots):
    page, dataset, token = admin_page, labeled["dataset"], labeled["token"]
    page.goto(f"/datasets/{dataset['id']}")
    page.click("[data-testid=sections] >> text=Versions")
    page.wait_for_url(re.compile(rf"/datasets/{dataset['id']}/versions$"))
    expect(page.locator("#versions-empty")).to_be_visible()

    # Publish V001 from the dialog, with a split; the list follows its job to the end.
    page.click("#publish-button")
    page.fill("#publish-description", "first cut")
    page.check("#publish-split")
    page.fill("#publish-ratio", "0.5")
    page.click("#publish-confirm")
    row = page.locator("tr[data-version=V001]")
    expect(row.locator(".state-normal")).to_have_text("normal", timeout=60_000)
    expect(row.locator(".badge.current")).to_be_visible()
    expect(row.locator("td").nth(2)).to_have_text("3")  # images
    expect(row.locator("td").nth(4)).to_have_text("3")  # objects
    expect(page.locator("#job-status")).to_have_attribute("data-status", "completed")

    # The working state moves on: one image changes, another is labeled.
    save(stack, token, labeled["samples"]["imgs/a.png"], [("dog", SQUARE)], 1)
    save(stack, token, labeled["samples"]["imgs/c.png"], [("cat", SQUARE)], 0)
    row.locator("[data-action=compare]").click()
    expect(page.locator("[data-diff=changed]")).to_have_text("2")
    expect(page.locator("[data-diff=added]")).to_have_text("0")
    expect(page.locator(".diff-list li")).to_have_count(2)
    assert "imgs/a.png" in page.inner_text("#diff") and "dog" in page.inner_text("#diff")
    page.screenshot(path=screenshots / "versions.png", full_page=True)

    # Set V001 as current: the confirmation says what changes; an autosave keeps today's work.
    row.locator("[data-action=set-current]").click()
    expect(page.locator("#current-changes")).to_contain_text("2 images whose labels differ get V001's labels back")
    page.click("#current-confirm")
    expect(page.locator("#job-status")).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(row.locator(".badge.current")).to_be_visible()
    expect(page.locator("tr[data-version=V002-autosave] .badge.autosave")).to_be_visible()
    annotation = stack.api("GET", f"/samples/{labeled['samples']['imgs/c.png']}/annotation", token).json()
    assert annotation["objects"] == []  # V001 held no object on c.png
    first = stack.api("GET", f"/samples/{labeled['samples']['imgs/a.png']}/annotation", token).json()
    assert [o["label"] for o in first["objects"]] == ["cat", "dog"]

    # Export COCO; its download link serves the zip.
    row.locator("[data-action=exports]").click()
    page.click("[data-export=coco]")
    link = page.locator("[data-export=coco][data-status=completed] a.download")
    expect(link).to_be_visible(timeout=60_000)
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.body()))
    names = archive.namelist()
    assert names and all(re.fullmatch(r"instances_(train|val)\.json", n) for n in names), names
    assert sum(len(json.loads(archive.read(n))["images"]) for n in names) == 2  # V001's labeled images
    page.screenshot(path=screenshots / "versions-exports.png", full_page=True)


def test_the_dashboard_shows_the_datasets_figures(admin_page, stack, labeled, screenshots):
    page, dataset, token = admin_page, labeled["dataset"], labeled["token"]
    stats = stack.api("GET", f"/datasets/{dataset['id']}/stats", token).json()
    page.goto(f"/datasets/{dataset['id']}/dashboard")
    expect(page.locator("body[data-dashboard=ready]")).to_have_count(1)
    assert page.inner_text("[data-figure=total]") == "3"
    assert page.inner_text("[data-figure=objects]") == str(stats["objects"])
    for label in stats["labels"]:
        expect(page.locator(f"#chart-labels .bar-row[data-name={label['name']}] .value")).to_have_text(str(label["objects"]))
    sizes = page.locator("#chart-sizes .bar-row")
    expect(sizes.filter(has_text="257-512").locator(".value")).to_have_text("1")  # c.png, 300x200
    expect(page.locator("#chart-days rect")).to_have_count(len(stats["labeled_per_day"]))
    assert page.locator("#chart-labelers .bar-row[data-name=admin] .value").inner_text().endswith("(100%)")
    page.screenshot(path=screenshots / "dashboard.png", full_page=True)
