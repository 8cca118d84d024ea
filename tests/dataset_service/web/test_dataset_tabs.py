"""The dataset's tabs through Flask's test client: every dataset page shows the same tab bar, and
the Versions and Dashboard tabs hand their scripts the dataset and what the viewer may do."""
from __future__ import annotations

import re

from tests.dataset_service.web.pages import page_data, signed_in

TAB_RE = re.compile(r'<a href="([^"]+)" data-section="(\w+)" class="(active)?"')


def test_each_dataset_page_shows_the_tabs_with_its_own_active(app, admin, dataset):
    client, _ = signed_in(app)
    base = f"/datasets/{dataset['id']}"
    sections = [(base, "images"), (f"{base}/versions", "versions"), (f"{base}/dashboard", "dashboard"), (f"{base}/team", "team")]
    for path, active in sections:
        response = client.get(path)
        assert response.status_code == 200, path
        tabs = TAB_RE.findall(response.get_data(as_text=True))
        assert [(href, name) for href, name, _ in tabs] == sections
        assert [name for _, name, on in tabs if on] == [active]
    data = page_data(client.get(f"{base}/versions"))
    assert data["datasetId"] == dataset["id"] and data["can"]["manage"] is True
    assert 'id="publish-button"' in client.get(f"{base}/versions").get_data(as_text=True)


def test_an_unknown_datasets_tabs_are_404(app, admin):
    client, _ = signed_in(app)
    assert client.get("/datasets/999999/versions").status_code == 404
    assert client.get("/datasets/999999/dashboard").status_code == 404
