"""The API documentation page: Swagger UI from local files, over the service's OpenAPI document."""
from __future__ import annotations

import re


def test_the_docs_page_loads_swagger_ui_from_this_server(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
    assert len(assets) >= 5 and not any("//" in a for a in assets)  # nothing from another host
    for path in assets:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.content_length or response.get_data(), path
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]  # no inline script needed
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_only_swagger_ui_files_are_served(client):
    assert client.get("/api/docs/ui/index.html").status_code == 404
    assert client.get("/api/docs/ui/..%2F__init__.py").status_code == 404
