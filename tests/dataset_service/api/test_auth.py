"""Authentication and roles."""
from __future__ import annotations

import time

from tests.dataset_service.conftest import Api, login, make_user

STRONG = "violet-kettle-42"  # passes the password policy


def test_token_and_me(admin):
    response = admin.get("/api/v1/me")
    assert response.status_code == 200
    assert response.get_json()["username"] == "admin"


def test_no_token_is_401(client):
    response = client.get("/api/v1/datasets")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_bad_token_is_401(client):
    response = Api(client, "not-a-token").get("/api/v1/datasets")
    assert response.status_code == 401
    assert "not valid" in response.get_json()["message"]


def test_wrong_password_is_401(app, client):
    make_user(app, "bob")
    response = client.post("/api/v1/auth/token", json={"username": "bob", "password": "wrong-password"})
    assert response.status_code == 401


def test_token_request_needs_fields(client):
    response = client.post("/api/v1/auth/token", json={"username": "bob"})
    assert response.status_code == 422
    assert "password" in response.get_json()["fields"]


def test_health_needs_no_token(client):
    assert client.get("/healthz").status_code == 200


def test_readyz_checks_database_and_store(client):
    deadline = time.monotonic() + 5
    while (response := client.get("/readyz")).get_json()["checks"]["object_store"] == "checking":  # the first check runs in the background
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"] == {"database": "ok", "object_store": "ok"}


def test_labeler_cannot_create_dataset_or_user(labeler, bucket):
    response = labeler.post("/api/v1/datasets", json={"name": "x1", "input_path": f"s3://{bucket}/x/"})
    assert response.status_code == 403
    response = labeler.post("/api/v1/users", json={"username": "eve", "password": STRONG})
    assert response.status_code == 403


def test_labeler_cannot_delete_dataset(labeler, dataset):
    assert labeler.delete(f"/api/v1/datasets/{dataset['id']}").status_code == 403


def test_admin_creates_user_who_can_log_in(app, admin):
    response = admin.post("/api/v1/users", json={"username": "carl", "password": STRONG, "role": "labeler"})
    assert response.status_code == 201
    assert login(app, "carl", STRONG).get("/api/v1/me").get_json()["role"] == "labeler"


def test_duplicate_user_is_409(admin):
    admin.post("/api/v1/users", json={"username": "carl", "password": STRONG})
    response = admin.post("/api/v1/users", json={"username": "carl", "password": STRONG})
    assert response.status_code == 409


def test_openapi_document_lists_endpoints(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/datasets/{dataset_id}/samples" in spec["paths"]
    assert "/api/v1/samples/{sample_id}/annotation" in spec["paths"]
    assert "SampleQuery" in str(spec) or "label_op" in str(spec)
