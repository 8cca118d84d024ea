"""The Team tab and the Images tab's team parts through Flask's test client, on both databases:
the tab lists the members and hands its script what the viewer may do; owners get the Assign and
Acceptance panels, labelers neither; the Images tab shows who labeled a tile, its review state and
who it is given to, offers the members as pick lists, and leaves out what a labeler may not use."""
from __future__ import annotations

import re

import pytest

from tests.dataset_service.conftest import add_member, as_user, make_user
from tests.dataset_service.factories import add_sample
from tests.dataset_service.web.pages import page_data, signed_in

BOX = {"label": "cat", "shape": "bndbox", "points": [[2, 2], [20, 20]]}
OWNER_ONLY = ('id="sync-button"', 'id="upload-input"', 'id="delete-button"', 'id="labels-card"', 'class="select-sample"')


@pytest.fixture
def team(app, admin, dataset):
    """The `dataset` fixture's three images; olga owns it, rita reviews, lena (already in) labels;
    lena is given every image, labels and hands in the first, and rita rejects it."""
    d = dataset["id"]
    for key in ("cats/a/one.png", "cats/a/two.jpg", "cats/b/three.png"):
        add_sample(app, d, key)
    add_member(app, d, "olga", "owner")
    add_member(app, d, "rita", "reviewer")
    owner, lena = as_user(app, "olga"), as_user(app, "lena")
    assert owner.post(f"/api/v1/datasets/{d}/assignments", json={"labelers": ["lena"]}).get_json()["matched"] == 3
    first = min(s["id"] for s in owner.get(f"/api/v1/datasets/{d}/samples").get_json()["items"])
    assert lena.put(f"/api/v1/samples/{first}/annotation", json={"revision": 0, "objects": [BOX]}).status_code == 200
    assert lena.post(f"/api/v1/samples/{first}/submit").status_code == 200
    rejected = as_user(app, "rita").post(f"/api/v1/samples/{first}/review", json={"decision": "reject", "reason": "too loose"})
    assert rejected.status_code == 200
    return {"id": d, "first": first}


def test_the_team_tab_lists_members_and_gives_owners_their_panels(app, team):
    client, _ = signed_in(app, "olga")
    response = client.get(f"/datasets/{team['id']}/team")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'data-section="team" class="active"', html)
    for panel in ('id="add-member-form"', 'data-testid="assign"', 'data-testid="acceptance"', 'id="remove-dialog"'):
        assert panel in html, panel
    data = page_data(response)
    assert (data["datasetId"], data["me"], data["roles"], data["acceptanceId"]) == (team["id"], "olga", ["owner", "reviewer", "labeler"], None)
    assert data["can"]["members"] and data["can"]["manage"]
    # The script draws the members from the API the page is built on: their figures are there.
    stats = {m["username"]: m for m in as_user(app, "olga").get(f"/api/v1/datasets/{team['id']}/team").get_json()["members"]}
    assert (stats["lena"]["assigned"], stats["lena"]["open"], stats["lena"]["rejected"], stats["lena"]["objects"]) == (3, 3, 1, 1)
    # A check started is the one the page opens with.
    started = as_user(app, "olga").post(f"/api/v1/datasets/{team['id']}/acceptances", json={"count": 1})
    assert started.status_code == 409  # nothing handed in now: the only submitted image was rejected
    as_user(app, "lena").post(f"/api/v1/samples/{team['first']}/submit")
    check = as_user(app, "olga").post(f"/api/v1/datasets/{team['id']}/acceptances", json={"count": 1}).get_json()
    assert page_data(client.get(f"/datasets/{team['id']}/team"))["acceptanceId"] == check["id"]


def test_a_labeler_sees_the_team_but_no_tools(app, team):
    client, _ = signed_in(app, "lena")
    response = client.get(f"/datasets/{team['id']}/team")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="members-body"' in html and 'data-testid="chart-saves"' in html
    for tool in ('id="add-member-form"', 'data-testid="assign"', 'data-testid="acceptance"', 'id="remove-dialog"'):
        assert tool not in html, tool
    data = page_data(response)
    assert data["acceptanceId"] is None and not data["can"]["members"] and not data["can"]["manage"]
    make_user(app, "nora")
    outsider, _ = signed_in(app, "nora")  # not a member: the same 404 as for a dataset that does not exist
    assert outsider.get(f"/datasets/{team['id']}/team").status_code == 404


def test_a_labelers_images_tab_shows_the_work_and_hides_the_owners_buttons(app, team):
    client, _ = signed_in(app, "lena")
    html = client.get(f"/datasets/{team['id']}").get_data(as_text=True)
    for button in OWNER_ONLY:
        assert button not in html, button
    assert 'id="my-work-button"' in html and 'id="review-queue-button"' not in html
    # Tiles: who labeled it and when, its review state, who it is given to.
    tile = re.search(rf'<li class="tile[^"]*" data-sample-id="{team["first"]}">(.*?)</li>', html, re.S).group(1)
    assert 'data-review="rejected"' in tile and "too loose" in tile
    assert 'data-labeled-by="lena"' in tile and 'data-assigned-to="lena"' in tile
    assert html.count('data-assigned-to="lena"') == 3
    # The pick lists hold the members; the filters work from the URL.
    for name in ("labeled_by", "assigned_to"):
        options = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
        assert re.findall(r"<option>(\w+)</option>", options) == ["lena", "olga", "rita"]
    assert '<option value="nobody">no one</option>' in html
    mine = client.get(f"/datasets/{team['id']}?assigned_to=lena&review=open&labeled_by=lena")
    page = mine.get_data(as_text=True)
    assert re.search(r'data-testid="result-total">1 image<', page)
    assert '<option selected>lena</option>' in page and '<option value="open" selected>' in page
    data = page_data(mine)
    assert data["me"] == "lena" and data["filter"]["api"] == {
        "state": "all", "label_op": "or", "labeled_by": "lena", "assigned_to": "lena", "review": "open"}
    assert data["filter"]["total"] == 1 and "assigned_to=lena" in data["filter"]["query"]
    # The labeling page's Next/Previous walk the same queue.
    label = client.get(f"/datasets/{team['id']}/samples/{team['first']}?assigned_to=lena&review=submitted")
    assert label.status_code == 200


def test_an_owner_sees_every_tool_and_a_reviewer_the_review_queue(app, team):
    client, _ = signed_in(app, "olga")
    html = client.get(f"/datasets/{team['id']}").get_data(as_text=True)
    for button in (*OWNER_ONLY, 'id="my-work-button"', 'id="review-queue-button"'):
        assert button in html, button
    reviewer, _ = signed_in(app, "rita")
    html = reviewer.get(f"/datasets/{team['id']}?review=rejected").get_data(as_text=True)
    assert 'id="review-queue-button"' in html and 'id="sync-button"' not in html
    assert re.search(r'data-testid="result-total">1 image<', html)
    bad = reviewer.get(f"/datasets/{team['id']}?review=lost").get_data(as_text=True)
    assert 'data-testid="filter-error"' in bad and "review" in bad.lower()
