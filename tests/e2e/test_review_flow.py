"""Issue 14's "Done when" in a real browser, four people at once (four browser contexts): an owner
has given two labelers an image each; labeler 1 draws a box from My work and submits it; the
reviewer opens the review queue and rejects it with a reason; labeler 1 reads the reason on the
canvas, fixes the image and submits it again; labeler 2 labels and submits theirs; the reviewer
accepts both, moving from one to the next (ratings B and A); the owner's acceptance check reports
both labelers. And a save overwritten after a conflict comes back from the History panel.
"""
from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.dataset_service.conftest import image_bytes
from tests.e2e.canvas import canvas_point, click_image, expect_objects
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

ROLES = {"owner": "owner", "rev": "reviewer", "lab1": "labeler", "lab2": "labeler"}
REASON = "the box misses the cat's tail"
THEIRS = [[20, 20], [60, 50]]  # the owner's box, in image pixels (the image is 160x120)



@pytest.fixture(scope="module")
def crew(stack):
    """Four users in one dataset of three images: the owner, a reviewer and two labelers, each
    labeler given one image (the API does it: the Team tab's assignment has its own test)."""
    token, tag = stack.token(), secrets.token_hex(3)
    users = {key: (f"{key}{tag}", secrets.token_urlsafe(12)) for key in ROLES}
    for name, password in users.values():
        created = stack.api("POST", "/users", token, json={"username": name, "password": password, "role": "labeler"})
        assert created.status_code == 201, created.text
    bucket = f"e2e-r-{tag}"
    stack.store().ensure_bucket(bucket)
    dataset = stack.api("POST", "/datasets", token, json={
        "name": f"review-{tag}", "input_path": f"s3://{bucket}/imgs/", "labels": [{"name": "cat", "color": "#ff0000"}]}).json()
    d = dataset["id"]
    for key, role in ROLES.items():
        added = stack.api("POST", f"/datasets/{d}/members", token, json={"username": users[key][0], "role": role})
        assert added.status_code == 201, added.text
    files = [("files", (f"i{n}.png", image_bytes(160, 120, color=(60 * n, 120, 180)), "image/png")) for n in range(3)]
    assert stack.api("POST", f"/datasets/{d}/images", token, files=files).status_code == 201
    ids = {s["key"].rsplit("/", 1)[-1]: s["id"] for s in stack.api("GET", f"/datasets/{d}/samples", token).json()["items"]}
    for name, labeler in (("i0.png", "lab1"), ("i1.png", "lab2")):
        given = stack.api("POST", f"/datasets/{d}/assignments", token, json={"labelers": [users[labeler][0]], "filter": {"path": name}})
        assert given.json()["matched"] == 1, given.text
    return {"id": d, "users": users, "token": token, "samples": ids}


def open_queue(page, d: int, button: str) -> int:
    """Open a queue from the dataset page (My work or the review queue); return the image's id."""
    page.goto(f"/datasets/{d}")
    page.click(button)
    page.wait_for_url(re.compile(rf"/datasets/{d}/samples/\d+\?"))
    page.wait_for_selector("#canvas[data-ready=true]")
    return int(re.search(r"/samples/(\d+)", page.url).group(1))


def draw_box(page, corner, other) -> None:
    page.click("[data-action=tool-box]")
    page.mouse.move(*canvas_point(page, *corner))
    page.mouse.down()
    page.mouse.move(*canvas_point(page, *other), steps=4)
    page.mouse.up()
    page.click("#label-chooser button[data-label=cat]")


def moved_on_or_reloaded(page, action) -> None:
    """Click an action that moves on to the next image (or reloads this one) and wait for the page."""
    with page.expect_navigation():
        action()
    page.wait_for_selector("#canvas[data-ready=true]")


