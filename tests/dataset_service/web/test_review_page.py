"""The labeling page's review parts through Flask's test client, on both databases: the buttons a
role may use (Submit for whoever labels, Accept and Reject for reviewers), the image's review state
handed to the script, and the images a labeler may not change said to be read-only, with the
API's own reason."""
from __future__ import annotations

import pytest

from tests.dataset_service.conftest import add_member, as_user
from tests.dataset_service.factories import add_sample
from tests.dataset_service.web.pages import page_data, signed_in

BOX = {"label": "cat", "shape": "bndbox", "points": [[2, 2], [20, 20]]}
REVIEW_ONLY = ('id="review-accept"', 'id="review-reject"', 'id="reject-dialog"')


@pytest.fixture
def work(app, admin, dataset):
    """Three images: lena's first one labeled, handed in and rejected by rita; her second handed
    in; the third given to mia."""
    d = dataset["id"]
    ids = [add_sample(app, d, key) for key in ("r/one.png", "r/two.png", "r/three.png")]
    add_member(app, d, "rita", "reviewer")
    add_member(app, d, "mia", "labeler")
    admin.post(f"/api/v1/datasets/{d}/assignments", json={"labelers": ["lena"], "filter": {"path": "r/one.png"}})
    admin.post(f"/api/v1/datasets/{d}/assignments", json={"labelers": ["lena"], "filter": {"path": "r/two.png"}})
    admin.post(f"/api/v1/datasets/{d}/assignments", json={"labelers": ["mia"], "filter": {"path": "r/three.png"}})
    lena = as_user(app, "lena")
    for sample_id in ids[:2]:
        assert lena.put(f"/api/v1/samples/{sample_id}/annotation", json={"revision": 0, "objects": [BOX]}).status_code == 200
        assert lena.post(f"/api/v1/samples/{sample_id}/submit").status_code == 200
    rejected = as_user(app, "rita").post(f"/api/v1/samples/{ids[0]}/review", json={"decision": "reject", "reason": "too loose"})
    assert rejected.status_code == 200, rejected.get_json()
    return {"id": d, "samples": ids}


def page(app, username: str, work, index: int):
    client, _ = signed_in(app, username)
    response = client.get(f"/datasets/{work['id']}/samples/{work['samples'][index]}")
    assert response.status_code == 200
    return response.get_data(as_text=True), page_data(response)


def test_a_labeler_gets_submit_and_a_rejection_to_fix_but_no_review_buttons(app, work):
    html, data = page(app, "lena", work, 0)
    assert 'id="submit-review"' in html and 'id="review-banner"' in html and 'id="history-section"' in html
    for button in REVIEW_ONLY:
        assert button not in html, button
    review = data["review"]
    assert (review["review"], review["review_reason"], review["reviewed_by"], review["assigned_to"]) == ("rejected", "too loose", "rita", "lena")
    assert data["me"] == "lena" and data["locked"] is None  # rejected: hers to fix
    assert 'data-manage="false"' in html  # she adds labels, but renaming and deleting them are the owner's
    assert 'data-manage="true"' in page(app, "admin", work, 0)[0]

    # Handed in (waiting for review), or given to someone else: read-only for her, and why.
    _, submitted = page(app, "lena", work, 1)
    assert submitted["review"]["review"] == "submitted" and "submitted" in submitted["locked"]
    _, others = page(app, "lena", work, 2)
    assert others["locked"] == "This image is assigned to someone else." and others["review"]["state"] == "unlabeled"


def test_a_reviewer_gets_accept_and_reject_and_may_change_any_image(app, work):
    html, data = page(app, "rita", work, 1)
    for button in (*REVIEW_ONLY, 'id="review-rating"', 'id="submit-review"', 'id="restore-revision"'):
        assert button in html, button
    assert data["review"]["review"] == "submitted" and data["locked"] is None


def test_a_save_from_the_page_is_kept_in_the_history_as_the_pages(app, work):
    """The page saves through the API with its session cookie: its revisions say `page`, a token's `api`."""
    sample_id = work["samples"][2]  # mia's
    client, token = signed_in(app, "mia")
    url = f"/api/v1/samples/{sample_id}/annotation"
    assert client.put(url, json={"revision": 0, "objects": [BOX]}, headers={"X-CSRFToken": token}).status_code == 200
    mia = as_user(app, "mia")
    assert mia.put(url, json={"revision": 1, "objects": []}).status_code == 200
    tools = [r["tool"] for r in mia.get(f"/api/v1/samples/{sample_id}/history").get_json()["items"]]
    assert tools == ["api", "page"]
