"""The Team tab and the work queue in a real browser against the running stack: an owner adds two
labelers and assigns the unlabeled images evenly; a labeler's "My work" opens an image given to
them; the owner draws an acceptance check of the handed-in work, passes one image, rejects one with
a reason, finishes with "pass the rest" and reads the report.
"""
from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.dataset_service.conftest import image_bytes
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.e2e

SQUARE = [[10, 10], [40, 10], [40, 30], [10, 30]]



@pytest.fixture(scope="module")
def team(stack):
    """A dataset of four uploaded images, an owner and two users who are not members yet."""
    token, tag = stack.token(), secrets.token_hex(3)
    users = {role: (f"{role}{tag}", secrets.token_urlsafe(12)) for role in ("owner", "lab", "mate")}
    for name, password in users.values():
        created = stack.api("POST", "/users", token, json={"username": name, "password": password, "role": "labeler"})
        assert created.status_code == 201, created.text
    bucket = f"e2e-t-{tag}"
    stack.store().ensure_bucket(bucket)
    dataset = stack.api("POST", "/datasets", token, json={
        "name": f"team-{tag}", "input_path": f"s3://{bucket}/imgs/", "labels": [{"name": "cat", "color": "#ff0000"}]}).json()
    members = stack.api("POST", f"/datasets/{dataset['id']}/members", token, json={"username": users["owner"][0], "role": "owner"})
    assert members.status_code == 201, members.text
    files = [("files", (f"i{n}.png", image_bytes(64, 48, color=(40 * n, 140, 200)), "image/png")) for n in range(4)]
    uploaded = stack.api("POST", f"/datasets/{dataset['id']}/images", token, files=files)
    assert uploaded.status_code == 201, uploaded.text
    return {"dataset": dataset, "users": users, "token": token}


def test_owner_assigns_labeler_opens_my_work_and_an_acceptance_check_is_finished(browser, stack, team, screenshots):
    d, users = team["dataset"]["id"], team["users"]
    (owner_name, owner_pw), (lab, lab_pw), (mate, _) = users["owner"], users["lab"], users["mate"]
    owner = log_in(browser, stack, owner_name, owner_pw)

    # The owner adds two labelers from the Team tab and assigns the unlabeled images evenly.
    owner.goto(f"/datasets/{d}")
    owner.click("[data-testid=sections] >> text=Team")
    owner.wait_for_url(re.compile(rf"/datasets/{d}/team$"))
    for name in (lab, mate):
        owner.fill("#member-username", name)
        owner.select_option("#member-role", "labeler")
        owner.click("#add-member-form button[type=submit]")
        expect(owner.locator(f"tr[data-member={name}] select")).to_have_value("labeler")
    expect(owner.locator(f"#assign-labelers [data-labeler={lab}] input[type=checkbox]")).to_be_checked()
    expect(owner.locator(f"#assign-labelers [data-labeler={owner_name}] input[type=checkbox]")).not_to_be_checked()
    owner.click("#assign-button")
    expect(owner.locator("#assign-result")).to_have_text(f"Assigned 4 images: {lab} 2, {mate} 2.")
    expect(owner.locator(f"tr[data-member={lab}] [data-figure=assigned]")).to_have_text("2")

    # The labeler's "My work" opens an image given to them, with the queue's filter for Next/Previous.
    labeler = log_in(browser, stack, lab, lab_pw)
    labeler.goto(f"/datasets/{d}")
    expect(labeler.locator("#my-work-count")).to_have_text("(2)")
    assert labeler.locator("#sync-button, #upload-input, #delete-button, #review-queue-button").count() == 0
    assert labeler.locator(f"[data-assigned-to={lab}]").count() == 2
    assert not labeler.js_errors, labeler.js_errors
    labeler.screenshot(path=screenshots / "team-my-work.png", full_page=True)
    labeler.click("#my-work-button")
    labeler.wait_for_url(re.compile(rf"/datasets/{d}/samples/(\d+)\?assigned_to={lab}&review=open"))
    opened = int(re.search(r"/samples/(\d+)", labeler.url).group(1))
    lab_token = stack.token(lab, lab_pw)
    assert stack.api("GET", f"/samples/{opened}", lab_token).json()["assigned_to"] == lab
    labeler.context.close()

    # The labeler hands in both images; the owner draws both, passes one and rejects one.
    mine = stack.api("GET", f"/datasets/{d}/samples", lab_token, params={"assigned_to": lab}).json()["items"]
    for sample in mine:
        saved = stack.api("PUT", f"/samples/{sample['id']}/annotation", lab_token, json={"revision": 0, "objects": [{"label": "cat", "points": SQUARE}]})
        assert saved.status_code == 200, saved.text
        assert stack.api("POST", f"/samples/{sample['id']}/submit", lab_token).status_code == 200
    owner.reload()
    owner.select_option("#acceptance-unit", "count")
    owner.fill("#acceptance-amount", "2")
    owner.fill("#acceptance-seed", "7")
    owner.click("#acceptance-start-button")
    tiles = owner.locator("#acceptance-samples .tile")
    expect(tiles).to_have_count(2)
    first, second = (int(tiles.nth(i).get_attribute("data-sample-id")) for i in range(2))
    owner.locator(f"[data-sample-id='{first}'] [data-verdict=pass]").click()
    expect(owner.locator(f".tile[data-sample-id='{first}']")).to_have_attribute("data-verdict", "pass")
    owner.locator(f"[data-sample-id='{second}'] [data-verdict=reject]").click()  # no reason: refused, and said why
    expect(owner.locator("#acceptance-error")).to_contain_text("reason")
    owner.locator(f"[data-sample-id='{second}'] input.reason").fill("the cat's tail is cut off")
    owner.locator(f"[data-sample-id='{second}'] [data-verdict=reject]").click()
    expect(owner.locator(f".tile[data-sample-id='{second}']")).to_have_attribute("data-verdict", "reject")
    owner.select_option("#acceptance-outcome", "pass_rest")
    owner.click("#acceptance-finish-button")
    expect(owner.locator("#acceptance-view")).to_have_attribute("data-state", "finished")
    report = owner.locator(f"[data-testid=acceptance-report] tr[data-labeler={lab}]")
    for figure, value in (("drawn", "2"), ("checked", "2"), ("passed", "1"), ("rejected", "1"), ("pass_rate", "50%")):
        expect(report.locator(f"[data-figure={figure}]")).to_have_text(value)
    expect(owner.locator(f"tr[data-member={lab}] [data-figure=rejected]")).to_have_text("1")
    owner.screenshot(path=screenshots / "team-tab.png", full_page=True)
    rejected = stack.api("GET", f"/samples/{second}", team["token"]).json()
    assert (rejected["review"], rejected["review_reason"]) == ("rejected", "the cat's tail is cut off")
    assert stack.api("GET", f"/samples/{first}", team["token"]).json()["review"] == "accepted"
    assert not owner.js_errors, owner.js_errors
    owner.context.close()