def test_label_submit_reject_fix_accept_acceptance_and_history(browser, stack, crew, screenshots):
    d, users, samples = crew["id"], crew["users"], crew["samples"]
    pages = {key: log_in(browser, stack, *users[key]) for key in ROLES}
    lab1, lab2, rev, owner = pages["lab1"], pages["lab2"], pages["rev"], pages["owner"]
    api = lambda method, path, **kw: stack.api(method, path, crew["token"], **kw)  # noqa: E731
    try:
        # Labeler 1: My work opens her image; she draws a box and submits (saved first).
        first = open_queue(lab1, d, "#my-work-button")
        assert first == samples["i0.png"] and "assigned_to=" in lab1.url
        expect(lab1.locator("#review-badge")).to_have_text("Unlabeled")
        assert lab1.locator("#review-accept, #review-reject").count() == 0  # a labeler does not review
        draw_box(lab1, (30, 30), (90, 80))
        moved_on_or_reloaded(lab1, lambda: lab1.click("#submit-review"))
        expect(lab1.locator("#review-badge")).to_have_text("Submitted")
        expect(lab1.locator("#locked-banner")).to_contain_text("Read-only for you: This image is submitted")
        expect(lab1.locator("[data-action=tool-box]")).to_be_disabled()
        assert api("GET", f"/samples/{first}").json()["review"] == "submitted"

        # The reviewer opens the review queue and rejects it; an empty reason is refused.
        assert open_queue(rev, d, "#review-queue-button") == first
        expect(rev.locator("#submit-review")).to_be_hidden()
        rev.click("#review-reject")
        rev.click("#reject-confirm")
        expect(rev.locator("#reject-error")).to_have_text("Write a reason: the labeler needs to know what to fix.")
        rev.fill("#reject-reason", REASON)
        moved_on_or_reloaded(rev, lambda: rev.click("#reject-confirm"))
        expect(rev.locator("#review-badge")).to_have_text("Rejected")
        sample = api("GET", f"/samples/{first}").json()
        assert (sample["review"], sample["review_reason"], sample["reviewed_by"]) == ("rejected", REASON, users["rev"][0])

        # Labeler 1 reads the reason on the canvas, adds the tail and submits again.
        assert open_queue(lab1, d, "#my-work-button") == first
        banner = lab1.locator("#review-banner")
        expect(banner).to_have_text(f"Rejected by {users['rev'][0]}: {REASON}")
        stage, box = lab1.locator("#stage").bounding_box(), banner.bounding_box()
        assert stage["y"] <= box["y"] < stage["y"] + 60 and stage["x"] <= box["x"] <= stage["x"] + stage["width"]  # over the canvas's top
        lab1.screenshot(path=screenshots / "review-rejected.png")
        draw_box(lab1, (90, 60), (130, 90))
        expect_objects(lab1, ["cat", "cat"])
        moved_on_or_reloaded(lab1, lambda: lab1.click("#submit-review"))
        expect(lab1.locator("#review-banner")).to_be_hidden()
        expect(lab1.locator("#review-badge")).to_have_text("Submitted")

        # Labeler 2 labels her image with a polygon and submits.
        second = open_queue(lab2, d, "#my-work-button")
        assert second == samples["i1.png"]
        lab2.click("[data-action=tool-polygon]")
        for x, y in [(20, 20), (80, 20), (80, 70), (20, 70), (20, 20)]:
            click_image(lab2, x, y)
        lab2.click("#label-chooser button[data-label=cat]")
        moved_on_or_reloaded(lab2, lambda: lab2.click("#submit-review"))
        expect(lab2.locator("#review-badge")).to_have_text("Submitted")

        # The reviewer accepts both: a rating is required; Accept moves on to the next one.
        assert open_queue(rev, d, "#review-queue-button") == first
        rev.click("#review-accept")
        expect(rev.locator("#message")).to_contain_text("Choose a rating first")
        rev.select_option("#review-rating", "B")
        moved_on_or_reloaded(rev, lambda: rev.click("#review-accept"))
        assert f"/samples/{second}?review=submitted" in rev.url
        expect(rev.locator("#review-notice")).to_have_text("Accepted with rating B.")
        rev.select_option("#review-rating", "A")
        moved_on_or_reloaded(rev, lambda: rev.click("#review-accept"))
        expect(rev.locator("#review-badge")).to_have_text("Accepted · A")
        expect(rev.locator("#review-who")).to_have_text(f"by {users['rev'][0]} · given to {users['lab2'][0]}")
        states = {s: api("GET", f"/samples/{s}").json() for s in (first, second)}
        assert [(states[s]["review"], states[s]["review_rating"]) for s in (first, second)] == [("accepted", "B"), ("accepted", "A")]

        # The owner's acceptance check on the Team tab reports both labelers.
        owner.goto(f"/datasets/{d}/team")
        owner.select_option("#acceptance-unit", "count")
        owner.fill("#acceptance-amount", "2")
        owner.click("#acceptance-start-button")
        expect(owner.locator("#acceptance-samples .tile")).to_have_count(2)
        owner.select_option("#acceptance-outcome", "pass_all")
        owner.click("#acceptance-finish-button")
        expect(owner.locator("#acceptance-view")).to_have_attribute("data-state", "finished")
        for labeler in ("lab1", "lab2"):
            row = owner.locator(f"[data-testid=acceptance-report] tr[data-labeler={users[labeler][0]}]")
            expect(row.locator("[data-figure=drawn]")).to_have_text("1")

        # History: the owner saves the third image (through the API) while the reviewer has it open;
        # the reviewer meets the conflict, overwrites, and restores the owner's revision from History.
        third = samples["i2.png"]
        rev.goto(f"/datasets/{d}/samples/{third}")
        rev.wait_for_selector("#canvas[data-ready=true]")
        owner_token = stack.token(*users["owner"])
        saved = stack.api("PUT", f"/samples/{third}/annotation", owner_token, json={"revision": 0, "objects": [
            {"label": "cat", "shape": "bndbox", "points": THEIRS}]})
        assert saved.status_code == 200, saved.text
        draw_box(rev, (100, 60), (150, 110))
        rev.click("[data-action=save]")
        expect(rev.locator("#conflict-text")).to_contain_text("their version stays in History")
        rev.click("#conflict-overwrite")
        expect(rev.locator("#conflict")).to_be_hidden()
        rev.click("#history-section > summary")
        rows = rev.locator("#revisions li")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text(f"replaced {users['owner'][0]}'s revision 1")
        rev.click("#revisions li[data-revision='1']")
        expect(rev.locator("#preview-banner")).to_contain_text(f"Revision 1 by {users['owner'][0]}")
        expect(rev.locator("#canvas")).to_have_attribute("data-shown", "revision 1")
        expect(rev.locator("[data-action=tool-box]")).to_be_disabled()  # a revision shown is read-only
        rev.screenshot(path=screenshots / "history.png")
        rev.click("#restore-revision")
        expect(rev.locator("#preview-banner")).to_be_hidden()
        expect(rows).to_have_count(3)
        expect(rows.first).to_contain_text("restored from revision 1")
        expect_objects(rev, ["cat"])  # the owner's box again: deleted by the overwrite, it comes back as the owner's
        expect(rev.locator("#objects .object-author")).to_have_text([f"{users['owner'][0]} · changed by {users['rev'][0]}"])
        current = api("GET", f"/samples/{third}/annotation").json()
        assert current["revision"] == 3 and [o["points"] for o in current["objects"]] == [[[20, 20], [60, 20], [60, 50], [20, 50]]]
        newest = api("GET", f"/samples/{third}/history", params={"limit": 1}).json()["items"][0]
        assert (newest["tool"], newest["restored_from"], newest["saved_by"]) == ("restore", 1, users["rev"][0])
        for key, page in pages.items():
            assert not page.js_errors, (key, page.js_errors)
    finally:
        for page in pages.values():
            page.context.close()
