"""Bodies the worker cannot read as JSON are a 400 `invalid_json`, never a 500 (issue 17, finding 7)."""
from __future__ import annotations

import pytest

from inference_worker.app import create_app


@pytest.fixture(scope="module")
def client():
    """A worker without a model: bodies are read before the model is needed."""
    return create_app({"weights": "/nonexistent/weights.pt"}).test_client()


@pytest.mark.parametrize("data", ["[" * 50_000, '{"points": ' + "[" * 50_000, '{"a": ' * 2_000])
def test_json_nested_too_deeply_is_400(client, data):
    response = client.post("/v1/extreme-points", data=data, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.get_json()["error"] == "invalid_json" and "deeply" in response.get_json()["message"]


def test_json_that_does_not_parse_is_still_400(client):
    response = client.post("/v1/extreme-points", data="{", content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_json"
